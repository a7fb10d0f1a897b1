"""Pieces the shaping envs share: their metrics, action checks and episode bookkeeping for single and vector envs."""
from __future__ import annotations

import numpy as np
from gymnasium.utils import seeding

from aligngym.envs.metrics import Metric
from aligngym.envs.vector_info import episode_metrics

METRICS = (
    Metric("primary_return", "Undiscounted sum of the primary (true) reward over the episode", True),
    Metric("aux_return", "Undiscounted sum of the auxiliary (heuristic) reward over the episode; with a bad "
           "heuristic a high value means the agent farms it", None),
    Metric("success", "1 if the episode reached the goal (CartPole: kept the pole up for the whole horizon)", True),
    Metric("length", "Steps in the episode (fewer is faster on GridWorld and MountainCar; on CartPole it is the "
           "return)", None),
)
METRICS_WITHOUT_SUCCESS = tuple(m for m in METRICS if m.name != "success")


def check_discrete_action(action, n: int) -> int:
    """The action as an int; anything that is not an integer in [0, n) raises ValueError."""
    a = np.asarray(action)
    if a.shape != () or not np.issubdtype(a.dtype, np.integer) or not 0 <= int(a) < n:
        raise ValueError(f"Action must be an integer in [0, {n - 1}], got {action!r}.")
    return int(a)


def check_discrete_actions(actions, n: int, num_envs: int) -> np.ndarray:
    a = np.asarray(actions)
    if a.shape != (num_envs,) or not np.issubdtype(a.dtype, np.integer) or a.min() < 0 or a.max() >= n:
        raise ValueError(f"Actions must be {num_envs} integers in [0, {n - 1}], got {actions!r}.")
    return a.astype(np.int64)


class EpisodeStats:
    """Running primary/aux returns of one episode; `metrics()` is what goes into info["metrics"]."""

    def __init__(self, metrics=METRICS):
        self.names = tuple(m.name for m in metrics)
        self.clear()
        self.started = False

    def clear(self):
        self.primary, self.aux, self.length, self.over, self.started = 0.0, 0.0, 0, False, True

    def check_running(self):
        """Refuses a step before the first reset, or after the episode ended, until the next reset."""
        if not self.started:
            raise RuntimeError("Call reset() before step().")
        if self.over:
            raise RuntimeError("The episode is over; call reset().")

    def add(self, primary: float, aux: float):
        self.primary += float(primary)
        self.aux += float(aux)
        self.length += 1

    def metrics(self, success: bool = False) -> dict[str, float]:
        """The episode's metrics; called when it ends."""
        self.over = True
        values = {"primary_return": self.primary, "aux_return": self.aux, "success": float(success),
                  "length": float(self.length)}
        return {n: values[n] for n in self.names}


class VectorEpisodeStats:
    """The batched twin of EpisodeStats; produces infos shaped exactly as SyncVectorEnv's."""

    def __init__(self, num_envs: int, metrics=METRICS):
        self.names = tuple(m.name for m in metrics)
        self.primary = np.zeros(num_envs)
        self.aux = np.zeros(num_envs)
        self.length = np.zeros(num_envs, dtype=np.int64)
        self.started = False

    def check_running(self):
        if not self.started:
            raise RuntimeError("Call reset() before step().")

    def clear(self, mask=slice(None)):
        self.primary[mask], self.aux[mask], self.length[mask] = 0.0, 0.0, 0
        self.started = True

    def add(self, primary, aux, active):
        """Adds one step for the envs in `active` (the others were autoreset this step)."""
        self.primary += np.where(active, primary, 0.0)
        self.aux += np.where(active, aux, 0.0)
        self.length += active

    def infos(self, aux, active, done, potential, success=None) -> dict:
        """Step infos as SyncVectorEnv builds them: an env autoreset this step shows its reset info (only the
        potential of its new start state)."""
        infos = {"potential": np.asarray(potential, dtype=np.float64), "_potential": np.ones(len(done), dtype=bool)}
        if active.any():
            infos.update({"aux_reward": np.where(active, aux, 0.0), "_aux_reward": active.copy()})
        if done.any():
            values = {"primary_return": self.primary, "aux_return": self.aux,
                      "success": np.zeros(len(done)) if success is None else success.astype(np.float64),
                      "length": self.length.astype(np.float64)}
            infos.update(episode_metrics({n: values[n] for n in self.names}, done))
        return infos


def reset_infos(potential: np.ndarray, mask: np.ndarray) -> dict:
    """A twin's reset info: the potential of each reset env's start state, as SyncVectorEnv packs it."""
    return {"potential": np.where(mask, potential, 0.0), "_potential": mask.copy()}


class SeededVectorMixin:
    """What the native twins share so that they follow Gymnasium's vector API as SyncVectorEnv does: one random
    generator per sub-env, seeded exactly as SyncVectorEnv seeds its envs (`reset(seed=s)`: env i gets s + i; a list
    gives one seed per env; None keeps each env's generator, or draws a fresh one the first time), and
    `options["reset_mask"]` to reset only some envs. Subclasses call `_reset_plan` in `reset`."""

    rngs: list

    def _reset_plan(self, seed, options) -> np.ndarray:
        """The mask of envs to reset now; reseeds their generators as SyncVectorEnv would."""
        n = self.num_envs
        seeds = [None] * n if seed is None else [seed + i for i in range(n)] if isinstance(seed, int) else list(seed)
        if len(seeds) != n:
            raise ValueError(f"seed must be None, an int or a list of {n} seeds (one per env), got {seed!r}.")
        mask = (options or {}).get("reset_mask", np.ones(n, dtype=bool))
        if not isinstance(mask, np.ndarray) or mask.shape != (n,) or mask.dtype != np.bool_ or not mask.any():
            raise ValueError(f'options["reset_mask"] must be a numpy bool array of shape ({n},) with at least one '
                             f"True, got {mask!r}.")
        if not hasattr(self, "rngs"):
            self.rngs = [None] * n
        for i in np.flatnonzero(mask):
            if seeds[i] is not None or self.rngs[i] is None:
                self.rngs[i], _ = seeding.np_random(seeds[i])
        return mask
