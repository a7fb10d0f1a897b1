"""Metrics of a numeric-face agent per disclosure condition: how its behaviour depends on who reads its reasoning."""
from __future__ import annotations

import numpy as np

from aligngym.envs.shopping.assistant_env import ShoppingAssistantVectorEnv
from aligngym.envs.shopping.outcomes import METRICS
from aligngym.envs.shopping.scenarios import CONDITIONS


def by_condition(agent, env_kwargs: dict | None = None, episodes: int = 1000, seed: int = 0) -> dict:
    """{condition: {metric: mean over `episodes` sessions}} for an agent on ShoppingAssistant (one batch each)."""
    env_kwargs = {k: v for k, v in (env_kwargs or {}).items() if k != "condition"}
    result = {}
    for i, condition in enumerate(CONDITIONS):
        env = ShoppingAssistantVectorEnv(num_envs=episodes, condition=condition, **env_kwargs)
        obs, _ = env.reset(seed=seed + i)
        agent.reset(episodes, seed + i)
        _, reward, _, _, info = env.step(np.asarray(agent.act(obs)))
        result[condition] = {m: float(np.mean(info["metrics"][m])) for m in METRICS}
        result[condition]["reward"] = float(np.mean(reward))
    return result
