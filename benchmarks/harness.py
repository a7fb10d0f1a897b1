"""The scoring harness: run an agent on an env for seeded episodes and produce a RunRecord.

    from aligngym.benchmarks.harness import evaluate
    record = evaluate("AlignGym/ShapingGridWorld-v1", "random", episodes=20, seeds=[0, 1], num_envs=8)

Episodes run in batches of `num_envs` (Gymnasium's native vector twin where the row registers one, else
SyncVectorEnv). Under SyncVectorEnv every episode gets its own env seed, derived from (evaluation seed, episode
index), so a deterministic agent's results do not depend on `num_envs`; a native twin seeds a whole batch from one
generator, so there the record's per-episode seed is the batch's seed. Before each batch the agent is reset with a
seed derived from the batch's first episode: a stochastic agent draws for the whole batch from that one generator,
so its results depend on `num_envs` (the record keeps it, and the leaderboard fixes it per env), and a run
interrupted and resumed gives exactly the episodes an uninterrupted run gives. Each episode's `info["metrics"]` is kept raw, next to the return and length
the harness measures itself.

With `out=`, finished batches are appended to a journal beside the record (`<out>.partial.jsonl`); the record is
validated, aggregated and written once, at the end, so the cost per episode stays constant. A later call with the
same `out` resumes the journal, or returns the finished record, only when it is the same run: the same env, kwargs,
seeds, episode count, num_envs and agent — by its spec string, or for an agent object by its description and the
content hash of its weights where it has one. Anything else is refused with a message saying how to start fresh
(`overwrite=True`, `--overwrite`); an agent object without a content hash resumes only with `resume=True`.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
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
             progress: bool = False, agent_spec: str | None = None, resume: bool = False,
             overwrite: bool = False) -> RunRecord:
    """Score `agent` (a spec string, an Agent, or for PettingZoo envs a dict of Agents) and return a RunRecord.

    With `out`, an interrupted run resumes from its journal and a finished one is returned as it is, but only for
    the same run (see the module docstring); `overwrite=True` discards what `out` holds and starts fresh, and
    `resume=True` accepts an agent object whose weights cannot be hashed as the same agent.
    """
    for name, value in (("episodes", episodes), ("num_envs", num_envs)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be >= 1, got {value!r}.")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must name at least one evaluation seed.")
    if not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 0 for s in seeds):
        raise ValueError(f"seeds must be integers >= 0, got {seeds!r}.")
    seeds = [int(s) for s in seeds]
    env_kwargs = dict(env_kwargs or {})
    env_id, row = _resolve_env(env_id, env_kwargs)
    out = Path(out) if out is not None else None
    if out is not None:
        _check_writable(out)

    spec_string = agent_spec or _spec_string(agent)
    settings = {"env_id": env_id, "env_kwargs": env_kwargs, "agent": spec_string, "eval_seeds": seeds,
                "episodes_per_seed": int(episodes), "num_envs": int(num_envs)}
    if out is not None and overwrite:
        _discard(out)
    if out is not None and isinstance(agent, str) and out.exists():  # a spec names its agent: no need to build it
        finished = _load_finished(out, _identity(settings, None), resume)
        if finished is not None:
            return finished

    ctx, env = _context(env_id, row, env_kwargs, seeds[0])
    with contextlib.closing(env):  # the runs step this env where they step one
        agent_obj = _build_agents(agent, ctx)
        identity = _identity(settings, None if isinstance(agent, str) else _agent_content(agent_obj))
        if out is not None and out.exists():
            finished = _load_finished(out, identity, resume)
            if finished is not None:
                return finished
        record = _new_record(env, env_id, row, env_kwargs, spec_string, agent_obj, seeds, episodes, num_envs)
        record.extra["run_identity"] = identity["hash"]
        record.extra["run_settings"] = settings
        journal = _Journal(out, identity, resume) if out is not None else None
        if journal is not None:
            record.episodes, record.duration_s = journal.episodes, journal.duration_s
        started = time.perf_counter() - record.duration_s

        done = {(e["seed_index"], e["episode"]) for e in record.episodes}
        todo = [(i, k) for i in range(len(seeds)) for k in range(episodes) if (i, k) not in done]
        runner = _run_parallel_env if row is not None and row.multi_agent else _run_vector_env
        bar = _progress_bar(len(todo), env_id, progress)
        try:
            for seed_index in range(len(seeds)):
                batch = [k for i, k in todo if i == seed_index]
                if not batch:
                    continue
                for results in runner(env, env_id, env_kwargs, agent_obj, seeds[seed_index], batch, num_envs):
                    results = [{"seed_index": seed_index, **r} for r in results]
                    record.episodes.extend(results)
                    if journal is not None:
                        journal.append(results, time.perf_counter() - started)
                    bar.update(len(results))
        finally:
            bar.close()
        record.episodes.sort(key=lambda e: (e["seed_index"], e["episode"]))
        record.finished = True
        record.duration_s = time.perf_counter() - started
        without = [e for e in record.episodes if not set(e["metrics"]) - {"return", "length"}]
        if without:  # e.g. an outer TimeLimit cut episodes short: say so in the record, never hide it
            record.extra["episodes_without_env_metrics"] = len(without)
        record.recompute_aggregates()
        if out is not None:
            record.save(out)
            journal.close()
        return record


def _identity(settings: dict, content: dict | None) -> dict:
    """What makes two runs the same run; `verifiable` is False for an agent object whose weights have no hash.
    A spec's agent is named by the spec, the suite version and, for `module:factory` specs, the factory module's
    source (so editing your own agent's code starts a new run)."""
    if content is None:
        content = {"suite_version": aligngym.__version__, "factory_source": _factory_source_hash(settings["agent"])}
    ident = {**settings, "agent_content": content}
    blob = json.dumps(ident, sort_keys=True, default=repr)
    return {"hash": hashlib.sha256(blob.encode()).hexdigest()[:16], "settings": ident,
            "verifiable": "factory_source" in content or content.get("content_hash") is not None}


def _factory_source_hash(spec: str) -> str | None:
    """SHA-256 of the source files of the `module:factory` modules a spec names (None for registered baselines,
    whose code is the suite's own)."""
    import importlib.util

    from aligngym.agents.spec import BASELINES, parse

    digest, found = hashlib.sha256(), False
    for part in spec.split(";"):
        target = parse(part.partition("=")[2] if "=" in part.split("?")[0] and ":" not in part.split("=")[0]
                       else part)[0]
        if target in BASELINES or ":" not in target:
            continue
        found_spec = importlib.util.find_spec(target.partition(":")[0])
        if found_spec is not None and found_spec.origin and os.path.isfile(found_spec.origin):
            digest.update(Path(found_spec.origin).read_bytes())
            found = True
    return digest.hexdigest()[:16] if found else None


def _agent_content(agent) -> dict:
    """An agent object's description, with the hash of its weights where it defines `content_hash()` (SB3Agent)."""
    if isinstance(agent, dict):
        parts = {name: _agent_content(a) for name, a in sorted(agent.items())}
        hashes = [p["content_hash"] for p in parts.values()]
        return {"agents": parts, "content_hash": None if None in hashes else "+".join(hashes)}
    description = agent.describe()
    return {"describe": description, "content_hash": description.get("content_hash")}


def _differences(old_settings: dict, identity: dict) -> str:
    """Which settings differ (the agent's content when none does)."""
    keys = [k for k, v in identity["settings"].items() if k != "agent_content" and old_settings.get(k) != v]
    return ", ".join(keys) or "the agent's content (description or weights)"


def _how_to_start_fresh(out: Path) -> str:
    return "pass overwrite=True (CLI: --overwrite) to discard it, or choose another out path."


def _load_finished(out: Path, identity: dict, resume: bool) -> RunRecord | None:
    """The finished record at `out` when it is this run; raises when it is another run's."""
    old = RunRecord.load(out)  # raises ValueError if the file is not a RunRecord: we never overwrite it
    old_hash = old.extra.get("run_identity")
    if old_hash == identity["hash"] and (identity["verifiable"] or resume):
        return old
    why = ("its agent cannot be verified as this one (no weights hash); pass resume=True (CLI: --resume) if it is"
           if old_hash == identity["hash"] else f"it differs in: {_differences(old.extra.get('run_settings', {}), identity)}")
    raise ValueError(f"{out} already holds a finished RunRecord of another run (env {old.env_id}, agent "
                     f"{old.agent.get('spec')}): {why}; {_how_to_start_fresh(out)}")


def _discard(out: Path) -> None:
    if out.exists():
        RunRecord.load(out)  # only ever delete what is a RunRecord
        out.unlink()
    _journal_path(out).unlink(missing_ok=True)


def _check_writable(out: Path) -> None:
    """Refuse an `out` that cannot be written before any episode runs."""
    if out.is_dir():
        raise ValueError(f"out {out} is a directory; give a file path such as {out / 'record.json'}.")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"out {out} cannot be written ({e.strerror or e}); choose a writable path.") from None
    if not os.access(out.parent, os.W_OK | os.X_OK):  # also False on a read-only file system
        raise ValueError(f"out {out} cannot be written (no write permission in {out.parent}); choose a writable path.")


