"""Pieces the shaping envs share: argument checks and episode bookkeeping for single and vector envs."""
from __future__ import annotations

import numpy as np

from aligngym.envs.vector_info import episode_metrics

METRIC_NAMES = ("primary_return", "aux_return", "success", "length")


def check_choice(what: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"Unknown {what} {value!r}; allowed: {', '.join(map(str, allowed))}.")


def check_nonnegative(what: str, value) -> float:
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{what} must be a finite number >= 0, got {value!r}.")
    return value


def check_probability(what: str, value) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{what} must lie in [0, 1], got {value!r}.")
    return value


def check_horizon(value) -> int:
    if int(value) != value or value < 1:
        raise ValueError(f"horizon must be a positive integer, got {value!r}.")
    return int(value)


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

    def __init__(self, names=METRIC_NAMES):
        self.names = names
        self.clear()

    def clear(self):
        self.primary, self.aux, self.length, self.over = 0.0, 0.0, 0, False

    def check_running(self):
        """Refuses a step after the episode ended (its metrics were taken) until the next reset."""
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

    def __init__(self, num_envs: int, names=METRIC_NAMES):
        self.names = names
        self.primary = np.zeros(num_envs)
        self.aux = np.zeros(num_envs)
        self.length = np.zeros(num_envs, dtype=np.int64)

    def clear(self, mask=slice(None)):
        self.primary[mask], self.aux[mask], self.length[mask] = 0.0, 0.0, 0

    def add(self, primary, aux, active):
        """Adds one step for the envs in `active` (the others were autoreset this step)."""
        self.primary += np.where(active, primary, 0.0)
        self.aux += np.where(active, aux, 0.0)
        self.length += active

    def infos(self, aux, active, done, success=None) -> dict:
        infos = {"aux_reward": np.where(active, aux, 0.0), "_aux_reward": active.copy()}
        if done.any():
            values = {"primary_return": self.primary, "aux_return": self.aux,
                      "success": np.zeros(len(done)) if success is None else success.astype(np.float64),
                      "length": self.length.astype(np.float64)}
            infos.update(episode_metrics({n: values[n] for n in self.names}, done))
        return infos
