"""The repeated shopping game (AlignGym/Shopping-v1) per disclosure condition: what agents do, beside the
equilibrium of the card."""
from __future__ import annotations

from aligngym.benchmarks.harness import evaluate
from aligngym.envs.shopping.scenarios import CONDITIONS

ENV_ID = "AlignGym/Shopping-v1"
COLUMNS = ("override", "audited", "exposed", "left", "return/assistant", "return/customer")


def game_by_condition(agents, env_kwargs: dict | None = None, episodes: int = 50, seed: int = 0) -> dict:
    """{condition: {metric: mean}} for a dict of agents (or a spec) on Shopping-v1, scored by the harness."""
    env_kwargs = {k: v for k, v in (env_kwargs or {}).items() if k != "condition"}
    out = {}
    for condition in CONDITIONS:
        record = evaluate(ENV_ID, agents, episodes=episodes, seeds=[seed], env_kwargs={**env_kwargs,
                                                                                       "condition": condition})
        out[condition] = {m: record.aggregates[m]["mean"] for m in COLUMNS}
    return out
