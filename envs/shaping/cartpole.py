"""CartPole whose auxiliary reward is agreement with a PD controller (good, weak, or misleading).

## Description
The classic cart-pole (Barto, Sutton & Anderson 1983) with Gymnasium CartPole-v1's dynamics and failure
bounds. The auxiliary rewards follow BARFI (Gupta, Chandak, Jordan, Thomas and da Silva, NeurIPS 2023) and the
authors' code: a reward for agreeing (or, misleadingly, for disagreeing) with an angle-only PD controller,
    push right  iff  P * theta_t + D * (theta_t - theta_{t-1}) > 0,   theta_{-1} = 0,
a finite-difference derivative over the states the env has seen this episode (the controller has memory):
- good controller, P = 0.1, D = 0.5: balances for the full 500 steps;
- weak controller, P = 0.1, D = 0.1: about 300 on average (the authors report ~303).

## Action Space
`Discrete(2)`: 0 push left, 1 push right. Anything else raises ValueError.

## Observation Space
`Box(4,)` float32: cart position, cart velocity, pole angle (`THETA`), pole angular velocity.

## Rewards
- Primary (the reward): +1 for every step, including the failing one (as CartPole-v1).
- Auxiliary, in `info["aux_reward"]`, judged on the state before the step, times `aux_scale` (>= 0); 0 on the
  step that ends the episode (as the reference). `heuristic`:
  - `good`: +1 when the action matches the good controller, else 0;
  - `weak`: +1 when the action matches the weak controller, else 0;
  - `bad`: -1 when the action matches the good controller, else 0 (it penalises the right behaviour);
  - `bad_reference`: -5 when the action matches the good controller, +1 otherwise (the authors' top-level bad
    configuration);
  - `none`: 0.
- Potential, in `info["potential"]`: Phi(s) = the most auxiliary reward any action earns in s (1 for good and
  weak, 0 for bad, 1 for bad_reference, 0 for none), 0 at a terminal state. An action-agreement heuristic says
  nothing about states, so potential-based shaping reduces to the primary reward plus a boundary term here.

## Starting State
All four state variables uniform in [-0.05, 0.05] (as CartPole-v1).

## Episode End
Terminated when the pole falls (|theta| > 12 degrees) or the cart leaves the track (|x| > 2.4); truncated
after `horizon` (500) steps.

## Arguments
`heuristic` in {good, weak, bad, bad_reference, none} (default `bad`); `aux_scale` >= 0 (1); `horizon` >= 1
(500); `render_mode` in {None, ansi, rgb_array}.

## Metrics
At the final step `info["metrics"]`: `primary_return` (the primary metric: whether shaping helps or hurts the
true objective), `aux_return`, `success` (the pole kept up for the whole horizon), `length`.

## Version History
- v1: the reference's angle-only PD controllers with a finite-difference derivative, aux 0 on the last step, the
  `bad_reference` variant, `info["potential"]`.
- v0: full-state linear controllers (removed: ids cost registry-test time).
Vectorised twin: `ShapingCartPoleVectorEnv`, seeded as SyncVectorEnv (env i gets seed + i).
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
from aligngym.envs.shaping.common import (METRICS, EpisodeStats, SeededVectorMixin, VectorEpisodeStats,
                                          check_discrete_action, check_discrete_actions, reset_infos)

HEURISTICS = ("good", "weak", "bad", "bad_reference", "none")
THETA, THETA_DOT = 2, 3  # the pole angle and angular velocity in the observation
CONTROLLERS = {"good": (0.1, 0.5), "weak": (0.1, 0.1)}  # (P, D)
# (paid on a match with the controller, paid otherwise, which controller)
AUX_TABLE = {"good": (1.0, 0.0, "good"), "weak": (1.0, 0.0, "weak"), "bad": (-1.0, 0.0, "good"),
             "bad_reference": (-5.0, 1.0, "good"), "none": (0.0, 0.0, "good")}
GRAVITY, CART_MASS, POLE_MASS, HALF_LENGTH, FORCE, TAU = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
TOTAL_MASS, POLE_MASS_LENGTH = CART_MASS + POLE_MASS, POLE_MASS * HALF_LENGTH
THETA_LIMIT, X_LIMIT = 12 * 2 * np.pi / 360, 2.4
HIGH = np.array([X_LIMIT * 2, np.finfo(np.float32).max, THETA_LIMIT * 2, np.finfo(np.float32).max], np.float32)
ARGS = {"heuristic": Choice(HEURISTICS), "aux_scale": Float(0), "horizon": Int(1)}


def pd_action(controller: str, theta, prev_theta) -> np.ndarray:
    """The PD controller's action(s): 1 (push right) when P * theta + D * (theta - prev_theta) > 0."""
    p, d = CONTROLLERS[controller]
    return (p * np.asarray(theta) + d * (np.asarray(theta) - prev_theta) > 0).astype(np.int64)


