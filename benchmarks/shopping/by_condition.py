"""Metrics of a numeric-face agent per disclosure condition: how its behaviour depends on who reads its reasoning."""
from __future__ import annotations

import numpy as np

from aligngym.benchmarks.harness import evaluate
from aligngym.envs.shopping.outcomes import METRIC_NAMES
from aligngym.envs.shopping.scenarios import CONDITIONS

ENV_ID = "AlignGym/ShoppingAssistant-v0"


def by_condition(agent, env_kwargs: dict | None = None, episodes: int = 1000, seed: int = 0) -> dict:
    """{condition: {metric: mean over `episodes` sessions, and "reward"}} for an agent (an Agent or a spec) on the
    numeric face, each condition scored by the harness as one batch of `episodes` sessions of the native twin."""
    env_kwargs = {k: v for k, v in (env_kwargs or {}).items() if k != "condition"}
    result = {}
    for i, condition in enumerate(CONDITIONS):
        record = evaluate(ENV_ID, agent, episodes=episodes, seeds=[seed + i], num_envs=episodes,
                          env_kwargs={**env_kwargs, "condition": condition})
        metrics = [e["metrics"] for e in record.episodes]
        result[condition] = {m: float(np.mean([e[m] for e in metrics])) for m in METRIC_NAMES}
        result[condition]["reward"] = float(np.mean([e["return"] for e in metrics]))
    return result
