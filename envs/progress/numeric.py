"""The numeric face shared by Follow, Predict and Coevolve: a single env and its native vectorised twin.

Observation (float32, Box [-1, 1], length history * 20 + 1 [+ 19 with privileged=True]); `split_observation`
cuts a batch of them into these named parts, so agents never slice by hand:
    surveys   [survey_t, survey_{t-1}, ..., survey_{t-history+1}]   each 19 values, newest first, zeros before C13
    valid     [valid_t, ..., valid_{t-history+1}]                   1 where that survey exists
    frac      t / (T - 1)                                           progress through the trajectory
    target    (privileged=True only) the exact values the action is scored against: for the `oracle` upper bound.
Action: Box [-1, 1]^19, the agent's value vector. A wrong shape, NaN or a value outside [-1, 1] raises ValueError.
"""
from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from aligngym.envs.checked_init import RefusesUnknownKwargs
from aligngym.envs.checks import check_render_mode
from aligngym.envs.progress.core import ARGS, QueriesCurrentPopulation, Simulation, metric_names
from aligngym.envs.progress.values import DIMENSIONS, N_DIMS
from aligngym.envs.vector_info import episode_metrics


def _spaces(sim: Simulation, privileged: bool) -> tuple[spaces.Box, spaces.Box]:
    obs_dim = sim.obs_dim + (N_DIMS if privileged else 0)
    obs = spaces.Box(-1.0, 1.0, shape=(obs_dim,), dtype=np.float32)
    act = spaces.Box(-1.0, 1.0, shape=(N_DIMS,), dtype=np.float32)
    return obs, act