def dynamics(state: np.ndarray, action) -> np.ndarray:
    """One Euler step of CartPole-v1 for state(s) of shape (..., 4)."""
    x, x_dot, theta, theta_dot = np.moveaxis(state, -1, 0)
    force = np.where(np.asarray(action) == 1, FORCE, -FORCE)
    cos, sin = np.cos(theta), np.sin(theta)
    temp = (force + POLE_MASS_LENGTH * theta_dot**2 * sin) / TOTAL_MASS
    theta_acc = (GRAVITY * sin - cos * temp) / (HALF_LENGTH * (4.0 / 3.0 - POLE_MASS * cos**2 / TOTAL_MASS))
    x_acc = temp - POLE_MASS_LENGTH * theta_acc * cos / TOTAL_MASS
    return np.stack([x + TAU * x_dot, x_dot + TAU * x_acc, theta + TAU * theta_dot, theta_dot + TAU * theta_acc], -1)


def failed(state: np.ndarray) -> np.ndarray:
    return (np.abs(state[..., 0]) > X_LIMIT) | (np.abs(state[..., 2]) > THETA_LIMIT)


def aux_reward(heuristic: str, theta, prev_theta, action) -> np.ndarray:
    """The auxiliary reward of `action` at pole angle(s) `theta` (the controller's last angle `prev_theta`)."""
    on_match, otherwise, controller = AUX_TABLE[heuristic]
    return np.where(pd_action(controller, theta, prev_theta) == action, on_match, otherwise)


def potential(heuristic: str, terminal) -> np.ndarray:
    """Phi(s): the most auxiliary reward any action earns (it does not depend on the state); 0 when terminal."""
    return np.where(terminal, 0.0, max(AUX_TABLE[heuristic][:2]))


def _render_rgb(state: np.ndarray, size: int = 128) -> np.ndarray:
    img = np.full((size, size, 3), 255, dtype=np.uint8)
    img[size * 3 // 4, :] = (80, 80, 80)
    cx = int((state[0] + X_LIMIT) / (2 * X_LIMIT) * (size - 1))
    cy = size * 3 // 4
    img[cy - 4:cy + 1, max(cx - 8, 0):cx + 9] = (40, 40, 40)
    for t in np.linspace(0, 1, 40):  # the pole, drawn as dots
        r = int(cy - 4 - t * 40 * np.cos(state[2]))
        c = int(np.clip(cx + t * 40 * np.sin(state[2]), 0, size - 1))
        img[max(r, 0), c] = (200, 120, 40)
    return img


class ShapingCartPoleEnv(RefusesUnknownKwargs, gym.Env):
    ARGS = ARGS
    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 50}

    def __init__(self, heuristic: str = "bad", aux_scale: float = 1.0, horizon: int = 500,
                 render_mode: str | None = None):
        self.aux_scale, self.horizon = float(aux_scale), horizon
        self.heuristic, self.render_mode = heuristic, check_render_mode(render_mode, self.metadata)
        self.observation_space = spaces.Box(-HIGH, HIGH, (4,), np.float32)
        self.action_space = spaces.Discrete(2)
        self.stats = EpisodeStats()
        self.state, self.prev_theta = np.zeros(4), 0.0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.state, self.prev_theta = self.np_random.uniform(-0.05, 0.05, 4), 0.0
        self.stats.clear()
        return self.state.astype(np.float32), {"potential": float(self.aux_scale * potential(self.heuristic, False))}

    def step(self, action):
        self.stats.check_running()
        a = check_discrete_action(action, 2)
        aux = float(self.aux_scale * aux_reward(self.heuristic, self.state[THETA], self.prev_theta, a))
        self.prev_theta = self.state[THETA]
        self.state = dynamics(self.state, a)
        terminated = bool(failed(self.state))
        truncated = not terminated and self.stats.length + 1 >= self.horizon
        aux = 0.0 if terminated or truncated else aux
        self.stats.add(1.0, aux)
        info = {"aux_reward": aux, "potential": float(self.aux_scale * potential(self.heuristic, terminated))}
        if terminated or truncated:
            info["metrics"] = self.stats.metrics(success=truncated)
        return self.state.astype(np.float32), 1.0, terminated, truncated, info

    def render(self):
        if self.render_mode == "ansi":
            x, _, theta, _ = self.state
            return f"x={x:+.3f} theta={np.degrees(theta):+.2f}deg step={self.stats.length}\n"
        if self.render_mode == "rgb_array":
            return _render_rgb(self.state)
        return None