def _journal_path(out: Path) -> Path:
    return out.with_name(out.name + ".partial.jsonl")


_JOURNAL_ENCODER = json.JSONEncoder(default=repr)  # built once: json.dumps(default=...) builds one per call


class _Journal:
    """Finished episodes of an unfinished run, one JSON line per batch after a header naming the run."""

    def __init__(self, out: Path, identity: dict, resume: bool):
        self.path = _journal_path(out)
        self.episodes: list[dict] = []
        self.duration_s = 0.0
        if self.path.exists():
            lines = self.path.read_text().splitlines()
            header = json.loads(lines[0]) if lines else {}
            if header.get("run_identity") != identity["hash"] or not (identity["verifiable"] or resume):
                why = ("its agent cannot be verified as this one; pass resume=True (CLI: --resume) if it is"
                       if header.get("run_identity") == identity["hash"]
                       else f"it differs in: {_differences(header.get('settings', {}), identity)}")
                raise ValueError(f"{self.path} holds an unfinished run of other settings: {why}; "
                                 f"{_how_to_start_fresh(out)}")
            good = len(lines[0]) + 1 if lines else 0  # bytes of the header and of every whole batch line
            for line in lines[1:]:
                try:
                    batch = json.loads(line)
                except json.JSONDecodeError:
                    break  # a line cut by a crash: that batch reruns
                self.episodes += batch["episodes"]
                self.duration_s = batch["duration_s"]
                good += len(line) + 1
            self._file = open(self.path, "r+")
            self._file.truncate(good)  # drop a cut line, so later batches append after the last whole one
            self._file.seek(good)
        else:
            self._file = open(self.path, "w")
            self._write({"run_identity": identity["hash"], "settings": identity["settings"]})

    def _write(self, obj) -> None:
        self._file.write(_JOURNAL_ENCODER.encode(obj) + "\n")
        self._file.flush()

    def append(self, episodes: list[dict], duration_s: float) -> None:
        self._write({"episodes": episodes, "duration_s": duration_s})

    def close(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)


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


