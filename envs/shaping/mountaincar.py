"""MountainCar with a sparse primary reward (+1 at the goal) and auxiliary rewards of varying quality.

## Description
The classic MountainCar dynamics (Moore 1990; as in Gymnasium's MountainCar-v0): an under-powered car in
a valley must rock back and forth to reach the flag at position 0.5. The primary reward is sparse, as in
BARFI (Gupta, Chandak, Jordan, Thomas and da Silva, NeurIPS 2023).

## Action Space
`Discrete(3)`: 0 accelerate left, 1 no push, 2 accelerate right. Anything else raises ValueError.

## Observation Space
`Box([-1.2, -0.07], [0.6, 0.07], (2,), float32)`: position (`POSITION`) and velocity (`VELOCITY`).

## Rewards
- Primary (the reward): +1 on the step that reaches the goal (position >= 0.5), 0 otherwise.
- Auxiliary, in `info["aux_reward"]`, chosen by `heuristic` and multiplied by `aux_scale` (>= 0):
  - `good`: +5 when the push is along the current velocity (pumps energy), -5 when it is against it,
    0 for no push or zero velocity.
  - `velocity`: 10 * |velocity| after the step (rewards speed in either direction).
  - `bad`: the misleading mirror of `good`: +5 for pushing against the velocity (braking), -5 along it;
    following it keeps the car at the bottom of the valley.
  - `none`: 0.

## Starting State
Position uniform in [-0.6, -0.4], velocity 0.

## Episode End
Terminated at the goal; truncated after `horizon` steps (default 2000).

## Arguments
`heuristic` in {good, velocity, bad, none} (default `good`); `aux_scale` >= 0 (1); `horizon` >= 1 (2000);
`render_mode` in {None, ansi, rgb_array}.

## Metrics
At the final step `info["metrics"]`: `primary_return` (the primary metric: whether shaping helps or hurts the
true objective), `aux_return`, `success` (goal reached), `length`.

## Version History
- v0: aux +-5 along/against the velocity before the step (the reference's paper config pays +-1).
Vectorised twin: `ShapingMountainCarVectorEnv`.
"""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from aligngym.envs.checked_init import RefusesUnknownKwargs
from aligngym.envs.checks import Choice, Float, Int, check_render_mode
from aligngym.envs.shaping.common import (METRICS, EpisodeStats, VectorEpisodeStats, check_discrete_action,
                                          check_discrete_actions)

HEURISTICS = ("good", "velocity", "bad", "none")
MIN_POS, MAX_POS, MAX_SPEED, GOAL_POS = -1.2, 0.6, 0.07, 0.5
FORCE, GRAVITY = 0.001, 0.0025
LOW = np.array([MIN_POS, -MAX_SPEED], dtype=np.float32)
HIGH = np.array([MAX_POS, MAX_SPEED], dtype=np.float32)


POSITION, VELOCITY = 0, 1  # observation layout
ARGS = {"heuristic": Choice(HEURISTICS), "aux_scale": Float(0), "horizon": Int(1)}


def dynamics(pos, vel, action):
    """One step of the MountainCar dynamics on arrays (or floats)."""
    vel = np.clip(vel + (action - 1) * FORCE - np.cos(3 * pos) * GRAVITY, -MAX_SPEED, MAX_SPEED)
    pos = np.clip(pos + vel, MIN_POS, MAX_POS)
    vel = np.where((pos == MIN_POS) & (vel < 0), 0.0, vel)
    return pos, vel


def aux_reward(heuristic: str, vel_before, vel_after, action):
    """The auxiliary reward of pushing `action` at velocity `vel_before` (arriving at `vel_after`)."""
    along = np.sign(vel_before) * (np.asarray(action) - 1)  # +1 along the velocity, -1 against, 0 otherwise
    if heuristic == "good":
        return 5.0 * along
    if heuristic == "bad":
        return -5.0 * along
    if heuristic == "velocity":
        return 10.0 * np.abs(vel_after)
    return np.zeros_like(np.asarray(vel_after, dtype=float))


def _render_rgb(pos: float, size: int = 128) -> np.ndarray:
    img = np.full((size, size, 3), 255, dtype=np.uint8)
    xs = np.linspace(MIN_POS, MAX_POS, size)
    rows = ((1 - (np.sin(3 * xs) * 0.45 + 0.55)) * (size - 1)).astype(int)
    img[rows, np.arange(size)] = (80, 80, 80)
    c = int((pos - MIN_POS) / (MAX_POS - MIN_POS) * (size - 1))
    r = int((1 - (np.sin(3 * pos) * 0.45 + 0.55)) * (size - 1))
    img[max(r - 4, 0):r + 1, max(c - 3, 0):c + 4] = (200, 40, 40)
    g = int((GOAL_POS - MIN_POS) / (MAX_POS - MIN_POS) * (size - 1))
    img[:10, g] = (40, 160, 40)
    return img


