"""The repeated shopping game (AlignGym/Shopping-v1) per disclosure condition: what agents do, beside the
equilibrium of the card; and LLM players on its text face (AlignGym/ShoppingGameText-v1) beside the equilibrium and
independent PPO players, with 95% bootstrap CIs over games."""
from __future__ import annotations

import json
from pathlib import Path

import pettingzoo

import aligngym  # noqa: F401  (registers the ids)
from aligngym.agents.base import AgentContext
from aligngym.agents.spec import make_agent
from aligngym.benchmarks.harness import evaluate
from aligngym.envs.shopping.scenarios import CONDITIONS

ENV_ID = "AlignGym/Shopping-v1"
TEXT_ENV_ID = "AlignGym/ShoppingGameText-v1"
COLUMNS = ("override", "audited", "exposed", "left", "return/assistant", "return/customer")
TEXT_COLUMNS = COLUMNS + ("parse_failure_customer", "parse_failure_assistant")


def game_by_condition(agents, env_kwargs: dict | None = None, episodes: int = 50, seed: int = 0) -> dict:
    """{condition: {metric: mean}} for a dict of agents (or a spec) on Shopping-v1, scored by the harness."""
    env_kwargs = {k: v for k, v in (env_kwargs or {}).items() if k != "condition"}
    out = {}
    for condition in CONDITIONS:
        record = evaluate(ENV_ID, agents, episodes=episodes, seeds=[seed], env_kwargs={**env_kwargs,
                                                                                       "condition": condition})
        out[condition] = {m: record.aggregates[m]["mean"] for m in COLUMNS}
    return out


def build_players(spec: str, env_id: str = ENV_ID, env_kwargs: dict | None = None, seed: int = 0):
    """The agents a spec names for the game, built once (a trained spec trains here, not once per condition)."""
    kwargs = {**(env_kwargs or {}), "condition": "random"}
    env = pettingzoo.make("parallel", env_id, **kwargs)
    names = tuple(env.possible_agents)
    ctx = AgentContext(env_id, {a: env.observation_space(a) for a in names}, {a: env.action_space(a) for a in names},
                       kwargs, seed, names)
    return make_agent(spec, ctx)


def llm_game(llm_spec: str, ppo_spec: str | None = "shopping.independent_ppo?budget=15000", episodes: int = 2,
             seeds: list[int] | tuple[int, ...] = (0, 1, 2, 3, 4), env_kwargs: dict | None = None,
             records: Path | None = None, progress: bool = False) -> dict:
    """LLM players (`llm_spec`, e.g. `shopping.game_llm?llm=local`) on the text face, the equilibrium and (unless
    `ppo_spec` is None) independent PPO players (trained once, seed 0) on the numeric face, per condition:
    {player: {condition: {metric: {mean, ci_low, ci_high, n}}}}, over `episodes` games for each of `seeds`.
    With `records`, each LLM run is journalled there (an interrupted run resumes)."""
    if episodes < 1 or not seeds:  # before any training or model loading
        raise ValueError(f"episodes must be >= 1 and seeds must name at least one seed, got {episodes} and {seeds}.")
    env_kwargs = {k: v for k, v in (env_kwargs or {}).items() if k != "condition"}
    players = {"llm": (TEXT_ENV_ID, llm_spec), "equilibrium": (ENV_ID, build_players("shopping.equilibrium",
                                                                                      env_kwargs=env_kwargs))}
    if ppo_spec:
        players["independent_ppo"] = (ENV_ID, build_players(ppo_spec, env_kwargs=env_kwargs))
    out: dict = {}
    for name, (env_id, agents) in players.items():
        columns = TEXT_COLUMNS if env_id == TEXT_ENV_ID else COLUMNS
        out[name] = {}
        for condition in CONDITIONS:
            path = records / f"{name}_{condition}.json" if records and isinstance(agents, str) else None
            record = evaluate(env_id, agents, episodes=episodes, seeds=list(seeds), out=path, progress=progress,
                              env_kwargs={**env_kwargs, "condition": condition})
            out[name][condition] = {m: {k: record.aggregates[m][k] for k in ("mean", "ci_low", "ci_high", "n")}
                                    for m in columns}
    return {"llm_spec": llm_spec, "ppo_spec": ppo_spec, "episodes_per_seed": episodes, "seeds": list(seeds),
            "env_kwargs": env_kwargs, "players": out}


def save(result: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2))
