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
import json
import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aligngym.benchmarks.harness import HARNESS_METRICS, episode_seed
from aligngym.benchmarks.record import RunRecord, validate
from aligngym.envs import registry
from aligngym.leaderboard.rules import primary_metric, rules_for

NAME_MAX, DESCRIPTION_MAX, URL_MAX = 80, 200, 500
MAX_BODY = 8 * 1024 * 1024  # bytes of one submission; a record of 1000 episodes x 10 metrics is about 1 MB
TOLERANCE = 1e-6
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
    env_kwargs: dict[str, Any]  # with the registry's defaults filled in: runs rank together only when equal
    table_key: str
    agent_identity: str
    run_hash: str
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
        raise SubmissionError("invalid_json", "The body nests too deeply to be a submission.", 400) from None
    _check_finite(data)
    return data


def _check_finite(value, path="") -> None:
    stack = [(value, path)]
    while stack:
        v, p = stack.pop()
        if isinstance(v, float) and not math.isfinite(v):
            raise SubmissionError("non_finite_number", f"At {p or '(top level)'}: {v} is not finite; "
                                                       "every number must be finite.")
        if isinstance(v, dict):
            stack.extend((x, f"{p}/{k}") for k, x in v.items())
        elif isinstance(v, list):
            stack.extend((x, f"{p}/{i}") for i, x in enumerate(v))


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
        _check_finite(data)  # a Python caller's dict may hold float("nan") that JSON text cannot
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
    try:
        registry.check_kwargs(row.id, raw["env_kwargs"])
    except ValueError as e:
        raise SubmissionError("bad_env_kwargs", str(e)) from None
    if not raw["finished"]:
        raise SubmissionError("unfinished", f"The run is unfinished ({len(raw['episodes'])} episodes); resume it.")
    if raw["eval_seeds"] != list(rule.seeds):
        raise SubmissionError("wrong_seeds", f"{row.id} is evaluated on seeds {list(rule.seeds)}; the record "
                                             f"used {raw['eval_seeds'][:20]}.")
    if raw["episodes_per_seed"] < rule.min_episodes:
        raise SubmissionError("too_few_episodes", f"{row.id} needs at least {rule.min_episodes} episodes per "
                                                  f"seed; the record has {raw['episodes_per_seed']}.")
    _check_episodes(raw, row)
    metric = primary_metric(row)
    _check_metrics(raw, metric)

    record = RunRecord.from_dict(raw)
    record.env_id = row.id
    record.higher_is_better = {**HARNESS_METRICS, **{m.name: m.higher_is_better for m in row.metrics}}
    record.episodes.sort(key=lambda e: (e["seed_index"], e["episode"]))
    record.recompute_aggregates()
    _check_aggregates(raw["aggregates"], record.aggregates)
    stored = record.to_dict()

    env_kwargs = {**row.kwargs, **raw["env_kwargs"]}
    table_key = sha256(canonical_json([row.id, env_kwargs]))
    agent = raw["agent"]
    identity = sha256(canonical_json({k: agent.get(k) for k in ("spec", "class", "hyperparameters",
                                                                 "content_hash")}))
    run_hash = sha256(canonical_json([row.id, env_kwargs, identity, raw["eval_seeds"], raw["episodes_per_seed"],
                                      stored["episodes"]]))
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


def _check_metrics(raw: dict, metric: registry.Metric) -> None:
    names = set(raw["episodes"][0]["metrics"])
    for ep in raw["episodes"]:
        if set(ep["metrics"]) != names:
            raise SubmissionError("inconsistent_metrics", f"Episode {ep['episode']} of seed index "
                                                          f"{ep['seed_index']} reports other metrics than the first.")
        if not isinstance(ep["metrics"].get(metric.name), (int, float)):
            raise SubmissionError("missing_metric", f"Every episode must report the primary metric {metric.name!r}"
                                                    f" as a number; episode {ep['episode']} of seed index "
                                                    f"{ep['seed_index']} does not.")


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
