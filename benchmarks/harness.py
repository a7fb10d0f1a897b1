"""The scoring harness: run an agent on an env for seeded episodes and produce a RunRecord.

    from aligngym.benchmarks.harness import evaluate
    record = evaluate("AlignGym/ShapingGridWorld-v0", "random", episodes=20, seeds=[0, 1], num_envs=8)

Episodes run in batches of `num_envs` (Gymnasium's native vector twin where the row registers one, else
SyncVectorEnv). Under SyncVectorEnv every episode gets its own seed, derived from (evaluation seed, episode index),
so results do not depend on `num_envs`; a native twin seeds a whole batch from one generator, so there the
record's per-episode seed is the batch's seed and results depend on `num_envs` too. Either way an interrupted run
resumes where it stopped. Each episode's `info["metrics"]` is kept
raw, next to the return and length the harness measures itself.
"""
from __future__ import annotations

import math
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import gymnasium as gym
import numpy as np

import aligngym
from aligngym.agents.base import Agent, AgentContext
from aligngym.agents.spec import make_agent
from aligngym.benchmarks.record import RunRecord, git_hash, system_info
from aligngym.benchmarks.stats import format_cell
from aligngym.envs import registry

HARNESS_METRICS = {"return": True, "length": None}  # measured for every env; True = higher is better


def episode_seed(eval_seed: int, episode: int) -> int:
    return int(np.random.SeedSequence([eval_seed, episode]).generate_state(1)[0])


