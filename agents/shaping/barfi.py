"""BARFI: bi-level optimisation of a blended reward (Gupta et al., "Behavior Alignment via Reward Function
Optimization", NeurIPS 2023).

Inner level: a learner (REINFORCE or actor-critic) maximises the blended reward
    r_phi(s, a) = r_p + phi1(s) * r_aux + phi2(s),   discounted by gamma_phi = sigmoid(psi),
where phi = (phi1, phi2) is a small network of the state, initialised to the naive sum (phi1 = 1, phi2 = 0),
and psi0 = `Args.psi0` = 4.6 (gamma_phi ~ 0.99). The hyperparameters are `Args` (args.py).
Outer level: phi and psi follow the gradient of the primary objective J = E[sum_t 0.99^t r_p] through the
learner's parameters theta. By implicit differentiation at an inner optimum,
    grad_phi J = -(d^2 J_phi / dphi dtheta) H^{-1} grad_theta J,   H = d^2 J_phi / dtheta^2,
and -H^{-1} v is approximated by the Neumann series  step * sum_{k=0..K} (I + step*H)^k v  (K =
`Args.neumann_terms` Hessian-vector products, by double backpropagation). The first-order variant takes
H ~ -I (u = grad J).
Both reduce to one more backward pass: grad_phi of <grad_theta J_phi, u> with u held constant.
"""
from __future__ import annotations

import gymnasium as gym
import torch
from torch import nn

from aligngym.agents.shaping.args import Args
from aligngym.agents.shaping.reinforce import monte_carlo_advantages
from aligngym.agents.shaping.rollout import Batch, ObsScaler, policy_surrogate


class RewardFunction(nn.Module):
    """phi(s) = (phi1, phi2) from a small network of the state, plus the learned discount's logit psi."""

    def __init__(self, obs_space: gym.spaces.Box, args: Args = Args()):
        super().__init__()
        self.scaler = ObsScaler(obs_space)
        self.net = nn.Sequential(nn.Linear(obs_space.shape[0], args.phi_hidden), nn.Tanh(),
                                 nn.Linear(args.phi_hidden, 2))
        nn.init.zeros_(self.net[-1].weight)
        with torch.no_grad():
            self.net[-1].bias.copy_(torch.tensor([1.0, 0.0]))  # the naive sum r_p + r_aux
        self.psi = nn.Parameter(torch.tensor(args.psi0))

    def phi(self, obs) -> torch.Tensor:
        return self.net(self.scaler(obs))

    def forward(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """The blended rewards (T, N) and the learned discount."""
        phi = self.phi(batch.obs)
        rewards = (batch.primary + phi[..., 0] * batch.aux + phi[..., 1]) * batch.mask
        return rewards, torch.sigmoid(self.psi)


def neumann_inverse_hvp(inner_grad, params, vector, terms: int, step: float):
    """u ~ (-H)^{-1} v = step * sum_{k=0..terms} (I + step*H)^k v, H the Hessian behind `inner_grad`."""
    term = [v.clone() for v in vector]
    total = [v.clone() for v in vector]
    for _ in range(terms):
        hv = torch.autograd.grad(inner_grad, params, grad_outputs=term, retain_graph=True)
        term = [t + step * h for t, h in zip(term, hv)]
        total = [s + t for s, t in zip(total, term)]
    return [step * s for s in total]


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
    inner = policy_surrogate(policy, batch, monte_carlo_advantages(batch, rewards, gamma))
    inner_grad = torch.autograd.grad(inner, params, create_graph=True)
    u = (neumann_inverse_hvp(inner_grad, params, grad_primary, args.neumann_terms, args.neumann_step)
         if args.variant == "implicit" else grad_primary)
    alignment = sum((g * v.detach()).sum() for g, v in zip(inner_grad, u))
    return torch.autograd.grad(alignment, list(reward_fn.parameters()), allow_unused=True)


class Barfi:
    """The outer level: holds phi and psi and steps them; `rewards` gives the inner learner its reward."""

    def __init__(self, obs_space: gym.spaces.Box, args: Args = Args(), seed: int = 0):
        self.args = args
        with torch.random.fork_rng():  # seeded without touching the caller's global torch RNG
            torch.manual_seed(seed)
            self.reward_fn = RewardFunction(obs_space, args)
        self.optimizer = torch.optim.Adam(self.reward_fn.parameters(), lr=args.outer_lr)

    @torch.no_grad()
    def rewards(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        return self.reward_fn(batch)

    def outer_step(self, policy, batch: Batch) -> None:
        grads = outer_gradient(policy, batch, self.reward_fn, self.args)
        for p, g in zip(self.reward_fn.parameters(), grads):
            p.grad = None if g is None else -g  # the optimiser descends; we ascend J
        self.optimizer.step()

    @torch.no_grad()
    def summary(self, batch: Batch) -> dict[str, float]:
        """Mean phi1 and phi2 over the batch's real steps, mean phi1 where the auxiliary reward is non-zero
        (where it matters), and the learned discount."""
        phi = self.reward_fn.phi(batch.obs)
        m, active = batch.mask, batch.mask * (batch.aux != 0)
        return {"phi1": float((phi[..., 0] * m).sum() / m.sum()), "phi2": float((phi[..., 1] * m).sum() / m.sum()),
                "phi1_where_aux": float((phi[..., 0] * active).sum() / active.sum().clamp(min=1.0)),
                "gamma": float(torch.sigmoid(self.reward_fn.psi))}
