"""HalfCheetah (MuJoCo) whose primary reward is running forward and whose auxiliary reward is a control cost.

## Description
Gymnasium's HalfCheetah-v5 underneath (same model, dynamics, observations and start noise). The usual
reward `forward - 0.1 * |a|^2` is split, as in BARFI (Gupta, Chandak, Jordan, Thomas and da Silva,
NeurIPS 2023): the primary reward is the forward-running term; the control cost, at the reference's scale
(the authors' HalfCheetah-v4 with `ctrl_cost_weight = 1.0`), becomes the auxiliary (heuristic) reward. No native vector twin (MuJoCo steps one model at a time); `gym.make_vec` uses
SyncVectorEnv. `rgb_array` renders through MuJoCo's offscreen renderer; headless machines need
`MUJOCO_GL=egl` (set by default here when unset).

## Action Space
`Box(-1, 1, (6,), float32)`: joint torques. Actions outside [-1, 1] (or of the wrong shape) raise ValueError.

## Observation Space
`Box(17,)` float32: HalfCheetah-v5's observation (joint positions without the root x, and velocities).

## Rewards
- Primary (the reward): forward velocity of the torso (HalfCheetah-v5's `reward_forward`).
- Auxiliary, in `info["aux_reward"]`: `-w * |a|^2` (10x HalfCheetah-v5's default control cost at w = 1):
  - `good`: w = 1 (the reference's cost);
  - `bad`: w = 4 (so strong that standing still looks best to a naive sum);
  - `none`: w = 0.
  `aux_weight` (>= 0) overrides w.
- Potential, in `info["potential"]`: Phi(s) = 0 (the most a control cost can pay is 0, by not moving), so
  potential-based shaping is the primary reward here.

## Starting State
HalfCheetah-v5's: the initial pose plus uniform noise of scale 0.1 on positions and normal noise on velocities.
Pickling (AsyncVectorEnv, Ray) keeps the constructor arguments, not the physics state, as Gymnasium's MuJoCo envs do
(EzPickle): an unpickled copy restarts and must be `reset()` before it steps.

## Episode End
Never terminated; truncated after `horizon` (1000) steps.

## Arguments
`heuristic` in {good, bad, none} (default `bad`); `aux_weight` None or >= 0; `horizon` >= 1 (1000);
`render_mode` in {None, rgb_array}.

## Metrics
At the final step `info["metrics"]`: `primary_return` (the primary metric: how far the cheetah ran, the true
objective), `aux_return`, `length`. Every step `info` also holds `x_position` and `x_velocity`.

## Version History
- v1: aux -w * |a|^2, the reference's scale (at the old scale a naive sum tied primary-only); `info["potential"]`.
- v0: aux -w * 0.1 * |a|^2 (removed: ids cost registry-test time).
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
from aligngym.envs.checks import Choice, Float, Int, Opt, check_render_mode  # noqa: E402
from aligngym.envs.shaping.common import METRICS_WITHOUT_SUCCESS, EpisodeStats  # noqa: E402

HEURISTICS = ("good", "bad", "none")
HEURISTIC_WEIGHTS = {"good": 1.0, "bad": 4.0, "none": 0.0}
METRICS = METRICS_WITHOUT_SUCCESS  # never terminated: no success to report


class ShapingHalfCheetahEnv(RefusesUnknownKwargs, _HalfCheetahV5):
    ARGS = {"heuristic": Choice(HEURISTICS), "aux_weight": Opt(Float(0)), "horizon": Int(1)}
    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(self, heuristic: str = "bad", aux_weight: float | None = None, horizon: int = 1000,
                 render_mode: str | None = None):
        check_render_mode(render_mode, self.metadata)
        self.aux_weight = float(HEURISTIC_WEIGHTS[heuristic] if aux_weight is None else aux_weight)
        self.horizon = horizon
        super().__init__(render_mode=render_mode, width=128, height=128)
        EzPickle.__init__(self, heuristic, aux_weight, horizon, render_mode)
        self.metadata = type(self).metadata  # HalfCheetah-v5 sets its own (with "human") on the instance
        self.heuristic = heuristic
        self.observation_space = spaces.Box(-np.inf, np.inf, self.observation_space.shape, np.float32)
        self.stats = EpisodeStats(METRICS)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        self.stats.clear()
        obs, info = super().reset(seed=seed, options=options)
        return obs.astype(np.float32), {**info, "potential": 0.0}

    def step(self, action):
        self.stats.check_running()
        a = np.asarray(action, dtype=np.float64)
        if a.shape != self.action_space.shape or not np.all(np.isfinite(a)) or np.any(np.abs(a) > 1.0):
            raise ValueError(f"Action must be 6 numbers in [-1, 1], got {action!r}.")
        obs, _, _, _, info = super().step(a.astype(np.float32))
        reward = float(info["reward_forward"])
        aux = float(-self.aux_weight * np.sum(a**2))
        self.stats.add(reward, aux)
        truncated = self.stats.length >= self.horizon
        info = {"aux_reward": aux, "potential": 0.0, "x_position": float(info["x_position"]), "x_velocity": float(info["x_velocity"])}
        if truncated:
            info["metrics"] = self.stats.metrics()
        return obs.astype(np.float32), reward, False, truncated, info
