"""The hyperparameters of the shaping family's learners (REINFORCE, actor-critic) and of BARFI's outer loop, in
one place (CleanRL's `Args`). `train()` takes one `Args`; every learner and the outer loop read their fields from
it; `dataclasses.asdict(args)` is what a RunRecord stores. Override a field with `dataclasses.replace` or, from an
agent spec, as a query parameter (`shaping.barfi?outer_lr=0.05`)."""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields

VARIANTS = ("implicit", "neumann", "first_order")
ANCHORS = ("start", "zero")


@dataclass(frozen=True)
class Args:
    # --- the batch and the primary objective
    num_envs: int = 64
    """episodes per batch, run at once in a vector env; one inner policy step per batch. At least 2: REINFORCE's
    baseline (and BARFI's outer gradient) is the batch's mean return, so one episode has zero advantage"""
    primary_gamma: float = 0.99
    """discount of the primary objective J (and of the primary/naive/pbrs modes)"""
    # --- the policy and its learners
    hidden: int = 32
    """width of the two hidden tanh layers of the policy (and critic) MLP"""
    log_std0: float = -0.5
    """initial log-std of Gaussian policies, in units where the action box is [-1, 1]"""
    learning_rate: float = 3e-3
    """Adam step size of the inner learner"""
    entropy_coef: float = 0.01
    """entropy bonus of the inner learner; keeps exploring while the sparse goal reward is rare"""
    max_grad_norm: float = 1.0
    """gradient clipping of the inner learner"""
    normalise_advantages: bool = True
    """REINFORCE: divide each batch's advantages by their std. Scale-free, but when the primary returns of a batch
    are all equal (CartPole at 500) it blows whatever the heuristic still adds up to full-size steps"""
    inner_steps: int = 1
    """inner policy steps per batch (the authors: 15 after each outer step)"""
    replay: int = 0
    """earlier episodes kept and trained on again with each batch (the authors: 15); 0 = on-policy only"""
    gae_lambda: float = 0.97
    """actor-critic: GAE lambda (0.9 reached ~57 on GridWorld, 0.97 ~92)"""
    value_coef: float = 0.5
    """actor-critic: weight of the critic's loss"""
    scale_momentum: float = 0.9
    """actor-critic: momentum of the running return scale the critic predicts in"""
    # --- BARFI's outer loop
    variant: str = "implicit"
    """outer gradient: implicit (natural-gradient: damped Fisher, CG), neumann (the authors' series) or first_order
    (H ~ -I)"""
    outer_lr: float = 0.02
    """Adam step size on phi and psi"""
    outer_every: int = 1
    """batches between outer steps"""
    cg_iters: int = 10
    """implicit: conjugate-gradient steps (Fisher-vector products) per outer step"""
    damping: float = 0.01
    """implicit: added to the Fisher matrix, so the solve is well conditioned where the policy is confident"""
    neumann_terms: int = 5
    """neumann: Hessian-vector products in the series"""
    neumann_step: float = 1e-3
    """neumann: step of the series"""
    reward_l2: float = 0.0
    """weight of the penalty on phi's network: reward_l2 * sum over its weight tensors of ||w - anchor|| (the
    unsquared norm, as the authors' `reward_L2`; they sweep 0, 0.25, 1, 4, 16 on CartPole, 0 and 0.06 on GridWorld,
    0 and 0.25 on MountainCar, 1 and 2 on HalfCheetah). 0 turns it off"""
    reward_l2_anchor: str = "start"
    """what the penalty pulls phi's weights toward: `start` (their initial values, the naive sum phi1 = 1) or `zero`
    (the authors': phi = 0, primary-only, which is near where their reward starts)"""
    psi0: float = 4.6
    """initial logit of the learned discount (sigmoid(4.6) ~ 0.99)"""
    phi_hidden: int = 16
    """width of the hidden layer of the reward network phi(s)"""
    # --- DPBA's learned potential
    dpba_lr: float = 3e-3
    """dpba: Adam step size of the TD update of the potential Phi(s, a)"""

    def __post_init__(self):
        if self.variant not in VARIANTS:
            raise ValueError(f"Unknown BARFI variant {self.variant!r}; allowed: {', '.join(VARIANTS)}.")
        if isinstance(self.num_envs, int) and not isinstance(self.num_envs, bool) and self.num_envs < 2:
            raise ValueError(f"num_envs must be an integer >= 2, got {self.num_envs!r}: REINFORCE's baseline is the "
                             "batch's mean return at each step, so a batch of one episode has zero advantage and "
                             "nothing is learned (nor any BARFI outer gradient).")
        if self.reward_l2_anchor not in ANCHORS:
            raise ValueError(f"Unknown reward_l2_anchor {self.reward_l2_anchor!r}; allowed: {', '.join(ANCHORS)}.")
        if isinstance(self.reward_l2, bool) or not isinstance(self.reward_l2, (int, float)) or not self.reward_l2 >= 0:
            raise ValueError(f"reward_l2 must be a number >= 0, got {self.reward_l2!r}.")
        for name in ("num_envs", "hidden", "outer_every", "phi_hidden", "inner_steps", "cg_iters"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
        if not isinstance(self.replay, int) or isinstance(self.replay, bool) or self.replay < 0:
            raise ValueError(f"replay must be an integer >= 0, got {self.replay!r}.")
        if not isinstance(self.neumann_terms, int) or isinstance(self.neumann_terms, bool) or self.neumann_terms < 0:
            raise ValueError(f"neumann_terms must be an integer >= 0, got {self.neumann_terms!r}.")
        for name, (low, high, low_open, high_open) in REAL_RANGES.items():
            value = getattr(self, name)
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value) and (
                (low < value if low_open else low <= value) and (value < high if high_open else value <= high))
            if not ok:
                allowed = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
                raise ValueError(f"{name} must be a finite number in {allowed}, got {value!r}.")
        if not isinstance(self.normalise_advantages, bool):
            raise ValueError(f"normalise_advantages must be True or False, got {self.normalise_advantages!r}.")


