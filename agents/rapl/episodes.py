"""Videos of episodes for preference learning: `Episode(frames, preference_cost)` and the one function that collects
them from any rapl env (any env that takes `render_mode="rgb_array"` and reports `info["preference_cost"]`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import gymnasium as gym
import numpy as np
from tqdm.auto import tqdm

Policy = Callable[[np.ndarray, np.random.Generator], np.ndarray]


@dataclass
class Episode:
    """One video: `frames` uint8 [T, H, W, 3] (the frame after each step) and the hidden per-step preference cost
    [T] (lower is better). `task_reward` [T] and the env's episode-end `metrics` ride along for evaluation."""

    frames: np.ndarray
    preference_cost: np.ndarray
    task_reward: np.ndarray | None = None
    metrics: dict = field(default_factory=dict)

    def __post_init__(self):
        self.frames = np.asarray(self.frames)
        self.preference_cost = np.asarray(self.preference_cost, dtype=np.float64)
        if self.frames.ndim != 4 or self.frames.shape[-1] != 3 or self.frames.dtype != np.uint8:
            raise ValueError(f"Episode frames must be uint8 [T, H, W, 3]; got {self.frames.dtype} {self.frames.shape}.")
        if self.preference_cost.shape != (len(self.frames),):
            raise ValueError(f"preference_cost must have one entry per frame ({len(self.frames)}); "
                             f"got shape {self.preference_cost.shape}.")

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def cost(self) -> float:
        """The episode's mean hidden preference cost."""
        return float(self.preference_cost.mean())


def smooth_random_policy(action_space: gym.spaces.Box, rng: np.random.Generator, momentum: float | None = None,
                         bias_scale: float = 0.6) -> Policy:
    """A random policy with a per-episode bias and temporally correlated noise, so its videos are varied but
    purposeful-looking (pure white noise jitters in place and every video looks the same)."""
    low, high = action_space.low, action_space.high
    bias = rng.uniform(-bias_scale, bias_scale, action_space.shape) * (high - low) / 2
    momentum = rng.uniform(0.6, 0.95) if momentum is None else momentum
    state = {"noise": np.zeros(action_space.shape)}

    def act(obs, rng):
        state["noise"] = momentum * state["noise"] + (1 - momentum) * rng.normal(0, 1, action_space.shape) * (high - low)
        return np.clip(bias + state["noise"], low, high).astype(action_space.dtype)

    return act


def collect_episodes(env_or_id: gym.Env | str, policy: Policy | Callable[[gym.Env, np.random.Generator], Policy]
                     | str = "random", n: int = 10, seed: int = 0, progress: bool = False,
                     **env_kwargs) -> list[Episode]:
    """Runs `n` episodes (seeds seed, seed+1, ...) and returns their videos.

    `policy` is `"random"` (a fresh `smooth_random_policy` per episode), a callable `(obs, rng) -> action`, or a
    factory `(env, rng) -> policy` called once per episode (to vary behaviour across episodes)."""
    if n < 1:
        raise ValueError(f"n must be >= 1 episodes; got {n}.")
    env = gym.make(env_or_id, render_mode="rgb_array", **env_kwargs) if isinstance(env_or_id, str) else env_or_id
    if env.render_mode != "rgb_array":
        raise ValueError(f"collect_episodes needs an env made with render_mode='rgb_array'; got {env.render_mode!r}.")
    episodes = []
    for i in tqdm(range(n), desc="episodes", disable=not progress):
        rng = np.random.default_rng([seed, i])
        obs, _ = env.reset(seed=seed + i)
        if policy == "random":
            act = smooth_random_policy(env.action_space, rng)
        elif getattr(policy, "per_episode", False):
            act = policy(env, rng)
        else:
            act = policy
        frames, costs, rewards = [], [], []
        while True:
            obs, reward, terminated, truncated, info = env.step(act(obs, rng))
            frames.append(env.render())
            costs.append(info["preference_cost"])
            rewards.append(info.get("task_reward", reward))
            if terminated or truncated:
                break
        episodes.append(Episode(np.stack(frames), np.array(costs), np.array(rewards, dtype=np.float64),
                                dict(info.get("metrics", {}))))
    if isinstance(env_or_id, str):
        env.close()
    return episodes


def per_episode(factory: Callable[[gym.Env, np.random.Generator], Policy]):
    """Marks `factory(env, rng) -> policy` as a per-episode policy factory for `collect_episodes`."""
    factory.per_episode = True
    return factory
