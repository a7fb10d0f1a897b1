"""What every learner here shares: a small categorical (Discrete) or diagonal Gaussian (Box) policy, a
batch of whole episodes collected from a vectorised env, and discounted returns that stay differentiable
in the rewards and the discount (BARFI differentiates through them)."""
from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from aligngym.agents.shaping.args import Args


class ObsScaler:
    """Maps each observation dimension with finite bounds to [-1, 1]; unbounded dimensions pass unchanged."""

    def __init__(self, space: gym.spaces.Box):
        low, high = space.low.astype(np.float64), space.high.astype(np.float64)
        finite = np.isfinite(low) & np.isfinite(high) & (np.abs(high - low) < 1e6)
        low, high = np.where(finite, low, -1.0), np.where(finite, high, 1.0)  # unbounded: the identity map
        self.mid = torch.tensor((low + high) / 2, dtype=torch.float32)
        self.half = torch.tensor((high - low) / 2, dtype=torch.float32)

    def __call__(self, obs) -> torch.Tensor:
        return (torch.as_tensor(obs, dtype=torch.float32) - self.mid) / self.half


def mlp(n_in: int, n_out: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                         nn.Linear(hidden, n_out))


class CategoricalPolicy(nn.Module):
    """For Discrete actions: a softmax over the MLP's logits, starting uniform."""

    discrete = True

    def __init__(self, obs_space: gym.spaces.Box, action_space: gym.spaces.Discrete, args: Args):
        super().__init__()
        self.scaler = ObsScaler(obs_space)
        self.net = mlp(obs_space.shape[0], int(action_space.n), args.hidden)
        nn.init.zeros_(self.net[-1].weight)  # start uniform over actions
        nn.init.zeros_(self.net[-1].bias)

    def logits(self, obs) -> torch.Tensor:
        return self.net(self.scaler(obs))

    def log_prob(self, obs, actions: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(self.logits(obs), -1).gather(-1, actions.unsqueeze(-1)).squeeze(-1)

    def entropy(self, obs) -> torch.Tensor:
        log_probs = torch.log_softmax(self.logits(obs), -1)
        return -(log_probs.exp() * log_probs).sum(-1)

    @torch.no_grad()
    def sample(self, obs, generator: torch.Generator) -> np.ndarray:
        probs = torch.softmax(self.logits(obs), -1)
        return torch.multinomial(probs, 1, generator=generator).squeeze(-1).numpy()

    def to_env(self, actions: np.ndarray) -> np.ndarray:
        return actions

    @torch.no_grad()
    def greedy(self, obs) -> np.ndarray:
        return self.logits(obs).argmax(-1).numpy()


class GaussianPolicy(nn.Module):
    """For Box actions: a diagonal Gaussian in units where the action box is [-1, 1]^d, its mean from the
    MLP (starting at the box's centre) and a learned state-independent log-std. Log-probs are of the
    unclipped sample (as in stable-baselines3); `to_env` clips it into the box and rescales."""

    discrete = False

    def __init__(self, obs_space: gym.spaces.Box, action_space: gym.spaces.Box, args: Args):
        super().__init__()
        if not (np.all(np.isfinite(action_space.low)) and np.all(np.isfinite(action_space.high))):
            raise ValueError(f"GaussianPolicy needs a bounded Box action space, got {action_space}.")
        self.scaler = ObsScaler(obs_space)
        self.net = mlp(obs_space.shape[0], action_space.shape[0], args.hidden)
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)
        self.log_std = nn.Parameter(torch.full((action_space.shape[0],), args.log_std0))
        self.low, self.high = action_space.low, action_space.high

    def dist(self, obs) -> torch.distributions.Normal:
        return torch.distributions.Normal(self.net(self.scaler(obs)), self.log_std.exp())

    def log_prob(self, obs, actions: torch.Tensor) -> torch.Tensor:
        return self.dist(obs).log_prob(actions).sum(-1)

    def entropy(self, obs) -> torch.Tensor:
        return self.dist(obs).entropy().sum(-1)

    @torch.no_grad()
    def sample(self, obs, generator: torch.Generator) -> np.ndarray:
        mean = self.net(self.scaler(obs))
        noise = torch.randn(mean.shape, generator=generator)
        return (mean + self.log_std.exp() * noise).numpy()

    def to_env(self, actions: np.ndarray) -> np.ndarray:
        unit = np.clip(actions, -1.0, 1.0)
        return (self.low + (unit + 1.0) * (self.high - self.low) / 2).astype(np.float32)

    @torch.no_grad()
    def greedy(self, obs) -> np.ndarray:
        return self.to_env(self.net(self.scaler(obs)).numpy())


def make_policy(obs_space: gym.spaces.Box, action_space: gym.spaces.Space,
                args: Args) -> CategoricalPolicy | GaussianPolicy:
    if isinstance(action_space, gym.spaces.Discrete):
        return CategoricalPolicy(obs_space, action_space, args)
    if isinstance(action_space, gym.spaces.Box) and len(action_space.shape) == 1:
        return GaussianPolicy(obs_space, action_space, args)
    raise ValueError(f"Unsupported action space {action_space}; allowed: Discrete or a 1-d Box.")


@dataclass
class Batch:
    """Whole episodes, time-major: tensors of shape (T, N); `mask` marks real steps (after the end: padding)."""

    obs: torch.Tensor          # (T, N, obs_dim)
    actions: torch.Tensor      # (T, N) long for Discrete; (T, N, act_dim) float for Box (before clipping)
    primary: torch.Tensor      # (T, N) primary rewards
    aux: torch.Tensor          # (T, N) auxiliary rewards
    mask: torch.Tensor         # (T, N) 1.0 for real steps
    primary_returns: np.ndarray  # (N,) undiscounted episode returns, for the learning curve
    aux_returns: np.ndarray
    successes: np.ndarray


def collect(envs: gym.vector.VectorEnv, policy, generator: torch.Generator,
            seed: int | None = None) -> Batch:
    """Runs one episode in each of the `num_envs` envs (stepping until all have ended)."""
    n = envs.num_envs
    obs, _ = envs.reset(seed=seed)
    alive = np.ones(n, dtype=bool)
    steps = {k: [] for k in ("obs", "actions", "primary", "aux", "mask")}
    metrics = {"primary_return": np.zeros(n), "aux_return": np.zeros(n), "success": np.zeros(n)}
    while alive.any():
        actions = policy.sample(obs, generator)
        next_obs, reward, terminated, truncated, info = envs.step(policy.to_env(actions))
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
                 actions=torch.as_tensor(np.stack(steps["actions"]),
                                         dtype=torch.long if policy.discrete else torch.float32),
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


def policy_surrogate(policy, batch: Batch, advantages: torch.Tensor, entropy_coef: float = 0.0) -> torch.Tensor:
    """The policy-gradient objective to maximise: mean over episodes of sum_t log pi(a_t|s_t) * A_t.
    `policy` is anything with `log_prob(obs, actions)` and `entropy(obs)` (ours, or barfi_ppo's SB3 view)."""
    objective = (policy.log_prob(batch.obs, batch.actions) * advantages * batch.mask).sum() / batch.mask.shape[1]
    if entropy_coef:
        objective = objective + entropy_coef * (policy.entropy(batch.obs) * batch.mask).sum() / batch.mask.sum()
    return objective
