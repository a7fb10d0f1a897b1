"""`ShapingWrapper`: bring your own heuristic to any Gymnasium env.

    env = ShapingWrapper(gym.make("Acrobot-v1"), heuristic=lambda s, a, s2: float(-s2[0]))
    env = ShapingWrapper(gym.make("MountainCar-v0"), potential=lambda s: 10 * abs(s[1]))

The wrapped env keeps its reward as the primary reward and adds what the shaping family's learners read:
`info["aux_reward"]` every step (the heuristic of (s, a, s'), or, with only a potential, gamma Phi(s') - Phi(s));
`info["potential"]` after reset and every step when a potential is given (Phi(s'), 0 at a terminal state), which
the `pbrs` mode needs; and at the episode's end `info["metrics"]` with `primary_return`, `aux_return` and
`length` (merged into the env's own metrics, if it reports some). A heuristic or potential that returns anything
but one finite number, or a heuristic or potential that raises on the env's observations, is refused with a
ValueError.
"""
from __future__ import annotations

from typing import Any, Callable

import gymnasium as gym
import numpy as np

from aligngym.envs.metrics import Metric
from aligngym.envs.shaping.common import METRICS_WITHOUT_SUCCESS

METRICS: tuple[Metric, ...] = METRICS_WITHOUT_SUCCESS
POTENTIAL_GAMMA = 0.99  # the discount of the shaping term gamma Phi(s') - Phi(s) when only a potential is given


def _one_number(value, what: str) -> float:
    """One finite int or float (a Python or numpy scalar, or an array of one); bools and strings are refused."""
    array = np.asarray(value) if not isinstance(value, (str, bytes)) else np.asarray(value, dtype=object)
    numeric = np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    if array.size != 1 or not numeric:
        raise ValueError(f"{what} must return one finite number (an int or a float; not a bool, a string or an "
                         f"array), got {value!r}.")
    number = float(array.reshape(()))
    if not np.isfinite(number):
        raise ValueError(f"{what} must return one finite number, got {number!r}.")
    return number


class ShapingWrapper(gym.Wrapper):
    def __init__(self, env: gym.Env, heuristic: Callable[[Any, Any, Any], float] | None = None,
                 potential: Callable[[Any], float] | None = None):
        super().__init__(env)
        if heuristic is None and potential is None:
            raise ValueError("ShapingWrapper needs heuristic=fn(s, a, s') -> float, potential=fn(s) -> float, "
                             "or both.")
        for name, fn in (("heuristic", heuristic), ("potential", potential)):
            if fn is not None and not callable(fn):
                raise ValueError(f"{name} must be a function, got {fn!r}.")
        self.heuristic, self.potential = heuristic, potential
        self._obs, self._primary, self._aux, self._length = None, 0.0, 0.0, 0

    def _phi(self, obs) -> float:
        try:
            value = self.potential(obs)
        except Exception as err:  # a user function: any failure means it cannot take this observation
            raise ValueError(f"potential cannot take this env's observation (space {self.observation_space}): "
                             f"{type(err).__name__}: {err}") from err
        return _one_number(value, "potential")

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        self._obs, self._primary, self._aux, self._length = obs, 0.0, 0.0, 0
        if self.potential is not None:
            info = {**info, "potential": self._phi(obs)}
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        info = dict(info)
        if self.potential is not None:
            info["potential"] = 0.0 if terminated else self._phi(obs)
        if self.heuristic is not None:
            try:
                value = self.heuristic(self._obs, action, obs)
            except Exception as err:  # a user function: say which one failed and on what
                raise ValueError(f"heuristic(s, a, s') failed on this env's observations (space "
                                 f"{self.observation_space}) and action {action!r}: {type(err).__name__}: {err}"
                                 ) from err
            aux = _one_number(value, "heuristic")
        else:
            aux = POTENTIAL_GAMMA * info["potential"] - self._phi(self._obs)
        info["aux_reward"] = aux
        self._obs = obs
        self._primary, self._aux, self._length = self._primary + float(reward), self._aux + aux, self._length + 1
        if terminated or truncated:
            info["metrics"] = {**info.get("metrics", {}), "primary_return": self._primary, "aux_return": self._aux,
                               "length": float(self._length)}
        return obs, reward, terminated, truncated, info