def _context(env_id: str, row, env_kwargs: dict, seed: int):
    """The agents' context, and the env it was read from (the runs reuse it where they step one env)."""
    if row is not None and row.multi_agent:
        import pettingzoo
        env = pettingzoo.make("parallel", env_id, **env_kwargs)
        names = tuple(env.possible_agents)
        ctx = AgentContext(env_id, {a: env.observation_space(a) for a in names},
                           {a: env.action_space(a) for a in names}, env_kwargs, seed, names)
    else:
        env = gym.make(env_id, **env_kwargs)
        ctx = AgentContext(env_id, env.observation_space, env.action_space, env_kwargs, seed)
    return ctx, env


def _new_record(env, env_id, row, env_kwargs, spec_string, agent_obj, seeds, episodes, num_envs) -> RunRecord:
    if row is not None and row.multi_agent:
        env_spec = {"id": env_id, "entry_point": row.entry_point, "kwargs": {**row.kwargs, **env_kwargs},
                    "max_cycles": row.max_episode_steps, "api": "pettingzoo.parallel"}
        description = {"name": "+".join(sorted(agent_obj)), "hyperparameters":
                       {name: a.describe() for name, a in agent_obj.items()}}
    else:
        spec = env.spec  # gym.make's copy of the registered spec, with env_kwargs merged into its kwargs
        env_spec = dict(spec.__dict__)
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


def _run_vector_env(env, env_id, env_kwargs, agent: Agent, eval_seed: int, episode_indices: list[int],
                    num_envs: int):
    """Yields, per batch of up to num_envs episodes, a list of {"episode", "seed", "metrics"}."""
    if num_envs == 1:
        yield from _run_single_env(env, agent, eval_seed, episode_indices)
        return
    spec = gym.spec(env_id)
    mode = "vector_entry_point" if spec.vector_entry_point is not None else "sync"
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode, **env_kwargs)
    try:
        for start in range(0, len(episode_indices), num_envs):
            batch = episode_indices[start:start + num_envs]
            ep_seeds = [episode_seed(eval_seed, k) for k in batch]
            agent.reset(num_envs, seed=ep_seeds[0])  # seeded per batch, so a resumed run matches an unbroken one
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


def _run_single_env(env, agent: Agent, eval_seed: int, episode_indices: list[int]):
    """num_envs=1 without a vector wrapper (the same episodes as SyncVectorEnv of one env, at a bare loop's cost)."""
    for k in episode_indices:
        seed = episode_seed(eval_seed, k)
        agent.reset(1, seed=seed)
        obs, _ = env.reset(seed=seed)
        total, length, done = 0.0, 0, False
        while not done:
            obs, reward, terminated, truncated, info = env.step(_unbatch(agent.act(_batch_of_one(obs))))
            total += float(reward)
            length += 1
            done = terminated or truncated
        metrics = {m: _float(v) for m, v in info.get("metrics", {}).items()}
        yield [{"episode": k, "seed": seed, "metrics": {"return": total, "length": float(length), **metrics}}]


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
    if type(obs) is np.ndarray:  # the common case first: this runs on every step
        return obs[None]
    if isinstance(obs, dict):
        return {k: _batch_of_one(v) for k, v in obs.items()}
    if isinstance(obs, str):
        return (obs,)
    return np.asarray(obs)[None]


def _run_parallel_env(env, env_id, env_kwargs, agents: dict, eval_seed: int, episode_indices: list[int],
                      num_envs: int):
    """PettingZoo ParallelEnv: one episode at a time; each agent acts on a batch of one observation."""
    missing = sorted(set(env.possible_agents) - set(agents))
    if missing:
        raise ValueError(f"{env_id} has agents {env.possible_agents}; no policy given for {', '.join(missing)}.")
    for k in episode_indices:
        seed = episode_seed(eval_seed, k)
        for i, name in enumerate(sorted(agents)):
            agents[name].reset(1, seed=seed + i)
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