def split_observation(obs: np.ndarray, history: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A batch of observations (n, obs_dim) as (surveys (n, history, 19) newest first, valid (n, history),
    frac (n,), target (n, 19) with privileged=True, else (n, 0))."""
    obs = np.asarray(obs, dtype=np.float64)
    n, h = len(obs), history * N_DIMS
    return (obs[:, :h].reshape(n, history, N_DIMS), obs[:, h:h + history], obs[:, h + history],
            obs[:, h + history + 1:])


class ProgressEnv(RefusesUnknownKwargs, QueriesCurrentPopulation, gym.Env):
    """One population; the challenge is fixed by the subclass (see follow.py, predict.py, coevolve.py)."""

    metadata = {"render_modes": ["ansi"], "render_fps": 1}
    challenge = "follow"
    ARGS = ARGS

    def __init__(self, render_mode: str | None = None, privileged: bool = False, query_budget: int = 8,
                 query_cost: float = 0.01, **sim_kwargs):
        check_render_mode(render_mode, self.metadata)
        self.sim = Simulation(self.challenge, **sim_kwargs)
        self.privileged = bool(privileged)
        self.query_budget, self.query_cost = query_budget, query_cost
        self.render_mode = render_mode
        self.observation_space, self.action_space = _spaces(self.sim, self.privileged)
        self._last_reward = None
        self._row = np.array([0])

    def _obs(self) -> np.ndarray:
        obs = self.sim.observation(0)
        if self.privileged:
            obs = np.concatenate([obs, self.sim.targets()[0].astype(np.float32)])
        return obs

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.sim.allocate(1)
        if self.challenge == "coevolve":  # stepped in Python floats (see `Simulation.reset_one`)
            self.sim.reset_one(self.np_random)
        else:
            self.sim.reset_rows(self.np_random, self._row)
        self._last_reward = None
        self._reset_queries()
        return self._obs(), {}

    def step(self, action):
        sim = self.sim
        if not hasattr(sim, "n"):
            raise RuntimeError("Call reset() before step().")
        if sim.step_idx[0] >= sim.n_steps:
            raise RuntimeError("The episode is over; call reset().")
        a = sim.check_actions(action, None)
        info: dict[str, Any] = {}
        reward = float(sim.advance(self.np_random, 0, a)) - self._charge_queries(info)
        self._last_reward = reward
        truncated = bool(sim.step_idx[0] >= sim.n_steps)
        if truncated:
            info["metrics"] = (sim.metrics_one() if self.challenge == "coevolve"
                               else {k: float(v[0]) for k, v in sim.metrics(self._row).items()})
            info["similarities"] = sim.sims[0].tolist()
            info["trace"] = sim.trace(0)
        return self._obs(), reward, False, truncated, info

    def render(self):
        if self.render_mode != "ansi":
            return None
        t = int(self.sim.time_now()[0]) if hasattr(self.sim, "n") else 0
        century = self.sim.traj.times[t]
        last = "-" if self._last_reward is None else f"{self._last_reward:.3f}"
        top = ""
        if hasattr(self.sim, "n"):
            h = self.sim.human[0, t]
            order = np.argsort(-np.abs(h))[:3]
            top = ", ".join(f"{DIMENSIONS[d]} {h[d]:+.2f}" for d in order)
        return f"{self.challenge} C{century:.2f} step {t}/{self.sim.T - 1} last similarity {last}; strongest: {top}\n"


class ProgressVectorEnv(RefusesUnknownKwargs, VectorEnv):
    """num_envs populations stepped together in numpy; same kwargs and dynamics as `ProgressEnv`."""

    metadata = {"render_modes": ["ansi"], "render_fps": 1, "autoreset_mode": AutoresetMode.NEXT_STEP}
    challenge = "follow"
    ARGS = ARGS

    def __init__(self, num_envs: int = 1, render_mode: str | None = None, privileged: bool = False, **sim_kwargs):
        check_render_mode(render_mode, self.metadata)
        self.num_envs = int(num_envs)
        self.sim = Simulation(self.challenge, **sim_kwargs)
        self.privileged = bool(privileged)
        self.render_mode = render_mode
        self.single_observation_space, self.single_action_space = _spaces(self.sim, self.privileged)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._names = metric_names(self.challenge)
        self._prev_done = np.zeros(self.num_envs, dtype=bool)
        self._all = np.arange(self.num_envs)

    def _obs(self) -> np.ndarray:
        obs = self.sim.observation()
        if self.privileged:
            obs = np.concatenate([obs, self.sim.targets().astype(np.float32)], axis=1)
        return obs

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self.sim.allocate(self.num_envs)
        self.sim.reset_rows(self.np_random, self._all)
        self._prev_done[:] = False
        return self._obs(), {}

    def step(self, actions):
        sim = self.sim
        if not hasattr(sim, "n"):
            raise RuntimeError("Call reset() before step().")
        a = sim.check_actions(actions, self.num_envs)
        restart = np.flatnonzero(self._prev_done)
        if len(restart) == 0:
            reward = sim.advance(self.np_random, self._all, a)
        else:
            live = np.flatnonzero(~self._prev_done)
            reward = np.zeros(self.num_envs)
            if len(live):
                reward[live] = sim.advance(self.np_random, live, a[live])
            sim.reset_rows(self.np_random, restart)  # NEXT_STEP autoreset: these rows ignore their action
        done = sim.step_idx >= sim.n_steps  # rows that just restarted are at step 0
        infos: dict[str, Any] = {}
        if done.any():
            values = sim.metrics(np.flatnonzero(done))
            infos = episode_metrics({name: values[name] for name in self._names}, done)
        self._prev_done = done
        return self._obs(), reward.astype(np.float32), np.zeros(self.num_envs, dtype=bool), done.copy(), infos

    def render(self):
        if self.render_mode != "ansi" or not hasattr(self.sim, "n"):
            return None
        return "".join(f"env {i}: {self.challenge} step {self.sim.step_idx[i]}/{self.sim.n_steps}, mean similarity "
                       f"so far {self.sim.sims[i, :max(1, self.sim.step_idx[i])].mean():.3f}\n"
                       for i in range(min(self.num_envs, 8)))
