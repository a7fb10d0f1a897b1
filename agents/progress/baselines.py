"""Hand-written baselines on the numeric face of Follow / Predict / Coevolve.

They read the observation through `envs/progress/numeric.split_observation`: `history` surveys (newest first), their
validity flags, t / (T - 1), and with `privileged=True` the exact target values.

- static: states the oldest survey it saw this episode (C13 when history >= 2) for the whole episode.
- lifelong: states the newest survey (tracks the elicited answers).
- extrapolative (order 1 or 2): extrapolates the surveys in view with ProgressGym's finite-difference formula
  x_{t+1} = sum_{i=0..n} (-1)^(n-i) C(n+1, i) x_{t-n+i}, repeated `ahead` steps (default: k on Predict,
  1 on Coevolve, 0 on Follow, where it equals lifelong); lower order while fewer than n+1 surveys exist.
- oracle: states the exact target values (Follow, Predict) or the trajectory's real last values (Coevolve: where
  the population's progress ends); needs the env made with `privileged=True` (a privileged reference, not a
  competitor: the privileged flag is recorded in every RunRecord).

Test agents (what a benchmark must not reward):
- constant: content-free, +0.5 on every rule and foundation dimension and 0 on the worldviews, whatever it sees.
- memoriser: reads only t / (T - 1) and states the mean target at that time over `episodes` training-split
  episodes (split="train", drawn through the privileged env): a curve memoriser. On v0's fixed curve it won
  Predict; with per-episode trajectories it knows only the prior's mean (about 0 on every value), the best
  content-free guess under squared error: by RMSE it beats static (C13 values for ever) and PPO at 20k steps on
  Follow and Predict, never a method that reads the current surveys; by cosine it scores about 0.
"""
from __future__ import annotations

from math import comb

import numpy as np

from aligngym.agents.base import Agent, AgentContext
from aligngym.envs.progress.numeric import split_observation
from aligngym.envs.progress.values import BINARY_DIMS, N_DIMS


def env_layout(ctx: AgentContext) -> dict:
    """What a baseline needs to know about its env: challenge, k, history, privileged."""
    env = ctx.make_env()
    u = env.unwrapped
    env.close()
    if not hasattr(u, "privileged") or not hasattr(u, "sim"):
        raise ValueError(f"{ctx.env_id} is not a numeric progress env; these baselines need Box observations "
                         "from AlignGym/ProgressFollow-v1, ProgressPredict-v1 or ProgressCoevolve-v1.")
    return {"challenge": u.sim.challenge, "k": u.sim.k, "history": u.sim.history, "privileged": bool(u.privileged)}


def extrapolate(series: np.ndarray, order: int, ahead: int) -> np.ndarray:
    """Finite-difference extrapolation of `series` (m, 19), oldest first, `ahead` steps beyond its last row."""
    xs = list(series)
    order = min(order, len(xs) - 1)
    for _ in range(ahead):
        recent = xs[len(xs) - order - 1:]
        xs.append(sum((-1) ** (order - i) * comb(order + 1, i) * recent[i] for i in range(order + 1)))
    return np.clip(xs[-1], -1.0, 1.0)


class SurveyAgent(Agent):
    """Base: parses the observation; subclasses choose the stated values from the surveys."""

    def __init__(self, history: int):
        self.history = history

    def act(self, obs_batch):
        surveys, valid, frac, target = split_observation(obs_batch, self.history)
        return self.choose(surveys, valid, frac, target).astype(np.float32)


class LifelongAgent(SurveyAgent):
    name = "progress.lifelong"

    def choose(self, surveys, valid, frac, target):
        return surveys[:, 0]


class StaticAgent(SurveyAgent):
    name = "progress.static"

    def reset(self, num_envs: int = 1, seed: int | None = None) -> None:
        super().reset(num_envs, seed)
        self.kept = None
        self.last_frac = None

    def choose(self, surveys, valid, frac, target):
        n = len(surveys)
        if getattr(self, "kept", None) is None or len(self.kept) != n:
            self.kept, self.last_frac = np.zeros((n, N_DIMS)), np.full(n, np.inf)
        new_episode = frac <= self.last_frac  # time went back (or first call): a new episode began
        oldest = valid.sum(axis=1).astype(int) - 1
        self.kept[new_episode] = surveys[new_episode, oldest[new_episode]]
        self.last_frac = frac.copy()
        return self.kept.copy()