def evaluate(env_id: str, agent: str | Agent | dict, episodes: int = 10, seeds: Sequence[int] = (0,),
             num_envs: int = 1, env_kwargs: dict[str, Any] | None = None, out: str | Path | None = None,
             progress: bool = False, agent_spec: str | None = None) -> RunRecord:
    """Score `agent` (a spec string, an Agent, or for PettingZoo envs a dict of Agents) and return a RunRecord.

    With `out`, the record is written after every batch of episodes; if `out` already holds an unfinished record
    of the same settings, the finished episodes are kept and only the rest run.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}.")
    if num_envs < 1:
        raise ValueError(f"num_envs must be >= 1, got {num_envs}.")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must name at least one evaluation seed.")
    env_kwargs = dict(env_kwargs or {})
    env_id, row = _resolve_env(env_id, env_kwargs)

    spec_string = agent_spec or _spec_string(agent)
    record = _resume(out, env_id, env_kwargs, spec_string, seeds, episodes, num_envs)
    if record is not None and record.finished:
        return record

    ctx = _context(env_id, row, env_kwargs, seeds[0])
    agent_obj = _build_agents(agent, ctx)
    if record is None:
        record = _new_record(env_id, row, env_kwargs, spec_string, agent_obj, seeds, episodes, num_envs)
    started = time.perf_counter() - record.duration_s

    done = {(e["seed_index"], e["episode"]) for e in record.episodes}
    todo = [(i, k) for i in range(len(seeds)) for k in range(episodes) if (i, k) not in done]
    runner = _run_parallel_env if row is not None and row.multi_agent else _run_vector_env
    bar = _progress_bar(len(todo), env_id, progress)
    for seed_index in range(len(seeds)):
        batch = [k for i, k in todo if i == seed_index]
        if not batch:
            continue
        for results in runner(env_id, env_kwargs, agent_obj, seeds[seed_index], batch, num_envs):
            record.episodes.extend({"seed_index": seed_index, **r} for r in results)
            record.duration_s = time.perf_counter() - started
            record.recompute_aggregates()
            if out:
                record.save(out)
            bar.update(len(results))
    bar.close()
    record.episodes.sort(key=lambda e: (e["seed_index"], e["episode"]))
    record.finished = True
    record.duration_s = time.perf_counter() - started
    record.recompute_aggregates()
    if out:
        record.save(out)
    return record


def _resolve_env(env_id: str, env_kwargs: dict) -> tuple[str, registry.Row | None]:
    """AlignGym ids are checked against the registry (close matches, allowed kwargs); others go to Gymnasium."""
    try:
        row = registry.row(env_id)
    except KeyError:
        if env_id in gym.registry:
            return env_id, None
        if env_id.startswith(("aligngym:", registry.NAMESPACE + "/")):
            raise
        import difflib
        close = difflib.get_close_matches(env_id, list(gym.registry), n=3)
        raise KeyError(f"Unknown environment id {env_id!r}." + (f" Did you mean: {', '.join(close)}?" if close else
                                                                 " Run `aligngym list` to see AlignGym's ids.")) from None
    registry.check_kwargs(row.id, env_kwargs)
    return row.id, row


def _context(env_id: str, row, env_kwargs: dict, seed: int) -> AgentContext:
    if row is not None and row.multi_agent:
        import pettingzoo
        env = pettingzoo.make("parallel", env_id, **env_kwargs)
        names = tuple(env.possible_agents)
        ctx = AgentContext(env_id, {a: env.observation_space(a) for a in names},
                           {a: env.action_space(a) for a in names}, env_kwargs, seed, names)
    else:
        env = gym.make(env_id, **env_kwargs)
        ctx = AgentContext(env_id, env.observation_space, env.action_space, env_kwargs, seed)
    env.close()
    return ctx


def _new_record(env_id, row, env_kwargs, spec_string, agent_obj, seeds, episodes, num_envs) -> RunRecord:
    if row is not None and row.multi_agent:
        env_spec = {"id": env_id, "entry_point": row.entry_point, "kwargs": {**row.kwargs, **env_kwargs},
                    "max_cycles": row.max_episode_steps, "api": "pettingzoo.parallel"}
        description = {"name": "+".join(sorted(agent_obj)), "hyperparameters":
                       {name: a.describe() for name, a in agent_obj.items()}}
    else:
        spec = gym.spec(env_id)
        env_spec = {**spec.__dict__, "kwargs": {**spec.kwargs, **env_kwargs}}
        env_spec = {k: v for k, v in env_spec.items() if isinstance(v, (str, int, float, bool, dict, list, type(None)))}
        description = agent_obj.describe()
    higher = dict(HARNESS_METRICS)
    if row is not None:
        higher.update({m.name: m.higher_is_better for m in row.metrics})
    return RunRecord(env_id=env_id, env_spec=env_spec, env_kwargs=env_kwargs,
                     agent={"spec": spec_string, **description}, training_seed=seeds[0], eval_seeds=seeds,
                     episodes_per_seed=episodes, num_envs=num_envs, higher_is_better=higher,
                     started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     suite_version=aligngym.__version__, git_hash=git_hash(), system=system_info())


def _resume(out, env_id, env_kwargs, spec_string, seeds, episodes, num_envs) -> RunRecord | None:
    if not out or not Path(out).exists():
        return None
    old = RunRecord.load(out)  # raises ValueError if the file is not a RunRecord: we never overwrite it
    # num_envs matters too: a native vector twin seeds each batch of num_envs episodes together
    same = (old.env_id, old.env_kwargs, old.agent.get("spec"), old.eval_seeds, old.episodes_per_seed, old.num_envs) == \
           (env_id, env_kwargs, spec_string, seeds, episodes, num_envs)
    if not same:
        raise ValueError(f"{out} already holds a RunRecord with other settings (env {old.env_id}, agent "
                         f"{old.agent.get('spec')}, seeds {old.eval_seeds}, episodes {old.episodes_per_seed}, "
                         f"num_envs {old.num_envs}); choose another --out or delete it.")
    return old


def _spec_string(agent) -> str:
    """How the record names the agent: its spec, or for a dict of per-agent policies `name=spec;name=spec`."""
    if isinstance(agent, str):
        return agent
    if isinstance(agent, dict):
        return ";".join(f"{name}={_spec_string(a)}" for name, a in sorted(agent.items()))
    return f"python:{type(agent).__module__}.{type(agent).__qualname__}"


def _build_agents(agent, ctx: AgentContext):
    """A spec becomes an Agent (or a dict for PettingZoo); a dict may mix Agents and specs per agent name."""
    if isinstance(agent, str):
        return make_agent(agent, ctx)
    if isinstance(agent, dict):
        unknown = sorted(set(agent) - set(ctx.agents))
        if unknown:
            raise ValueError(f"{ctx.env_id} has no agent named {', '.join(unknown)}; agents: {', '.join(ctx.agents)}.")
        built = {}
        for name, a in agent.items():
            if isinstance(a, str):
                made = make_agent(a, ctx)
                a = made[name] if isinstance(made, dict) else made
            built[name] = a
        return built
    return agent


def _run_vector_env(env_id, env_kwargs, agent: Agent, eval_seed: int, episode_indices: list[int], num_envs: int):
    """Yields, per batch of up to num_envs episodes, a list of {"episode", "seed", "metrics"}."""
    spec = gym.spec(env_id)
    mode = "vector_entry_point" if spec.vector_entry_point is not None and num_envs > 1 else "sync"
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode, **env_kwargs)
    agent.reset(num_envs, seed=eval_seed)
    try:
        for start in range(0, len(episode_indices), num_envs):
            batch = episode_indices[start:start + num_envs]
            ep_seeds = [episode_seed(eval_seed, k) for k in batch]
            if mode == "sync":
                pad = [episode_seed(eval_seed, 10**9 + i) for i in range(num_envs - len(batch))]  # unused slots
                obs, _ = envs.reset(seed=ep_seeds + pad)
            else:  # native twins draw all sub-envs from one generator: the batch shares its first episode's seed
                ep_seeds = [ep_seeds[0]] * len(batch)
                obs, _ = envs.reset(seed=ep_seeds[0])
            returns, lengths = np.zeros(num_envs), np.zeros(num_envs, dtype=int)
            active = np.zeros(num_envs, bool)
            active[:len(batch)] = True
            results: dict[int, dict] = {}
            while active.any():
                obs, reward, terminated, truncated, infos = envs.step(agent.act(obs))
                returns[active] += np.asarray(reward, dtype=float)[active]
                lengths[active] += 1
                for i in np.flatnonzero(active & (np.asarray(terminated) | np.asarray(truncated))):
                    metrics = {"return": float(returns[i]), "length": float(lengths[i]), **_metrics_at(infos, i)}
                    results[i] = {"episode": batch[i], "seed": ep_seeds[i], "metrics": metrics}
                    active[i] = False
            yield [results[i] for i in range(len(batch))]
    finally:
        envs.close()


def _metrics_at(infos: dict, i: int) -> dict[str, float]:
    """Env i's episode-end metrics from a vector info dict (the structure SyncVectorEnv builds)."""
    metrics = infos.get("metrics")
    if metrics is None or not np.asarray(infos.get("_metrics", np.ones(i + 1, bool)))[i]:
        return {}
    out = {}
    for name, values in metrics.items():
        if name.startswith("_") or not np.asarray(metrics.get("_" + name, np.ones(i + 1, bool)))[i]:
            continue
        out[name] = _float(values[i])
    return out


