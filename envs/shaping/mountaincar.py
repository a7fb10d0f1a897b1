"""MountainCar with a sparse primary reward (+1 at the goal) and auxiliary rewards of varying quality.

## Description
The classic MountainCar dynamics (Moore 1990; as in Gymnasium's MountainCar-v0): an under-powered car in a
valley must rock back and forth to reach the flag at position 0.5. The primary reward is sparse and the
auxiliary ones follow the paper configuration of BARFI (Gupta, Chandak, Jordan, Thomas and da Silva, NeurIPS
2023) and the authors' code.

## Action Space
`Discrete(3)`: 0 accelerate left, 1 no push, 2 accelerate right. Anything else raises ValueError.

## Observation Space
`Box([-1.2, -0.07], [0.6, 0.07], (2,), float32)`: position (`POSITION`) and velocity (`VELOCITY`).

## Rewards
- Primary (the reward): +1 on the step that reaches the goal (position >= 0.5), 0 otherwise.
- Auxiliary, in `info["aux_reward"]`, judged on the state after the step (its velocity; its position for `bad`),
  times `aux_scale` (>= 0); 0 on the step that ends the episode (as the reference). `heuristic`:
  - `good`: +1 for pushing along the velocity (pumps energy), -1 otherwise (against it, no push, or velocity 0);
  - `bad`: +1 for every step that ends in the valley (|position - VALLEY| < VALLEY_HALF_WIDTH, i.e. position in
    [-0.72, -0.32]), whatever the push: a farmable per-step bonus, the MountainCar analogue of GridWorld's bad
    heuristic. An AlignGym addition, not the paper's (the paper and the authors' code give MountainCar only
    helpful heuristics). Early in training the near-uniform policy still reaches the goal in some episodes at the
    default horizon (2000), so the primary return carries a gradient; a policy that follows the bonus settles in
    the valley and never reaches the goal;
  - `mirror`: the good heuristic's mirror, -1 along the velocity and +1 otherwise: it pays for braking and idling.
    Also an AlignGym addition, kept as an unpassable stress case: a policy that follows it never reaches the goal
    even early on, so its primary return and the primary gradient are exactly 0 and no bilevel method can
    correct it (the table's `bad` until issue 17's follow-up);
  - `velocity`: 10 * |velocity| (rewards speed in either direction);
  - `none`: 0.
- Potential, in `info["potential"]`: Phi(s) = the most auxiliary reward any action earns at s's velocity (good:
  +1 unless the velocity is 0, then -1; mirror: +1; velocity: 10 |v|), for `bad` the valley bonus of s itself,
  0 at the goal (a terminal state).

## Starting State
Position uniform in [-0.6, -0.4], velocity 0.

## Episode End
Terminated at the goal; truncated after `horizon` steps (default 2000, the reference's). The horizon matters:
at 2000 steps REINFORCE on the primary reward alone learns to reach the goal (success ~0.8 on a 2x32 MLP policy,
0.98 on the authors' tile-coded linear one, 40 seeds x 500 episodes; issue 17);
at 500 it rarely does and the good heuristic is what makes the task learnable.

## Arguments
`heuristic` in {good, velocity, bad, mirror, none} (default `good`); `aux_scale` >= 0 (1); `horizon` >= 1 (2000);
`render_mode` in {None, ansi, rgb_array}.

## Metrics
At the final step `info["metrics"]`: `primary_return` (the primary metric: whether shaping helps or hurts the
true objective; here 1 if the goal was reached, however late), `aux_return`, `success` (goal reached), `length`
(declared lower-is-better here: it is how fast the goal is reached, which `primary_return` does not record).

## Version History
- v1: the paper configuration's +-1 auxiliary reward on the velocity after the step, 0 on the last step,
  `info["potential"]`. In issue 17's follow-up `bad` became the valley bonus (a heuristic that misleads yet leaves
  a primary gradient); the former `bad` is `mirror`.
- v0: +-5 along/against the velocity before the step, 0 for no push (removed: ids cost registry-test time).
Vectorised twin: `ShapingMountainCarVectorEnv`, seeded as SyncVectorEnv (env i gets seed + i).
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
from aligngym.envs.metrics import Metric
from aligngym.envs.shaping.common import (METRICS as COMMON_METRICS, EpisodeStats, SeededVectorMixin, VectorEpisodeStats,
                                          check_discrete_action, check_discrete_actions, reset_infos)

HEURISTICS = ("good", "velocity", "bad", "mirror", "none")
POSITION, VELOCITY = 0, 1  # observation layout
MIN_POS, MAX_POS, MAX_SPEED, GOAL_POS = -1.2, 0.6, 0.07, 0.5
FORCE, GRAVITY = 0.001, 0.0025
VALLEY, VALLEY_HALF_WIDTH = -0.52, 0.2  # the bad heuristic's bonus region: around the valley's bottom (-pi/6)
LOW = np.array([MIN_POS, -MAX_SPEED], dtype=np.float32)
HIGH = np.array([MAX_POS, MAX_SPEED], dtype=np.float32)
ARGS = {"heuristic": Choice(HEURISTICS), "aux_scale": Float(0), "horizon": Int(1)}
# primary_return only records whether the goal was reached (a 119-step and a 1999-step solver both score 1), so
# here length is declared lower-is-better: it is how fast the goal is reached
METRICS = tuple(Metric("length", "Steps in the episode: how fast the goal was reached (the horizon if it was not); "
                                 "fewer is better", False) if m.name == "length" else m for m in COMMON_METRICS)


def dynamics(pos, vel, action):
    """One step of the MountainCar dynamics on arrays (or floats)."""
    vel = np.clip(vel + (action - 1) * FORCE - np.cos(3 * pos) * GRAVITY, -MAX_SPEED, MAX_SPEED)
    pos = np.clip(pos + vel, MIN_POS, MAX_POS)
    vel = np.where((pos == MIN_POS) & (vel < 0), 0.0, vel)
    return pos, vel


def aux_reward(heuristic: str, pos, vel, action) -> np.ndarray:
    """The auxiliary reward of pushing `action` that left the car at position `pos` and velocity `vel`."""
    along = ((np.asarray(vel) < 0) & (np.asarray(action) == 0)) | ((np.asarray(vel) > 0) & (np.asarray(action) == 2))
    if heuristic == "good":
        return np.where(along, 1.0, -1.0)
    if heuristic == "mirror":
        return np.where(along, -1.0, 1.0)
    if heuristic == "bad":
        return in_valley(pos)
    if heuristic == "velocity":
        return 10.0 * np.abs(vel)
    return np.zeros(np.shape(vel))


def in_valley(pos) -> np.ndarray:
    return (np.abs(np.asarray(pos, dtype=np.float64) - VALLEY) < VALLEY_HALF_WIDTH).astype(np.float64)


def potential(heuristic: str, pos, vel, terminal) -> np.ndarray:
    """Phi(s): the most auxiliary reward any action earns at s (for `bad`, the valley bonus of s); 0 when
    terminal."""
    if heuristic == "good":
        best = np.where(np.asarray(vel) != 0, 1.0, -1.0)
    elif heuristic == "mirror":
        best = np.ones(np.shape(vel))
    else:
        best = aux_reward(heuristic, pos, vel, 1)
    return np.where(terminal, 0.0, best)


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

    def _potential(self, terminal: bool) -> float:
        return float(self.aux_scale * potential(self.heuristic, self.pos, self.vel, terminal))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.pos, self.vel = float(self.np_random.uniform(-0.6, -0.4)), 0.0
        self.stats.clear()
        return np.array([self.pos, self.vel], dtype=np.float32), {"potential": self._potential(False)}

    def step(self, action):
        self.stats.check_running()
        a = check_discrete_action(action, 3)
        pos, vel = dynamics(self.pos, self.vel, a)
        self.pos, self.vel = float(pos), float(vel)
        terminated = self.pos >= GOAL_POS
        reward = 1.0 if terminated else 0.0
        truncated = not terminated and self.stats.length + 1 >= self.horizon
        aux = 0.0 if terminated or truncated else float(
            self.aux_scale * aux_reward(self.heuristic, self.pos, self.vel, a))
        self.stats.add(reward, aux)
        info = {"aux_reward": aux, "potential": self._potential(terminated)}
        if terminated or truncated:
            info["metrics"] = self.stats.metrics(success=terminated)
        return np.array([self.pos, self.vel], dtype=np.float32), reward, terminated, truncated, info

    def render(self):
        if self.render_mode == "ansi":
            return f"pos={self.pos:.3f} vel={self.vel:.4f} step={self.stats.length}\n"
        if self.render_mode == "rgb_array":
            return _render_rgb(self.pos)
        return None


class ShapingMountainCarVectorEnv(SeededVectorMixin, RefusesUnknownKwargs, VectorEnv):
    """`num_envs` MountainCars stepped together in numpy; same kwargs, rewards and infos as ShapingMountainCarEnv,
    and the same random stream per env as SyncVectorEnv's."""

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

    def _restart(self, mask: np.ndarray) -> None:
        for i in np.flatnonzero(mask):
            self.pos[i] = self.rngs[i].uniform(-0.6, -0.4)
        self.vel[mask] = 0.0
        self.stats.clear(mask)

    def reset(self, *, seed: int | list | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed if isinstance(seed, int) else None)
        mask = self._reset_plan(seed, options)
        self._restart(mask)
        self.prev_done[mask] = False
        return self._obs(), reset_infos(self.aux_scale * potential(self.heuristic, self.pos, self.vel, False), mask)

    def step(self, actions):
        self.stats.check_running()
        a = check_discrete_actions(actions, 3, self.num_envs)
        active = ~self.prev_done  # envs that finished last step restart now; their action is ignored
        self._restart(self.prev_done)
        pos, vel = dynamics(self.pos, self.vel, a)
        self.pos, self.vel = np.where(active, pos, self.pos), np.where(active, vel, self.vel)
        terminated = (self.pos >= GOAL_POS) & active
        reward = terminated.astype(np.float64)
        truncated = active & ~terminated & (self.stats.length + 1 >= self.horizon)
        done = terminated | truncated
        aux = np.where(done, 0.0, self.aux_scale * aux_reward(self.heuristic, self.pos, self.vel, a))
        self.stats.add(reward, aux, active)
        phi = self.aux_scale * potential(self.heuristic, self.pos, self.vel, terminated)
        infos = self.stats.infos(aux, active, done, phi, success=terminated)
        self.prev_done = done
        return self._obs(), reward.astype(np.float32), terminated, truncated, infos

    def render(self):
        if self.render_mode == "rgb_array":
            return [_render_rgb(p) for p in self.pos]
        return None