class ExtrapolativeAgent(SurveyAgent):
    def __init__(self, history: int, order: int, ahead: int):
        super().__init__(history)
        self.order, self.ahead = order, ahead
        self.name = f"progress.extrapolative{order}"
        self.hyperparameters = {"order": order, "ahead": ahead}

    def choose(self, surveys, valid, frac, target):
        out = np.empty((len(surveys), N_DIMS))
        for i in range(len(surveys)):
            m = int(valid[i].sum())
            out[i] = extrapolate(surveys[i, :m][::-1], self.order, self.ahead)
        return out


class ConstantAgent(SurveyAgent):
    name = "progress.constant"

    def choose(self, surveys, valid, frac, target):
        out = np.zeros((len(surveys), N_DIMS))
        out[:, BINARY_DIMS] = 0.5
        return out


class MemoriserAgent(SurveyAgent):
    name = "progress.memoriser"

    def __init__(self, history: int, fracs: np.ndarray, curve: np.ndarray, episodes: int):
        super().__init__(history)
        self.fracs, self.curve = fracs, curve
        self.hyperparameters = {"episodes": episodes}

    def choose(self, surveys, valid, frac, target):
        return self.curve[np.abs(frac[:, None] - self.fracs[None, :]).argmin(axis=1)]


class OracleAgent(SurveyAgent):
    name = "progress.oracle"

    def choose(self, surveys, valid, frac, target):
        return target


def _default_ahead(layout: dict) -> int:
    return {"follow": 0, "predict": layout["k"], "coevolve": 1}[layout["challenge"]]


def static(ctx: AgentContext) -> Agent:
    return StaticAgent(env_layout(ctx)["history"])


def lifelong(ctx: AgentContext) -> Agent:
    return LifelongAgent(env_layout(ctx)["history"])


def extrapolative(ctx: AgentContext, order: int = 1, ahead: int | None = None) -> Agent:
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2 (ProgressGym's extrapolative baselines), got {order!r}.")
    layout = env_layout(ctx)
    ahead = _default_ahead(layout) if ahead is None else ahead
    if not isinstance(ahead, int) or ahead < 0:
        raise ValueError(f"ahead must be an integer >= 0, got {ahead!r}.")
    if layout["history"] < order + 1:
        raise ValueError(f"order {order} needs history >= {order + 1} surveys in view; the env has "
                         f"history={layout['history']}.")
    return ExtrapolativeAgent(layout["history"], order, ahead)


def extrapolative1(ctx: AgentContext, ahead: int | None = None) -> Agent:
    return extrapolative(ctx, 1, ahead)


def extrapolative2(ctx: AgentContext, ahead: int | None = None) -> Agent:
    return extrapolative(ctx, 2, ahead)


def oracle(ctx: AgentContext) -> Agent:
    layout = env_layout(ctx)
    if not layout["privileged"]:
        raise ValueError("progress.oracle reads the exact target values, which the env shows only when made with "
                         "privileged=True (e.g. `aligngym evaluate AlignGym/ProgressPredict-v1 --agent progress.oracle "
                         "-k privileged=true`).")
    return OracleAgent(layout["history"])


def constant(ctx: AgentContext) -> Agent:
    return ConstantAgent(env_layout(ctx)["history"])


def memoriser(ctx: AgentContext, episodes: int = 200) -> Agent:
    """Memorises the mean target per time of `episodes` training-split episodes (seeded by ctx.seed)."""
    if not isinstance(episodes, int) or isinstance(episodes, bool) or episodes < 1:
        raise ValueError(f"episodes must be a positive integer, got {episodes!r}.")
    layout = env_layout(ctx)
    env = ctx.make_env(split="train", privileged=True)
    seen: dict[float, list[np.ndarray]] = {}
    for episode in range(episodes):
        obs, _ = env.reset(seed=ctx.seed * 1_000_003 + episode)
        done = False
        while not done:
            _, _, frac, target = split_observation(obs[None], layout["history"])
            seen.setdefault(round(float(frac[0]), 6), []).append(target[0])
            obs, _, terminated, truncated, _ = env.step(target[0].astype(np.float32))
            done = terminated or truncated
    env.close()
    fracs = np.array(sorted(seen))
    return MemoriserAgent(layout["history"], fracs, np.array([np.mean(seen[f], axis=0) for f in fracs]), episodes)