class ShapingMountainCarEnv(RefusesUnknownKwargs, gym.Env):
    ARGS = ARGS

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 30}

    def __init__(self, heuristic: str = "good", aux_scale: float = 1.0, horizon: int = 2000,
                 render_mode: str | None = None):
        self.aux_scale, self.horizon = float(aux_scale), horizon
        self.heuristic, self.render_mode = heuristic, check_render_mode(render_mode, self.metadata)
        self.observation_space = spaces.Box(LOW, HIGH, (2,), np.float32)
        self.action_space = spaces.Discrete(3)
        self.stats = EpisodeStats()
        self.pos, self.vel = -0.5, 0.0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.pos, self.vel = float(self.np_random.uniform(-0.6, -0.4)), 0.0
        self.stats.clear()
        return np.array([self.pos, self.vel], dtype=np.float32), {}

    def step(self, action):
        self.stats.check_running()
        a = check_discrete_action(action, 3)
        vel_before = self.vel
        pos, vel = dynamics(self.pos, self.vel, a)
        self.pos, self.vel = float(pos), float(vel)
        terminated = self.pos >= GOAL_POS
        reward = 1.0 if terminated else 0.0
        aux = float(self.aux_scale * aux_reward(self.heuristic, vel_before, self.vel, a))
        self.stats.add(reward, aux)
        truncated = not terminated and self.stats.length >= self.horizon
        info = {"aux_reward": aux}
        if terminated or truncated:
            info["metrics"] = self.stats.metrics(success=terminated)
        return np.array([self.pos, self.vel], dtype=np.float32), reward, terminated, truncated, info

    def render(self):
        if self.render_mode == "ansi":
            return f"pos={self.pos:.3f} vel={self.vel:.4f} step={self.stats.length}\n"
        if self.render_mode == "rgb_array":
            return _render_rgb(self.pos)
        return None


class ShapingMountainCarVectorEnv(RefusesUnknownKwargs, VectorEnv):
    """`num_envs` copies stepped together in numpy; same kwargs, rewards and infos as ShapingMountainCarEnv."""

    ARGS = {"num_envs": Int(1), **ARGS}

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30, "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int = 1, heuristic: str = "good", aux_scale: float = 1.0, horizon: int = 2000,
                 render_mode: str | None = None):
        self.aux_scale, self.horizon = float(aux_scale), horizon
        self.num_envs, self.heuristic = num_envs, heuristic
        self.render_mode = check_render_mode(render_mode, self.metadata)
        self.single_observation_space = spaces.Box(LOW, HIGH, (2,), np.float32)
        self.single_action_space = spaces.Discrete(3)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.stats = VectorEpisodeStats(num_envs)
        self.pos, self.vel = np.full(num_envs, -0.5), np.zeros(num_envs)
        self.prev_done = np.zeros(num_envs, dtype=bool)

    def _obs(self):
        return np.stack([self.pos, self.vel], axis=1).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.pos, self.vel = self.np_random.uniform(-0.6, -0.4, self.num_envs), np.zeros(self.num_envs)
        self.prev_done = np.zeros(self.num_envs, dtype=bool)
        self.stats.clear()
        return self._obs(), {}

    def step(self, actions):
        self.stats.check_running()
        a = check_discrete_actions(actions, 3, self.num_envs)
        active = ~self.prev_done  # envs that finished last step restart now; their action is ignored
        restart = self.prev_done
        self.pos[restart] = self.np_random.uniform(-0.6, -0.4, restart.sum())
        self.vel[restart] = 0.0
        self.stats.clear(restart)
        vel_before = self.vel
        pos, vel = dynamics(self.pos, self.vel, a)
        self.pos, self.vel = np.where(active, pos, self.pos), np.where(active, vel, self.vel)
        terminated = (self.pos >= GOAL_POS) & active
        reward = terminated.astype(np.float64)
        aux = self.aux_scale * aux_reward(self.heuristic, vel_before, self.vel, a)
        self.stats.add(reward, aux, active)
        truncated = active & ~terminated & (self.stats.length >= self.horizon)
        done = terminated | truncated
        infos = self.stats.infos(aux, active, done, success=terminated)
        self.prev_done = done
        return self._obs(), reward.astype(np.float32), terminated, truncated, infos

    def render(self):
        if self.render_mode == "rgb_array":
            return [_render_rgb(p) for p in self.pos]
        return None
