"""BARFI: bi-level optimisation of a blended reward (Gupta et al., "Behavior Alignment via Reward Function
Optimization", NeurIPS 2023).

Inner level: a learner (REINFORCE or actor-critic) maximises the blended reward
    r_phi(s, a) = r_p + phi1(s) * r_aux + phi2(s),   discounted by gamma_phi = sigmoid(psi),
where phi = (phi1, phi2) is a small network of the state, initialised to the naive sum (phi1 = 1, phi2 = 0) or,
with `Args.phi_init = "primary"`, to primary-only (phi1 = phi2 = 0: the output layer's weight and bias are 0, so
phi moves only when the primary return gives it a gradient), and psi0 = `Args.psi0` = 4.6 (gamma_phi ~ 0.99).
The hyperparameters are `Args` (args.py).
Outer level: phi and psi follow the gradient of the primary objective J = E[sum_t 0.99^t r_p] through the
learner's parameters theta. By implicit differentiation at an inner optimum,
    grad_phi J = (d^2 J_phi / dphi dtheta) u,   u = (-H)^{-1} grad_theta J,   H = d^2 J_phi / dtheta^2.
`Args.variant` chooses how u is computed:
- `implicit` (default): a natural-gradient (Fisher-preconditioned) hypergradient. -H is replaced by the policy's
  damped Fisher matrix F + `damping` * I (F: the Hessian of the KL divergence from the current policy, positive
  semi-definite), and u = (F + damping I)^{-1} grad J by `cg_iters` steps of conjugate gradient on Fisher-vector
  products. F depends on the policy only, not on the rewards or phi, so this is not a model of J_phi's curvature:
  it is the outer gradient of a one-step natural-gradient lookahead (the inner learner stepping along
  F^{-1} grad J_phi). The exact H of a policy-gradient surrogate is indefinite away from an optimum (eigenvalues of
  both signs), so no series or CG on it converges. Measured on GridWorld (bad, 5 seeds x 2000 episodes) it makes
  no measurable difference to first_order (per-seed AUC within 0.1).
- `neumann` (the authors'): u ~ step * sum_{k=0..K} (I + step*H)^k grad J on the exact Hessian, K =
  `neumann_terms`; at the authors' step (~1e-3) this is grad J plus a correction of under 1%.
- `first_order`: H ~ -I, u = grad J.
All reduce to one more backward pass: grad_phi of <grad_theta J_phi, u> with u held constant.
The outer objective subtracts `Args.reward_l2` * sum_w ||w - anchor|| over phi's weight tensors (the authors'
reward_L2, an unsquared norm per tensor, so its pull has a constant size and can hold phi exactly at the anchor).
The authors anchor at zero, which in their linear reward is near its start; `Args.reward_l2_anchor` chooses the
start or zero (phi = 0, primary-only). Their separate pull on the discount (gamma_L2) is not
implemented. The outer optimiser (`outer_optimizer`: Adam or the authors' RMSprop), its step sizes (`outer_lr` on phi,
`discount_lr` on psi) and `outer_episodes` (one outer step per group of that many episodes of the batch) are the
rest of the outer loop (`outer_random` is a control: each step's size BARFI's own, its direction random);
`make_args("authors_<env>")` sets all of it as the authors' code does for that env.
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from aligngym.agents.shaping.args import Args
from aligngym.agents.shaping.reinforce import monte_carlo_advantages
from aligngym.agents.shaping.rollout import Batch, Encoder, policy_surrogate


class RewardFunction(nn.Module):
    """phi(s) = (phi1, phi2) from a small network of the state, plus the learned discount's logit psi."""

    def __init__(self, obs_space: gym.spaces.Space, args: Args = Args()):
        super().__init__()
        self.encoder = Encoder(obs_space, args.phi_hidden)
        self.net = nn.Sequential(nn.Linear(self.encoder.out_dim, args.phi_hidden), nn.Tanh(),
                                 nn.Linear(args.phi_hidden, 2))
        nn.init.zeros_(self.net[-1].weight)
        with torch.no_grad():  # the naive sum r_p + r_aux, or primary-only (phi = 0)
            self.net[-1].bias.copy_(torch.tensor([1.0 if args.phi_init == "naive" else 0.0, 0.0]))
        self.psi = nn.Parameter(torch.tensor(args.psi0))

    def phi(self, obs) -> torch.Tensor:
        return self.net(self.encoder(obs))

    def forward(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """The blended rewards (T, N) and the learned discount."""
        phi = self.phi(batch.obs)
        rewards = (batch.primary + phi[..., 0] * batch.aux + phi[..., 1]) * batch.mask
        return rewards, torch.sigmoid(self.psi)


def conjugate_gradient(matvec, vector, iters: int):
    """u ~ A^{-1} v for a symmetric positive definite A given by `matvec` (lists of tensors in and out)."""
    dot = lambda a, b: sum((x * y).sum() for x, y in zip(a, b))  # noqa: E731
    u = [torch.zeros_like(v) for v in vector]
    residual = [v.clone() for v in vector]
    direction = [v.clone() for v in vector]
    rr = dot(residual, residual)
    for _ in range(iters):
        if rr < 1e-20:
            break
        a_dir = matvec(direction)
        alpha = rr / dot(direction, a_dir)
        u = [x + alpha * d for x, d in zip(u, direction)]
        residual = [r - alpha * ad for r, ad in zip(residual, a_dir)]
        rr_new = dot(residual, residual)
        direction = [r + (rr_new / rr) * d for r, d in zip(residual, direction)]
        rr = rr_new
    return u


def fisher_matvec(policy, batch: Batch, params, damping: float):
    """v -> (F + damping I) v, F the policy's Fisher matrix over the batch's real steps: the Hessian of the mean
    KL divergence from the current (detached) policy, by double backpropagation."""
    kl = policy.kl_from_detached(batch.obs)
    kl = (kl * batch.mask).sum() / batch.mask.sum()
    grad_kl = torch.autograd.grad(kl, params, create_graph=True)

    def matvec(vector):
        fv = torch.autograd.grad(grad_kl, params, grad_outputs=vector, retain_graph=True)
        return [f.detach() + damping * v for f, v in zip(fv, vector)]

    return matvec


def inverse_curvature_product(variant: str, grad_primary, hessian_matvec, fisher, args: Args):
    """u = (-H)^{-1} grad J as `variant` approximates it (see the module docstring)."""
    if variant == "implicit":
        return conjugate_gradient(fisher, grad_primary, args.cg_iters)
    if variant == "neumann":
        term, total = list(grad_primary), list(grad_primary)
        for _ in range(args.neumann_terms):
            term = [t + args.neumann_step * h for t, h in zip(term, hessian_matvec(term))]
            total = [s + t for s, t in zip(total, term)]
        return [args.neumann_step * s for s in total]
    return list(grad_primary)


def outer_gradient(policy, batch: Batch, reward_fn: RewardFunction, args: Args = Args()):
    """Ascent direction for the reward function's parameters (one tensor per parameter). `policy` is the inner
    learner's policy: anything with `parameters()`, `log_prob(obs, actions)` and `entropy(obs)`."""
    params = list(policy.parameters())
    # Both objectives are Monte-Carlo policy-gradient surrogates, whatever the inner learner is: J_phi is the
    # blended return itself (an actor-critic's critic is only a variance reducer, and holding it fixed while
    # phi moves gave biased outer steps: a per-step bonus phi2 > 0 that taught the agent to avoid the goal).
    primary = policy_surrogate(policy, batch, monte_carlo_advantages(batch, batch.primary, args.primary_gamma))
    grad_primary = torch.autograd.grad(primary, params)
    rewards, gamma = reward_fn(batch)
    # the learner's floor on the normaliser too: the outer loop differentiates the step the learner takes
    inner = policy_surrogate(policy, batch, monte_carlo_advantages(batch, rewards, gamma,
                                                                   floor=args.advantage_floor))
    inner_grad = torch.autograd.grad(inner, params, create_graph=True)
    hessian = lambda v: torch.autograd.grad(inner_grad, params, grad_outputs=v, retain_graph=True)  # noqa: E731
    fisher = fisher_matvec(policy, batch, params, args.damping) if args.variant == "implicit" else None
    u = inverse_curvature_product(args.variant, grad_primary, hessian, fisher, args)
    alignment = sum((g * v.detach()).sum() for g, v in zip(inner_grad, u))
    return torch.autograd.grad(alignment, list(reward_fn.parameters()), allow_unused=True)


def _random_unit(like: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    direction = torch.randn(like.shape, generator=generator, dtype=like.dtype)
    return direction / torch.linalg.vector_norm(direction)


class Barfi:
    """The outer level: holds phi and psi and steps them; `rewards` gives the inner learner its reward."""

    def __init__(self, obs_space: gym.spaces.Box, args: Args = Args(), seed: int = 0):
        self.args = args
        with torch.random.fork_rng():  # seeded without touching the caller's global torch RNG
            torch.manual_seed(seed)
            self.reward_fn = RewardFunction(obs_space, args)
        optimizer = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop}[args.outer_optimizer]
        discount_lr = args.outer_lr if args.discount_lr is None else args.discount_lr
        phi_params = [p for p in self.reward_fn.parameters() if p is not self.reward_fn.psi]
        self.optimizer = optimizer([{"params": phi_params}, {"params": [self.reward_fn.psi], "lr": discount_lr}],
                                   lr=args.outer_lr)
        weights = [*self.reward_fn.encoder.parameters(), *self.reward_fn.net.parameters()]
        anchors = [w.detach().clone() if args.reward_l2_anchor == "start" else torch.zeros_like(w) for w in weights]
        self.anchored = list(zip(weights, anchors))
        noise = torch.Generator().manual_seed(seed)  # outer_random's directions, one tensor per parameter
        self.direction = lambda: [_random_unit(p, noise) for p in self.reward_fn.parameters()]  # noqa: E731
        self.drift = self.direction() if args.outer_random == "drift" else None
        # per outer step: norms of the primary (J) part of the step and of the L2 pull on phi's weights, and how
        # many episodes of the group reached the goal (success) -- what moved phi, for diagnosis
        self.trace: list[dict[str, float]] = []

    def penalty(self) -> torch.Tensor:
        """reward_l2 * sum over phi's weight tensors of ||w - anchor|| (differentiable)."""
        return self.args.reward_l2 * sum(torch.linalg.vector_norm(w - a) for w, a in self.anchored)

    @torch.no_grad()
    def rewards(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        return self.reward_fn(batch)

    def outer_step(self, policy, batch: Batch) -> None:
        """One step on the batch, or one on each group of about `outer_episodes` of its episodes."""
        size = self.args.outer_episodes
        for group in batch.split(max(1, batch.mask.shape[1] // size)) if size else [batch]:
            self._step(policy, group)

    def _step(self, policy, batch: Batch) -> None:
        grads = outer_gradient(policy, batch, self.reward_fn, self.args)
        norm = lambda gs: float(torch.sqrt(sum((g ** 2).sum() for g in gs if g is not None)))  # noqa: E731
        if self.args.outer_random != "off":  # the content-free control: BARFI's step sizes, random directions
            directions = self.drift or self.direction()
            grads = [None if g is None else d * torch.linalg.vector_norm(g) for g, d in zip(grads, directions)]
        weights = [w for w, _ in self.anchored]
        for p, g in zip(self.reward_fn.parameters(), grads):
            p.grad = None if g is None else -g  # the optimiser descends; we ascend J
        grad_j = norm([g for p, g in zip(self.reward_fn.parameters(), grads) if p is not self.reward_fn.psi])
        grad_l2 = 0.0
        if self.args.reward_l2:
            penalty_grads = torch.autograd.grad(self.penalty(), weights)
            grad_l2 = norm(penalty_grads)
            for w, g in zip(weights, penalty_grads):
                w.grad = g if w.grad is None else w.grad + g  # we ascend J - penalty
        self.trace.append({"grad_j": grad_j, "grad_l2": grad_l2, "goals": float(np.sum(batch.successes))})
        self.optimizer.step()

    @torch.no_grad()
    def summary(self, batch: Batch) -> dict[str, float]:
        """Mean phi1 and phi2 over the batch's real steps, mean phi1 where the auxiliary reward is non-zero
        (where it matters; NaN when the batch was never paid any), and the learned discount."""
        phi = self.reward_fn.phi(batch.obs)
        m, active = batch.mask, batch.mask * (batch.aux != 0)
        paid = float(active.sum())
        return {"phi1": float((phi[..., 0] * m).sum() / m.sum()), "phi2": float((phi[..., 1] * m).sum() / m.sum()),
                "phi1_where_aux": float((phi[..., 0] * active).sum()) / paid if paid else float("nan"),
                "gamma": float(torch.sigmoid(self.reward_fn.psi))}
