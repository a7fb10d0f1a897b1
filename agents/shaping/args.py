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
PHI_INITS = ("naive", "primary")
BASES = ("mlp", "tiles")
OUTER_OPTIMIZERS = ("adam", "rmsprop")
OUTER_RANDOM = ("off", "walk", "drift")


@dataclass(frozen=True)
class Args:
    # --- the batch and the primary objective
    num_envs: int = 64
    """episodes per batch, run at once in a vector env; one inner policy step per batch. At least 2: REINFORCE's
    baseline (and BARFI's outer gradient) is the batch's mean return, so one episode has zero advantage"""
    primary_gamma: float = 0.99
    """discount of the primary objective J (and of the primary/naive/pbrs modes)"""
    # --- the policy and its learners
    basis: str = "mlp"
    """the policy's features: `mlp` (two hidden tanh layers on the observation scaled to [-1, 1]) or `tiles` (a
    linear policy on tile-coded features of a bounded Box observation: the authors' MountainCar policy)"""
    hidden: int = 32
    """width of the two hidden tanh layers of the policy (and critic) MLP"""
    tiles: int = 4
    """basis `tiles`: tiles per dimension of each tiling (the authors' MountainCar: 4)"""
    tilings: int = 5
    """basis `tiles`: number of offset tilings (the authors' MountainCar: 5)"""
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
    are all equal (CartPole at 500) it blows whatever the heuristic still adds up to full-size steps (see
    `advantage_floor`)"""
    advantage_floor: float = 0.0
    """REINFORCE: the normaliser is at least this fraction of the batch's mean |return-to-go|, so advantages that
    are tiny beside the returns themselves (a batch whose returns differ only by a tiny shaped part) give a tiny
    step, not a full one; 0 = the plain batch std"""
    inner_steps: int = 1
    """inner policy steps per batch (the authors: 15 after each outer step)"""
    replay: int = 0
    """earlier episodes kept and trained on again with each batch (the authors: a buffer of 15 episodes, i.e. 12
    beside a batch of 3, as the `reference` preset); 0 = on-policy only"""
    gae_lambda: float = 0.97
    """actor-critic: GAE lambda (chosen in an early sweep on GridWorld-v0: 0.9 reached ~57, 0.97 ~92; seeds not
    recorded)"""
    value_coef: float = 0.5
    """actor-critic: weight of the critic's loss"""
    scale_momentum: float = 0.9
    """actor-critic: momentum of the running return scale the critic predicts in"""
    # --- BARFI's outer loop
    variant: str = "implicit"
    """outer gradient: implicit (natural-gradient: damped Fisher, CG), neumann (the authors' series) or first_order
    (H ~ -I)"""
    outer_optimizer: str = "adam"
    """optimiser of phi and psi: adam or rmsprop (torch defaults otherwise; the authors use rmsprop on GridWorld,
    CartPole and MountainCar, adam on HalfCheetah)"""
    outer_lr: float = 0.02
    """step size on phi (and on psi unless `discount_lr` is set)"""
    discount_lr: float | None = None
    """step size on psi, the learned discount's logit (the authors' gamma_lr); None: `outer_lr`; 0 freezes it"""
    outer_every: int = 1
    """batches between outer steps"""
    outer_episodes: int = 0
    """episodes per outer step: each batch is cut into num_envs // outer_episodes groups and phi takes one outer
    step on each, in turn (the authors: one every 3 episodes, on those 3); 0 = one step on the whole batch"""
    outer_random: str = "off"
    """control, not a method: each tensor of the outer gradient keeps its norm and takes a seeded random direction,
    drawn afresh each step (`walk`: phi and psi random-walk at BARFI's step sizes) or once (`drift`: they move
    steadily one way, as a consistent gradient would); either carries none of BARFI's information"""
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
    unsquared norm, as the authors' `reward_L2`; they sweep 0, 0.25, 1, 4, 16 on CartPole, 0 and 0.06125 on GridWorld,
    0 and 0.25 on MountainCar, 1 and 2 on HalfCheetah). 0 turns it off"""
    reward_l2_anchor: str = "start"
    """what the penalty pulls phi's weights toward: `start` (their initial values: the naive sum phi1 = 1, or 0 with
    `phi_init="primary"`) or `zero` (the authors': every weight to 0, phi = 0, primary-only)"""
    phi_init: str = "naive"
    """where phi starts: `naive` (phi1 = 1, phi2 = 0: the naive sum r_p + r_aux) or `primary` (phi1 = phi2 = 0
    everywhere: primary-only, the output layer's weight and bias exactly 0, so phi moves only when the primary
    return gives it a gradient; near the authors' start on GridWorld, CartPole and MountainCar)"""
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
        if self.outer_optimizer not in OUTER_OPTIMIZERS:
            raise ValueError(f"Unknown outer_optimizer {self.outer_optimizer!r}; allowed: "
                             f"{', '.join(OUTER_OPTIMIZERS)}.")
        if self.discount_lr is not None and not (isinstance(self.discount_lr, numbers.Real) and not isinstance(
                self.discount_lr, bool) and math.isfinite(self.discount_lr) and self.discount_lr >= 0):
            raise ValueError(f"discount_lr must be None or a finite number >= 0, got {self.discount_lr!r}.")
        if self.basis not in BASES:
            raise ValueError(f"Unknown basis {self.basis!r}; allowed: {', '.join(BASES)}.")
        if self.phi_init not in PHI_INITS:
            raise ValueError(f"Unknown phi_init {self.phi_init!r}; allowed: {', '.join(PHI_INITS)}.")
        if self.reward_l2_anchor not in ANCHORS:
            raise ValueError(f"Unknown reward_l2_anchor {self.reward_l2_anchor!r}; allowed: {', '.join(ANCHORS)}.")
        if isinstance(self.reward_l2, bool) or not isinstance(self.reward_l2, (int, float)) or not self.reward_l2 >= 0:
            raise ValueError(f"reward_l2 must be a number >= 0, got {self.reward_l2!r}.")
        for name in ("num_envs", "hidden", "outer_every", "phi_hidden", "inner_steps", "cg_iters", "tiles", "tilings"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
        if not isinstance(self.outer_episodes, int) or isinstance(self.outer_episodes, bool) or not (
                0 <= self.outer_episodes <= self.num_envs):
            raise ValueError(f"outer_episodes must be an integer in [0, num_envs = {self.num_envs}], got "
                             f"{self.outer_episodes!r}.")
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
        if self.outer_random not in OUTER_RANDOM:
            raise ValueError(f"Unknown outer_random {self.outer_random!r}; allowed: {', '.join(OUTER_RANDOM)}.")


INF = math.inf
# The real-valued fields' allowed ranges: (low, high, low excluded, high excluded)
REAL_RANGES = {
    "primary_gamma": (0, 1, True, False), "log_std0": (-INF, INF, True, True), "learning_rate": (0, INF, True, True),
    "entropy_coef": (0, INF, False, True), "max_grad_norm": (0, INF, True, True), "gae_lambda": (0, 1, False, False),
    "value_coef": (0, INF, False, True), "scale_momentum": (0, 1, False, True), "outer_lr": (0, INF, False, True),
    "damping": (0, INF, False, True), "neumann_step": (0, INF, True, True), "psi0": (-INF, INF, True, True),
    "dpba_lr": (0, INF, True, True),
    "advantage_floor": (0, INF, False, True)}


# The authors' schedule (Dhawgupta/gupta2023behavior): an outer step every 3 episodes, then 15 inner steps on the
# last 15 trajectories, entropy bonus 0.25, the Neumann-series gradient. (They use RMSprop; we keep Adam.)
REFERENCE_SCHEDULE = {"num_envs": 3, "outer_every": 1, "inner_steps": 15, "replay": 12, "entropy_coef": 0.25,
                      "variant": "neumann", "neumann_step": 5e-4}

# The authors' outer loop per environment, read from their sweep files
# (Dhawgupta/gupta2023behavior, <folder>/experiments/PaperPlots/<...>/barfineumann.json): outer optimiser ("optim"),
# outer step size ("reward_lr"), discount step size ("gamma_lr"), reward_L2 (anchored at zero, as their L2_reg),
# the Neumann series ("Neumann_loops" terms of step "Neumann_alpha"). Where a file sweeps a value we take one point
# of the sweep (their code does not record which one each paper figure used): the smaller step sizes, and the
# smallest non-zero reward_L2 (but CartPole's). Their schedule's outer step every 3 episodes ("delta": 3), on the
# primary gradient of those 3 episodes, is `outer_episodes` = 3: each batch of `num_envs` episodes is cut into
# groups of about 3 and phi steps on each in turn (theirs steps between groups of inner steps; ours after the
# batch, before the inner step).
# Only outer-loop fields: the inner learner stays the one primary-only and naive use, so the table compares reward
# modes with the same learner. Where phi starts is theirs too (`phi_init`, src/utils/Reward.py: Alignment_Reward):
# on GridWorld, CartPole and MountainCar their reward is a linear layer on a Fourier (GridWorld, CartPole) or
# tile-coding (MountainCar) basis with PyTorch's default uniform initialisation, so phi starts near 0, random (about
# +-0.4 across states on the Fourier bases, +-0.1 on MountainCar's tiles): ours starts at exactly 0 ("primary").
# On HalfCheetah theirs is a state-independent bias started at the naive sum (phi1 = 1, phi2 = 0): "naive". Not
# carried over: gamma_L2 (a pull of the discount toward 0), their linear reward on a Fourier/tile basis (ours: a
# small MLP), the learned weight on the primary reward in their CartPole and MountainCar code (it starts near 0 too;
# ours stays 1), their 15 inner steps on replayed episodes (the `reference` preset).
_NEUMANN = {"variant": "neumann", "neumann_terms": 5, "reward_l2_anchor": "zero", "outer_episodes": 3,
            "phi_init": "primary"}
AUTHORS_OUTER = {
    # barfi-gw/experiments/PaperPlots/{good,bad}/barfineumann.json: rmsprop, reward_lr = gamma_lr = 0.005,
    # reward_L2 in {0, 0.06125}, Neumann_alpha 0.0005
    "GridWorld": {**_NEUMANN, "outer_optimizer": "rmsprop", "outer_lr": 0.005, "discount_lr": 0.005,
                  "reward_l2": 0.06125, "neumann_step": 5e-4},
    # barfi-cp/experiments/PaperPlots/bad/barfineumann.json: rmsprop, reward_lr and gamma_lr in {0.001, 0.004},
    # reward_L2 in {0, 0.25, 1, 4, 16}, Neumann_alpha in {0.001, 0.0005, 0.0001}. reward_L2 4, not the smallest
    # non-zero: at 0.25 phi travels one way and BARFI fell behind primary-only on 7 of 30 fresh seeds, at 4 on 2
    # (picked on seeds 0-9; benchmarks/results/shaping_cartpole_reward_l2_4.md)
    "CartPole": {**_NEUMANN, "outer_optimizer": "rmsprop", "outer_lr": 0.001, "discount_lr": 0.001,
                 "reward_l2": 4.0, "neumann_step": 1e-3},
    # barfi-mc/experiments/PaperPlots/barfineumann.json: rmsprop, reward_lr in {0.015625, 0.0625}, gamma_lr in
    # {0, 0.015625, 0.0625}, reward_L2 in {0, 0.25}, Neumann_alpha in {0.001, 0.0005, 0.0001}
    "MountainCar": {**_NEUMANN, "outer_optimizer": "rmsprop", "outer_lr": 0.015625, "discount_lr": 0.015625,
                    "reward_l2": 0.25, "neumann_step": 1e-3},
    # barfi-mujoco/experiments/PaperPlots/{good,bad}/barfineumann.json: adam, reward_lr 0.0025, gamma_lr 0 (the
    # discount stays 0.99), reward_L2 in {1, 2}, Neumann_alpha in {0.001, 0.0005}
    "HalfCheetah": {**_NEUMANN, "outer_optimizer": "adam", "outer_lr": 0.0025, "discount_lr": 0.0,
                    "reward_l2": 1.0, "neumann_step": 1e-3, "phi_init": "naive"},
}

PRESETS = {
    "default": {},
    "reference": REFERENCE_SCHEDULE,
    **{f"authors_{env.lower()}": outer for env, outer in AUTHORS_OUTER.items()},
}


# The fields only BARFI's outer loop reads: changing them leaves every other method's runs unchanged
OUTER_FIELDS = ("variant", "outer_optimizer", "outer_lr", "discount_lr", "outer_every", "outer_episodes",
                "outer_random", "cg_iters", "damping", "neumann_terms", "neumann_step", "reward_l2", "reward_l2_anchor",
                "phi_init", "psi0", "phi_hidden")


def make_args(preset: str = "default", **overrides) -> Args:
    """`Args` of `preset` with `overrides`; an unknown preset or field raises ValueError listing the allowed."""
    if preset not in PRESETS:
        raise ValueError(f"Unknown preset {preset!r}; allowed: {', '.join(PRESETS)}.")
    names = [f.name for f in fields(Args)]
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise ValueError(f"Unknown hyperparameter(s) {', '.join(unknown)}; allowed: {', '.join(names)}.")
    return Args(**{**PRESETS[preset], **overrides})
