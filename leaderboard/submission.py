"""Checking a submission: JSON bytes in, a `Checked` submission (or a `SubmissionError` with a stable code) out.

A submission is one JSON object: `{"name", "description", "url", "record"}` where `record` is a RunRecord
(`benchmarks/runrecord.schema.json`). It is data, never code: it is parsed with `json` and checked field by field;
nothing in it is imported, unpickled or evaluated, and agent files (SB3 `.zip`s) are never loaded.

What is stored and ranked is recomputed here from the record's own episodes: the aggregates (with the registry's
metric directions, never the record's), the episode count and the hashes. The codes of `SubmissionError` are
stable (the API and docs/leaderboard.md list them).
"""
from __future__ import annotations

import hashlib
import inspect
import json
import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aligngym.benchmarks.harness import HARNESS_METRICS, episode_seed
from aligngym.benchmarks.record import RunRecord, validate
from aligngym.envs import registry
from aligngym.envs.checks import Float, Opt, validate as validate_args
from aligngym.leaderboard.rules import primary_metric, rules_for

NAME_MAX, DESCRIPTION_MAX, URL_MAX = 80, 200, 500
MAX_BODY = 8 * 1024 * 1024  # bytes of one submission; a record of 1000 episodes x 10 metrics is about 1 MB
TOLERANCE = 1e-6
MAX_DEPTH = 64  # nesting of arrays and objects; a record needs about 6, a deeper one only exhausts the stack
# Duplicates compare metrics after round(float(x), 6): 9 digits would not absorb a nudge of 1e-9, and the
# aggregate check tolerates 1e-6 anyway, so runs that differ by less are not different runs.
DUPLICATE_DIGITS = 6
_MARKUP = re.compile(r"[<>]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class SubmissionError(ValueError):
    """A refused submission: `code` is stable, `message` says what was wrong and what is allowed."""

    def __init__(self, code: str, message: str, status: int = 422, **detail: Any):
        super().__init__(message)
        self.code, self.message, self.status, self.detail = code, message, status, detail

    def to_json(self) -> dict:
        return {"error": {"code": self.code, "message": self.message, **self.detail}}


@dataclass
class Checked:
    """A submission that passed every check, with what the board stores."""

    name: str
    description: str
    url: str
    record: dict[str, Any]  # the RunRecord with recomputed aggregates and the registry's metric directions
    row: registry.Row
    env_kwargs: dict[str, Any]  # validated and normalised (defaults dropped): runs rank together only when equal
    table_key: str
    agent_identity: str
    run_hash: str  # the run's content without the agent identity: the duplicate key
    content_hash: str
    canonical: str  # the stored JSON text; content_hash is its SHA-256
    metric: registry.Metric
    score: float
    ci_low: float
    ci_high: float


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def parse_json(body: bytes | str) -> Any:
    """JSON with no NaN/Infinity (as tokens or as overflowing numbers like 1e999)."""
    def refuse_constant(token):
        raise SubmissionError("non_finite_number", f"{token} is not allowed: every number must be finite.")

    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        data = json.loads(text, parse_constant=refuse_constant)
    except UnicodeDecodeError as e:
        raise SubmissionError("invalid_json", f"The body is not UTF-8 text ({e.reason}).", 400) from None
    except json.JSONDecodeError as e:
        raise SubmissionError("invalid_json", f"The body is not valid JSON: {e.msg} at line {e.lineno} column "
                                              f"{e.colno}.", 400) from None
    except RecursionError:
        raise _too_deep() from None
    _check_tree(data)
    return data


def _too_deep() -> SubmissionError:
    return SubmissionError("invalid_json", f"The body nests arrays and objects more than {MAX_DEPTH} deep; a "
                                           "submission never needs that.", 400)


def _check_tree(value) -> None:
    """Every number finite and nesting at most MAX_DEPTH deep (later checks recurse; this walk does not)."""
    stack = [(value, "", 0)]
    while stack:
        v, p, depth = stack.pop()
        if isinstance(v, float) and not math.isfinite(v):
            raise SubmissionError("non_finite_number", f"At {p or '(top level)'}: {v} is not finite; "
                                                       "every number must be finite.")
        if isinstance(v, (dict, list)) and depth >= MAX_DEPTH:
            raise _too_deep()
        if isinstance(v, dict):
            stack.extend((x, f"{p}/{k}", depth + 1) for k, x in v.items())
        elif isinstance(v, list):
            stack.extend((x, f"{p}/{i}", depth + 1) for i, x in enumerate(v))


def _text(data: dict, key: str, limit: int) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SubmissionError("bad_metadata", f"`{key}` must be a non-empty string.")
    value = value.strip()
    if len(value) > limit:
        raise SubmissionError("bad_metadata", f"`{key}` is {len(value)} characters; at most {limit} are allowed.")
    if _CONTROL.search(value):
        raise SubmissionError("bad_metadata", f"`{key}` must be one line of text without control characters.")
    if _MARKUP.search(value):
        raise SubmissionError("markup_not_allowed", f"`{key}` must be plain text: '<' and '>' are not allowed.")
    return value


def _url(data: dict) -> str:
    value = data.get("url")
    if not isinstance(value, str) or len(value) > URL_MAX or _CONTROL.search(value) or " " in value:
        raise SubmissionError("bad_url", f"`url` must be an http(s) URL of at most {URL_MAX} characters "
                                         "without spaces.")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SubmissionError("bad_url", f"`url` must start with http:// or https:// and name a host, "
                                         f"got {value[:60]!r}.")
    return value


def _env_row(env_id: str) -> registry.Row:
    try:
        return registry.row(env_id)
    except KeyError:
        stem = re.sub(r"-v\d+$", "", registry.full_id(env_id))
        versions = [r.id for r in registry.ROWS if re.sub(r"-v\d+$", "", r.id) == stem]
        if versions:
            raise SubmissionError("unknown_env_version", f"{env_id!r} is not a registered version; the board "
                                                         f"accepts {', '.join(versions)}.") from None
        raise SubmissionError("unknown_env", f"Unknown environment id {env_id!r}; run `aligngym list` "
                                             "for the registered ids.") from None


def check(body: bytes | str | dict) -> Checked:
    """Every check, in order of cost; the first failure raises SubmissionError."""
    data = body if isinstance(body, dict) else parse_json(body)
    if isinstance(body, dict):
        _check_tree(data)  # a Python caller's dict may hold float("nan") that JSON text cannot
    if not isinstance(data, dict):
        raise SubmissionError("schema_violation", "A submission is a JSON object with name, description, url "
                                                  "and record.")
    extra = sorted(set(data) - {"name", "description", "url", "record"})
    if extra or "record" not in data:
        problem = f"unexpected: {', '.join(extra)}" if extra else "record is missing"
        raise SubmissionError("schema_violation", "A submission has exactly the keys name, description, url and "
                                                  f"record; {problem}.")
    name, description = _text(data, "name", NAME_MAX), _text(data, "description", DESCRIPTION_MAX)
    url = _url(data)
    raw = data["record"]
    try:
        validate(raw)
    except ValueError as e:
        raise SubmissionError("schema_violation", str(e)) from None

    row = _env_row(raw["env_id"])
    rule = rules_for(row.id)
    if raw["suite_version"] not in rule.suite_versions:
        raise SubmissionError("unsupported_suite_version", f"Records from aligngym {raw['suite_version']!r} are "
                                                           f"not accepted for {row.id}; accepted: "
                                                           f"{', '.join(rule.suite_versions)}.")
    env_kwargs = normalise_env_kwargs(row, raw["env_kwargs"])
    if not raw["finished"]:
        raise SubmissionError("unfinished", f"The run is unfinished ({len(raw['episodes'])} episodes); resume it.")
    if raw["eval_seeds"] != list(rule.seeds):
        raise SubmissionError("wrong_seeds", f"{row.id} is evaluated on seeds {list(rule.seeds)}; the record "
                                             f"used {raw['eval_seeds'][:20]}.")
    if raw["episodes_per_seed"] != rule.episodes_per_seed:
        raise SubmissionError("wrong_episodes_per_seed", f"{row.id} is evaluated on exactly "
                                                         f"{rule.episodes_per_seed} episodes per seed (never fewer "
                                                         f"or more); the record has {raw['episodes_per_seed']}.")
    if raw["num_envs"] != rule.num_envs:
        raise SubmissionError("wrong_num_envs", f"{row.id} is evaluated with num_envs={rule.num_envs}; the record "
                                                f"used {raw['num_envs']}.")
    _check_episodes(raw, row)
    metric = primary_metric(row)
    _check_metrics(raw, row, metric)

    record = RunRecord.from_dict(raw)
    record.env_id = row.id
    record.env_kwargs = env_kwargs
    record.higher_is_better = {**HARNESS_METRICS, **{m.name: m.higher_is_better for m in row.metrics}}
    record.episodes.sort(key=lambda e: (e["seed_index"], e["episode"]))
    record.recompute_aggregates()
    _check_aggregates(raw["aggregates"], record.aggregates)
    stored = record.to_dict()

    table_key = sha256(canonical_json([row.id, env_kwargs]))
    agent = raw["agent"]
    identity = sha256(canonical_json({k: agent.get(k) for k in ("spec", "class", "hyperparameters",
                                                                 "content_hash")}))
    run_hash = content_key(row, env_kwargs, stored)
    canonical = canonical_json(stored)
    agg = record.aggregates[metric.name]
    return Checked(name=name, description=description, url=url, record=stored, row=row, env_kwargs=env_kwargs,
                   table_key=table_key, agent_identity=identity, run_hash=run_hash, content_hash=sha256(canonical),
                   canonical=canonical, metric=metric, score=agg["mean"], ci_low=agg["ci_low"],
                   ci_high=agg["ci_high"])


def _check_episodes(raw: dict, row: registry.Row) -> None:
    """Every (seed, episode index) exactly once, matching the declared counts and the harness's seeds."""
    seeds, per_seed, episodes = raw["eval_seeds"], raw["episodes_per_seed"], raw["episodes"]
    if len(episodes) != len(seeds) * per_seed:
        raise SubmissionError("episode_count_mismatch", f"The record declares {len(seeds)} seeds x {per_seed} "
                                                        f"episodes = {len(seeds) * per_seed} but holds "
                                                        f"{len(episodes)} episodes.")
    seen = set()
    native = row.vector_entry_point is not None and raw["num_envs"] > 1
    for ep in episodes:
        key = (ep["seed_index"], ep["episode"])
        if key in seen:
            raise SubmissionError("duplicate_episode", f"Episode {key[1]} of seed index {key[0]} appears twice.")
        seen.add(key)
        if key[0] >= len(seeds) or key[1] >= per_seed:
            raise SubmissionError("episode_out_of_range", f"Episode {key[1]} of seed index {key[0]} is outside "
                                                          f"{len(seeds)} seeds x {per_seed} episodes.")
        # SyncVectorEnv seeds episode k from (seed, k); a native vector twin seeds a batch from an earlier episode
        expected = {episode_seed(seeds[key[0]], key[1])}
        if native:
            expected |= {episode_seed(seeds[key[0]], j) for j in range(max(0, key[1] - raw["num_envs"] + 1), key[1])}
        if ep["seed"] not in expected:
            raise SubmissionError("episode_seed_mismatch", f"Episode {key[1]} of seed {seeds[key[0]]} has seed "
                                                           f"{ep['seed']}, not the one the harness derives.")


def required_metrics(row: registry.Row) -> set[str]:
    """What every episode must report: the row's declared metrics and the harness's `length` and `return` (a
    PettingZoo env reports `return/<agent>` per agent instead)."""
    return set(row.metric_names) | {"length"} | (set() if row.multi_agent else {"return"})


def _check_metrics(raw: dict, row: registry.Row, metric: registry.Metric) -> None:
    names = set(raw["episodes"][0]["metrics"])
    missing = sorted(required_metrics(row) - names)
    if row.multi_agent and not any(n.startswith("return/") for n in names):
        missing.append("return/<agent>")
    if missing:
        raise SubmissionError("missing_metric", f"Every episode must report every metric {row.id} declares; "
                                                f"missing: {', '.join(missing)}.")
    for ep in raw["episodes"]:
        if set(ep["metrics"]) != names:
            raise SubmissionError("inconsistent_metrics", f"Episode {ep['episode']} of seed index "
                                                          f"{ep['seed_index']} reports other metrics than the first.")
        if not isinstance(ep["metrics"].get(metric.name), (int, float)):
            raise SubmissionError("missing_metric", f"Every episode must report the primary metric {metric.name!r}"
                                                    f" as a number; episode {ep['episode']} of seed index "
                                                    f"{ep['seed_index']} does not.")


def normalise_env_kwargs(row: registry.Row, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The env kwargs checked by the env class's declared `ARGS` rules and normalised: numbers of `Float` rules
    become floats, and a kwarg equal to what `gym.make(id)` uses anyway (the registry's kwargs over the
    constructor's defaults) is dropped, so one env setting is one table. `render_mode` is refused (it does not
    change a score), and so is a non-default kwarg without a declared rule (the board could not check it)."""
    try:
        registry.check_kwargs(row.id, kwargs)
    except ValueError as e:
        raise SubmissionError("bad_env_kwargs", str(e)) from None
    if "render_mode" in kwargs:
        raise SubmissionError("bad_env_kwargs", "render_mode is not a setting of a scored run; leave it out.")
    target = row.load()
    rules = getattr(target, "ARGS", {}) if isinstance(target, type) else {}
    try:
        validate_args(rules, kwargs, row.id)
    except ValueError as e:
        raise SubmissionError("bad_env_kwargs", str(e)) from None

    def canonical(name, value):
        rule = rules.get(name)
        rule = rule.rule if isinstance(rule, Opt) else rule
        return float(value) if isinstance(rule, Float) and value is not None else value

    params = inspect.signature(target).parameters
    defaults = {n: p.default for n, p in params.items() if p.default is not inspect.Parameter.empty}
    defaults.update(row.kwargs)
    out = {}
    for name, value in sorted(kwargs.items()):
        value = canonical(name, value)
        if name in defaults and _same(value, canonical(name, defaults[name])):
            continue
        if name not in rules:
            raise SubmissionError("bad_env_kwargs", f"{row.id}: {name} has no declared rule, so the board cannot "
                                                    "check it; only declared arguments "
                                                    f"({', '.join(sorted(rules)) or 'none'}) may differ from their "
                                                    "defaults.")
        out[name] = value
    return out


def _same(a, b) -> bool:
    numbers = [isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, b)]
    if all(numbers):
        return float(a) == float(b)  # 1 and 1.0 are one setting
    try:
        return canonical_json(a) == canonical_json(b)
    except (TypeError, ValueError):
        return False


def _rounded(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return round(float(value), DUPLICATE_DIGITS) + 0.0  # + 0.0 turns -0.0 into 0.0
    return value


def content_key(row: registry.Row, env_kwargs: dict[str, Any], record: dict) -> str:
    """The duplicate key: the run's content without the agent identity (spec, class, hyperparameters), the
    name or anything else a copier can change freely. The env setting, seeds, episode count, and every
    episode's required metrics as floats rounded to DUPLICATE_DIGITS decimals: a copy with a relabelled agent,
    an int for a float, a metric nudged by 1e-9 or an extra made-up metric is the same run."""
    names = sorted(n for n in record["episodes"][0]["metrics"] if n in required_metrics(row) or n.startswith("return/"))
    episodes = sorted([e["seed_index"], e["episode"], [_rounded(e["metrics"].get(n)) for n in names]]
                      for e in record["episodes"])
    return sha256(canonical_json([row.id, env_kwargs, record["eval_seeds"], record["episodes_per_seed"], names,
                                  episodes]))


def _check_aggregates(claimed: dict, recomputed: dict) -> None:
    if set(claimed) != set(recomputed):
        raise SubmissionError("aggregate_mismatch", f"The record aggregates {sorted(claimed)} but its episodes "
                                                    f"report {sorted(recomputed)}.")
    for name, agg in recomputed.items():
        mine, theirs = agg["mean"], claimed[name]["mean"]
        mine = None if isinstance(mine, float) and math.isnan(mine) else mine
        if claimed[name]["n"] != agg["n"] or (mine is None) != (theirs is None) or (
                mine is not None and abs(mine - theirs) > TOLERANCE * max(1.0, abs(mine))):
            raise SubmissionError("aggregate_mismatch", f"Aggregate {name!r} claims mean {theirs} over "
                                                        f"{claimed[name]['n']} episodes; its episodes give {mine} "
                                                        f"over {agg['n']}.")
