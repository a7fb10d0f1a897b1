"""Agent specs: how the CLI, the quick suite and RunRecords name an agent.

    random                               a registered baseline (see BASELINES)
    shaping.barfi?budget=2000&lr=0.01    a registered baseline with kwargs
    my_module:make_agent?temperature=0.2 any importable factory `make_agent(ctx, **kwargs)`

A factory takes an `AgentContext` and keyword arguments and returns an `Agent`
(or a dict of agents for a PettingZoo env). Kwarg values are parsed as JSON where they parse, else kept as strings.
"""
from __future__ import annotations

import difflib
import importlib
import inspect
import json
from typing import Any
from urllib.parse import parse_qsl

from aligngym.agents.base import AgentContext

# name -> "module:factory". Families add their baselines in their own section.
BASELINES: dict[str, str] = {
    "random": "aligngym.agents.base:random_agent",
    # --- progress ---
    "progress.static": "aligngym.agents.progress.baselines:static",
    "progress.lifelong": "aligngym.agents.progress.baselines:lifelong",
    "progress.extrapolative1": "aligngym.agents.progress.baselines:extrapolative1",
    "progress.extrapolative2": "aligngym.agents.progress.baselines:extrapolative2",
    "progress.oracle": "aligngym.agents.progress.baselines:oracle",
    "progress.constant": "aligngym.agents.progress.baselines:constant",
    "progress.memoriser": "aligngym.agents.progress.baselines:memoriser",
    "progress.random_answer": "aligngym.agents.progress.examinee:random_answer",
    "progress.ppo": "aligngym.agents.progress.ppo:ppo",
    "progress.first_option": "aligngym.agents.progress.examinee:first_option",
    "progress.llm": "aligngym.agents.progress.examinee:llm_examinee",
    "progress.dpo": "aligngym.agents.progress.dpo:dpo",
    # --- shopping ---
    "shopping.loyal_customer": "aligngym.agents.shopping.scripted:loyal_customer",
    "shopping.loyal_company": "aligngym.agents.shopping.scripted:loyal_company",
    "shopping.disclosure_sensitive": "aligngym.agents.shopping.scripted:disclosure_sensitive",
    "shopping.ppo": "aligngym.agents.shopping.ppo:ppo",
    "shopping.llm": "aligngym.agents.shopping.llm_agent:llm_agent",
    "shopping.equilibrium": "aligngym.agents.shopping.independent:equilibrium",
    "shopping.independent_ppo": "aligngym.agents.shopping.independent:independent_ppo",
    "shopping.game_llm": "aligngym.agents.shopping.game_llm:game_llm",
    # --- faking ---
    "faking.always_refuse": "aligngym.agents.faking.baselines:always_refuse",
    "faking.always_comply": "aligngym.agents.faking.baselines:always_comply",
    "faking.faker": "aligngym.agents.faking.baselines:faker",
    "faking.optimal": "aligngym.agents.faking.baselines:optimal",
    "faking.ppo": "aligngym.agents.faking.ppo:ppo",
    "faking.faker_text": "aligngym.agents.faking.scripted:faker_text",
    "faking.honest_text": "aligngym.agents.faking.scripted:honest_text",
    "faking.llm": "aligngym.agents.faking.llm_agent:llm_agent",
    # --- rapl ---
    "rapl.sweeper": "aligngym.agents.rapl.scripted:sweeper_agent",
    "rapl.still": "aligngym.agents.rapl.scripted:still_agent",
    "rapl.constant": "aligngym.agents.rapl.scripted:constant_agent",
    "rapl.oracle": "aligngym.agents.rapl.oracle:oracle_agent",
    # --- shaping ---
    "shaping.reinforce": "aligngym.agents.shaping.baselines:reinforce",
    "shaping.actor_critic": "aligngym.agents.shaping.baselines:actor_critic",
    "shaping.barfi": "aligngym.agents.shaping.baselines:barfi",
    "shaping.ppo": "aligngym.agents.shaping.baselines:ppo",
    "shaping.barfi_ppo": "aligngym.agents.shaping.barfi_sb3:barfi_ppo",
    "shaping.barfi_sac": "aligngym.agents.shaping.barfi_sb3:barfi_sac",
    "shaping.barfi_dqn": "aligngym.agents.shaping.barfi_sb3:barfi_dqn",
    "shaping.heuristic": "aligngym.agents.shaping.baselines:heuristic",
}


def parse_value(value: str) -> Any:
    """A kwarg value as written in a spec or on the command line: JSON where it parses, else the string."""
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def parse(spec: str) -> tuple[str, dict[str, Any]]:
    """Splits `target?k=v&k2=v2` into the target and its kwargs."""
    target, _, query = spec.partition("?")
    return target.strip(), {key: parse_value(value) for key, value in parse_qsl(query, keep_blank_values=True)}


def resolve(spec: str):
    """The factory behind a spec, and its kwargs. Raises ValueError with a clear message."""
    target, kwargs = parse(spec)
    if not target:
        raise ValueError("Empty agent spec; use a baseline name (see `aligngym agents`) or `module:factory`.")
    path = BASELINES.get(target, target)
    if ":" not in path:
        close = difflib.get_close_matches(target, list(BASELINES), n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else f" Known baselines: {', '.join(sorted(BASELINES))}."
        raise ValueError(f"Unknown agent {target!r}: not a baseline name and not `module:factory`.{hint}")
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(f"Agent spec {spec!r}: cannot import module {module_name!r} ({err}).") from err
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ValueError(f"Agent spec {spec!r}: module {module_name!r} has no callable {attr!r}.")
    return factory, kwargs


def make_agent(spec: str, ctx: AgentContext):
    factory, kwargs = resolve(spec)
    try:
        inspect.signature(factory).bind(ctx, **kwargs)
    except TypeError:
        params = [n for n in list(inspect.signature(factory).parameters)[1:] if n not in ("args", "kwargs")]
        unknown = sorted(set(kwargs) - set(params)) or sorted(kwargs)
        raise ValueError(f"Agent {spec!r} does not take {', '.join(unknown) or 'no arguments'}; "
                         f"allowed kwargs: {', '.join(params) or '(none)'}.") from None
    agent = factory(ctx, **kwargs)
    agents = agent.values() if isinstance(agent, dict) else [agent]
    for a in agents:  # the record keeps the spec's kwargs with the agent's own hyperparameters
        a.hyperparameters = {**kwargs, **getattr(a, "hyperparameters", {})}
    return agent