def _float(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _batch_of_one(obs):
    if isinstance(obs, dict):
        return {k: _batch_of_one(v) for k, v in obs.items()}
    if isinstance(obs, str):
        return (obs,)
    return np.asarray(obs)[None]


def _run_parallel_env(env_id, env_kwargs, agents: dict, eval_seed: int, episode_indices: list[int], num_envs: int):
    """PettingZoo ParallelEnv: one episode at a time; each agent acts on a batch of one observation."""
    import pettingzoo

    env = pettingzoo.make("parallel", env_id, **env_kwargs)
    missing = sorted(set(env.possible_agents) - set(agents))
    if missing:
        raise ValueError(f"{env_id} has agents {env.possible_agents}; no policy given for {', '.join(missing)}.")
    for a in agents.values():
        a.reset(1, seed=eval_seed)
    try:
        for k in episode_indices:
            seed = episode_seed(eval_seed, k)
            obs, _ = env.reset(seed=seed)
            returns = {a: 0.0 for a in env.possible_agents}
            metrics, length = {}, 0
            while env.agents:
                actions = {a: _unbatch(agents[a].act(_batch_of_one(obs[a]))) for a in env.agents}
                obs, rewards, terms, truncs, infos = env.step(actions)
                length += 1
                for a, r in rewards.items():
                    returns[a] += float(r)
                for info in infos.values():
                    metrics.update({m: _float(v) for m, v in info.get("metrics", {}).items()})
            metrics.update({f"return/{a}": r for a, r in returns.items()})
            yield [{"episode": k, "seed": seed, "metrics": {"length": float(length), **metrics}}]
    finally:
        env.close()


def _unbatch(actions):
    return actions[0] if isinstance(actions, (list, tuple, np.ndarray)) else actions


class _NoBar:
    def update(self, n): ...
    def close(self): ...


def _progress_bar(total: int, label: str, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=label, unit="ep")


def print_record(record: RunRecord, console=None) -> None:
    """A rich table of a record's aggregates."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    table = Table(title=f"{record.env_id} · {record.agent.get('spec')} · {len(record.episodes)} episodes")
    for col in ("metric", "mean", "95% CI", "IQM", "n"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for name, a in record.aggregates.items():
        arrow = {True: " ↑", False: " ↓"}.get(a.get("higher_is_better"), "")
        mean, _, ci = format_cell(a).partition(" ")
        table.add_row(name + arrow, mean, ci, _fmt(a["iqm"]), str(a["n"]))
    console.print(table)


def _fmt(x) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4g}"
