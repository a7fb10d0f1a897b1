"""What every learner here shares: a small categorical policy, a batch of whole episodes collected from a
vectorised env, and discounted returns that stay differentiable in the rewards and the discount (BARFI
differentiates through them)."""
from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
from torch import nn

HIDDEN = 32


class ObsScaler:
    """Maps each observation dimension with finite bounds to [-1, 1]; unbounded dimensions pass unchanged."""

    def __init__(self, space: gym.spaces.Box):
        low, high = space.low.astype(np.float64), space.high.astype(np.float64)
        finite = np.isfinite(low) & np.isfinite(high) & (np.abs(high - low) < 1e6)
        self.mid = torch.tensor(np.where(finite, (low + high) / 2, 0.0), dtype=torch.float32)
        self.half = torch.tensor(np.where(finite, (high - low) / 2, 1.0), dtype=torch.float32)

    def __call__(self, obs) -> torch.Tensor:
        return (torch.as_tensor(obs, dtype=torch.float32) - self.mid) / self.half


def mlp(n_in: int, n_out: int, hidden: int = HIDDEN) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                         nn.Linear(hidden, n_out))


class CategoricalPolicy(nn.Module):
    def __init__(self, obs_space: gym.spaces.Box, n_actions: int):
        super().__init__()
        self.scaler = ObsScaler(obs_space)
        self.net = mlp(obs_space.shape[0], n_actions)
        nn.init.zeros_(self.net[-1].weight)  # start uniform over actions
        nn.init.zeros_(self.net[-1].bias)

    def logits(self, obs) -> torch.Tensor:
        return self.net(self.scaler(obs))

    @torch.no_grad()
    def sample(self, obs, generator: torch.Generator) -> np.ndarray:
        probs = torch.softmax(self.logits(obs), -1)
        return torch.multinomial(probs, 1, generator=generator).squeeze(-1).numpy()

    @torch.no_grad()
    def greedy(self, obs) -> np.ndarray:
        return self.logits(obs).argmax(-1).numpy()


@dataclass
class Batch:
    """Whole episodes, time-major: tensors of shape (T, N); `mask` marks real steps (after the end: padding)."""

    obs: torch.Tensor          # (T, N, obs_dim)
    actions: torch.Tensor      # (T, N) long
    primary: torch.Tensor      # (T, N) primary rewards
    aux: torch.Tensor          # (T, N) auxiliary rewards
    mask: torch.Tensor         # (T, N) 1.0 for real steps
    primary_returns: np.ndarray  # (N,) undiscounted episode returns, for the learning curve
    aux_returns: np.ndarray
    successes: np.ndarray


def collect(envs: gym.vector.VectorEnv, policy: CategoricalPolicy, generator: torch.Generator,
            seed: int | None = None) -> Batch:
    """Runs one episode in each of the `num_envs` envs (stepping until all have ended)."""
    n = envs.num_envs
    obs, _ = envs.reset(seed=seed)
    alive = np.ones(n, dtype=bool)
    steps = {k: [] for k in ("obs", "actions", "primary", "aux", "mask")}
    metrics = {"primary_return": np.zeros(n), "aux_return": np.zeros(n), "success": np.zeros(n)}
    while alive.any():
        actions = policy.sample(obs, generator)
        next_obs, reward, terminated, truncated, info = envs.step(actions)
        for key, value in (("obs", obs), ("actions", actions), ("primary", reward), ("aux", info["aux_reward"]),
                           ("mask", alive)):
            steps[key].append(np.array(value))  # a copy: `alive` changes in place
        ended = (terminated | truncated) & alive
        if ended.any():
            for key in metrics:
                metrics[key][ended] = info["metrics"][key][ended] if key in info["metrics"] else 0.0
        alive &= ~ended
        obs = next_obs
    mask = np.stack(steps["mask"]).astype(np.float32)
    as_t = lambda k: torch.as_tensor(np.stack(steps[k]), dtype=torch.float32) * torch.as_tensor(mask)  # noqa: E731
    return Batch(obs=torch.as_tensor(np.stack(steps["obs"]), dtype=torch.float32),
                 actions=torch.as_tensor(np.stack(steps["actions"]), dtype=torch.long),
                 primary=as_t("primary"), aux=as_t("aux"), mask=torch.as_tensor(mask),
                 primary_returns=metrics["primary_return"], aux_returns=metrics["aux_return"],
                 successes=metrics["success"])


def discounted_returns(rewards: torch.Tensor, mask: torch.Tensor, gamma) -> torch.Tensor:
    """G_t = r_t + gamma * G_{t+1} within each episode (padding contributes nothing). Differentiable."""
    out, running = [], torch.zeros_like(rewards[0])
    for t in reversed(range(rewards.shape[0])):
        running = rewards[t] * mask[t] + gamma * running * mask[t]
        out.append(running)
    return torch.stack(out[::-1])


def normalised_advantages(advantages: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Zero mean, unit std over the real steps, so one learning rate suits rewards of any scale."""
    count = mask.sum()
    mean = (advantages * mask).sum() / count
    std = torch.sqrt((((advantages - mean) * mask) ** 2).sum() / count + 1e-8)
    return (advantages - mean) / std * mask


def policy_surrogate(policy: CategoricalPolicy, batch: Batch, advantages: torch.Tensor,
                     entropy_coef: float = 0.0) -> torch.Tensor:
    """The policy-gradient objective to maximise: mean over episodes of sum_t log pi(a_t|s_t) * A_t."""
    log_probs = torch.log_softmax(policy.logits(batch.obs), -1)
    taken = log_probs.gather(-1, batch.actions.unsqueeze(-1)).squeeze(-1)
    objective = (taken * advantages * batch.mask).sum() / batch.mask.shape[1]
    if entropy_coef:
        entropy = -(log_probs.exp() * log_probs).sum(-1)
        objective = objective + entropy_coef * (entropy * batch.mask).sum() / batch.mask.sum()
    return objective