INF = math.inf
# The real-valued fields' allowed ranges: (low, high, low excluded, high excluded)
REAL_RANGES = {
    "primary_gamma": (0, 1, True, False), "log_std0": (-INF, INF, True, True), "learning_rate": (0, INF, True, True),
    "entropy_coef": (0, INF, False, True), "max_grad_norm": (0, INF, True, True), "gae_lambda": (0, 1, False, False),
    "value_coef": (0, INF, False, True), "scale_momentum": (0, 1, False, True), "outer_lr": (0, INF, False, True),
    "damping": (0, INF, False, True), "neumann_step": (0, INF, True, True), "psi0": (-INF, INF, True, True),
    "dpba_lr": (0, INF, True, True)}


# The authors' schedule (Dhawgupta/gupta2023behavior): an outer step every 3 episodes, then 15 inner steps on the
# last 15 trajectories, entropy bonus 0.25, the Neumann-series gradient. (They use RMSprop; we keep Adam.)
PRESETS = {
    "default": {},
    "reference": {"num_envs": 3, "outer_every": 1, "inner_steps": 15, "replay": 12, "entropy_coef": 0.25,
                  "variant": "neumann", "neumann_step": 5e-4},
}


def make_args(preset: str = "default", **overrides) -> Args:
    """`Args` of `preset` with `overrides`; an unknown preset or field raises ValueError listing the allowed."""
    if preset not in PRESETS:
        raise ValueError(f"Unknown preset {preset!r}; allowed: {', '.join(PRESETS)}.")
    names = [f.name for f in fields(Args)]
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise ValueError(f"Unknown hyperparameter(s) {', '.join(unknown)}; allowed: {', '.join(names)}.")
    return Args(**{**PRESETS[preset], **overrides})