class ShapingCartPoleVectorEnv(SeededVectorMixin, RefusesUnknownKwargs, VectorEnv):
    """`num_envs` CartPoles stepped together in numpy; same kwargs, rewards and infos as ShapingCartPoleEnv, and
    the same random stream per env as SyncVectorEnv's."""

    ARGS = {"num_envs": Int(1), **ARGS}
    metadata = {"render_modes": ["rgb_array"], "render_fps": 50, "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int = 1, heuristic: str = "bad", aux_scale: float = 1.0, horizon: int = 500,
                 render_mode: str | None = None):
        self.aux_scale, self.horizon = float(aux_scale), horizon
        self.num_envs, self.heuristic = num_envs, heuristic
        self.render_mode = check_render_mode(render_mode, self.metadata)
        self.single_observation_space = spaces.Box(-HIGH, HIGH, (4,), np.float32)
        self.single_action_space = spaces.Discrete(2)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.stats = VectorEpisodeStats(num_envs)
        self.state, self.prev_theta = np.zeros((num_envs, 4)), np.zeros(num_envs)
        self.prev_done = np.zeros(num_envs, dtype=bool)

    def _restart(self, mask: np.ndarray) -> None:
        for i in np.flatnonzero(mask):
            self.state[i] = self.rngs[i].uniform(-0.05, 0.05, 4)
        self.prev_theta[mask] = 0.0
        self.stats.clear(mask)

    def reset(self, *, seed: int | list | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed if isinstance(seed, int) else None)
        mask = self._reset_plan(seed, options)
        self._restart(mask)
        self.prev_done[mask] = False
        start = self.aux_scale * potential(self.heuristic, np.zeros(self.num_envs, dtype=bool))
        return self.state.astype(np.float32), reset_infos(start, mask)

    def step(self, actions):
        self.stats.check_running()
        a = check_discrete_actions(actions, 2, self.num_envs)
        active = ~self.prev_done  # envs that finished last step restart now; their action is ignored
        self._restart(self.prev_done)
        aux = self.aux_scale * aux_reward(self.heuristic, self.state[:, THETA], self.prev_theta, a)
        self.prev_theta = np.where(active, self.state[:, THETA], self.prev_theta)
        self.state = np.where(active[:, None], dynamics(self.state, a), self.state)
        terminated = failed(self.state) & active
        reward = active.astype(np.float64)
        truncated = active & ~terminated & (self.stats.length + 1 >= self.horizon)
        done = terminated | truncated
        aux = np.where(done, 0.0, aux)
        self.stats.add(reward, aux, active)
        infos = self.stats.infos(aux, active, done, self.aux_scale * potential(self.heuristic, terminated),
                                 success=truncated)
        self.prev_done = done
        return self.state.astype(np.float32), reward.astype(np.float32), terminated, truncated, infos

    def render(self):
        if self.render_mode == "rgb_array":
            return [_render_rgb(s) for s in self.state]
        return None
