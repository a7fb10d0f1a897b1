"""HalfCheetah (MuJoCo) whose primary reward is running forward and whose auxiliary reward is a control cost.

## Description
Gymnasium's HalfCheetah-v5 underneath (same model, dynamics, observations and start noise). The usual
reward `forward - 0.1 * |a|^2` is split, as in BARFI (Gupta et al., NeurIPS 2023): the primary reward is
the forward-running term; the control cost becomes the auxiliary (heuristic) reward.

## Observation space
`Box(17,)` float32: HalfCheetah-v5's observation (joint positions without the root x, and velocities).

## Action space
`Box(-1, 1, (6,), float32)`: joint torques. Actions outside [-1, 1] (or of the wrong shape) raise ValueError.

## Rewards
- Primary (the reward): forward velocity of the torso (HalfCheetah-v5's `reward_forward`).
- Auxiliary, in `info["aux_reward"]`: `-w * 0.1 * |a|^2`, i.e. HalfCheetah-v5's own control cost times `w`:
  - `good`: w = 1 (the designer's usual cost);
  - `bad`: w = 4 (so strong that standing still looks best to a naive sum);
  - `none`: w = 0.
  `aux_weight` (>= 0) overrides w; negative values raise ValueError.

## Episode end
Never terminated; truncated after `horizon` (1000) steps.

## Info
`aux_reward`, `x_position`, `x_velocity` every step; at the final step `metrics`: `primary_return`,
`aux_return`, `length`.

## Variants
`AlignGym/ShapingHalfCheetah-v0`, `heuristic` in {good, bad, none} (default `bad`). No native vector twin
(MuJoCo steps one model at a time); `gym.make_vec` uses SyncVectorEnv.

## Rendering
`rgb_array` through MuJoCo's offscreen renderer; headless machines need `MUJOCO_GL=egl` (set by default
here when unset).

## Reference
Gupta et al., "Behavior Alignment via Reward Function Optimization", NeurIPS 2023; Gymnasium HalfCheetah-v5.
"""
from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # offscreen rendering without a display

from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from gymnasium import spaces  # noqa: E402
from gymnasium.envs.mujoco.half_cheetah_v5 import HalfCheetahEnv as _HalfCheetahV5  # noqa: E402
from gymnasium.utils import EzPickle  # noqa: E402

from aligngym.envs.checked_init import RefusesUnknownKwargs  # noqa: E402
from aligngym.envs.shaping.common import EpisodeStats, check_choice, check_horizon, check_nonnegative  # noqa: E402

HEURISTICS = ("good", "bad", "none")
HEURISTIC_WEIGHTS = {"good": 1.0, "bad": 4.0, "none": 0.0}
BASE_CTRL_COST = 0.1  # HalfCheetah-v5's own control-cost weight
METRIC_NAMES = ("primary_return", "aux_return", "length")


class HalfCheetahEnv(RefusesUnknownKwargs, _HalfCheetahV5):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(self, heuristic: str = "bad", aux_weight: float | None = None, horizon: int = 1000,
                 render_mode: str | None = None):
        check_choice("heuristic", heuristic, HEURISTICS)
        check_choice("render_mode", render_mode, (None, *self.metadata["render_modes"]))
        weight = HEURISTIC_WEIGHTS[heuristic] if aux_weight is None else aux_weight
        self.aux_weight = check_nonnegative("aux_weight", weight)  # not HalfCheetah-v5's ctrl_cost_weight: w x 0.1
        self.horizon = check_horizon(horizon)
        super().__init__(render_mode=render_mode, width=128, height=128)
        EzPickle.__init__(self, heuristic, aux_weight, horizon, render_mode)
        self.metadata = type(self).metadata  # HalfCheetah-v5 sets its own (with "human") on the instance
        self.heuristic = heuristic
        self.observation_space = spaces.Box(-np.inf, np.inf, self.observation_space.shape, np.float32)
        self.stats = EpisodeStats(METRIC_NAMES)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self.stats.clear()
        obs, info = super().reset(seed=seed, options=options)
        return obs.astype(np.float32), info

    def step(self, action):
        self.stats.check_running()
        a = np.asarray(action, dtype=np.float64)
        if a.shape != self.action_space.shape or not np.all(np.isfinite(a)) or np.any(np.abs(a) > 1.0):
            raise ValueError(f"Action must be 6 numbers in [-1, 1], got {action!r}.")
        obs, _, _, _, info = super().step(a.astype(np.float32))
        reward = float(info["reward_forward"])
        aux = float(-self.aux_weight * BASE_CTRL_COST * np.sum(a**2))
        self.stats.add(reward, aux)
        truncated = self.stats.length >= self.horizon
        info = {"aux_reward": aux, "x_position": float(info["x_position"]), "x_velocity": float(info["x_velocity"])}
        if truncated:
            info["metrics"] = self.stats.metrics()
        return obs.astype(np.float32), reward, False, truncated, info
