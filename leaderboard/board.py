"""A file-backed leaderboard of RunRecords.

    submit(record_file, board_dir)  validate, recompute aggregates from the raw episodes, store (never overwrite)
    entries(board_dir)              every stored submission
    render_markdown / render_html   the ranked tables, one per env, by the env's first declared metric

A submission is refused with a clear reason when it is not a valid RunRecord, is unfinished, names an id that is
not registered, repeats a stored run, or claims means that its own episodes do not give. What is stored carries
aggregates recomputed from the raw episodes. Runs are ranked only against runs of the same id and env kwargs.
"""
from __future__ import annotations

import hashlib
import html
import json
import math
import re
from pathlib import Path

from aligngym.benchmarks.record import RunRecord
from aligngym.envs import registry

TOLERANCE = 1e-6


def submit(record_file: str | Path, board_dir: str | Path) -> Path:
    record = RunRecord.load(record_file)  # ValueError if not a RunRecord
    if not record.finished:
        raise ValueError(f"{record_file}: the run is unfinished ({len(record.episodes)} episodes); resume it first.")
    row = registry.row(record.env_id)  # KeyError for ids outside the suite
    claimed = record.aggregates
    record.recompute_aggregates()  # what is stored and ranked comes from the raw episodes, never from the claim
    for name, agg in record.aggregates.items():
        mine, theirs = _number(agg["mean"]), _number((claimed.get(name) or {}).get("mean"))
        if (mine is None) != (theirs is None) or (mine is not None and abs(mine - theirs) > TOLERANCE * max(1.0, abs(mine))):
            raise ValueError(f"{record_file}: aggregate {name!r} ({theirs}) does not match its episodes ({mine}).")
    # Two submissions of the same run (however their JSON is formatted) have the same digest.
    identity = [record.env_id, record.env_kwargs, record.agent.get("spec"), record.eval_seeds, record.episodes]
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:12]
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", record.agent.get("spec", "agent"))[:60]
    dest = Path(board_dir) / row.id.replace("/", "__") / f"{slug}-{digest}.json"
    if dest.exists():
        raise ValueError(f"{record_file} was already submitted as {dest}.")
    record.save(dest)
    return dest


def _number(x) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def entries(board_dir: str | Path) -> list[RunRecord]:
    return [RunRecord.load(p) for p in sorted(Path(board_dir).glob("*/*.json"))]


def ranked(board_dir: str | Path) -> dict[str, tuple[registry.Row, list[RunRecord]]]:
    """One table per (env id, env kwargs): runs under other settings are never ranked together.
    Best first by the row's first metric that has a direction; runs without it go last."""
    tables: dict[str, list[RunRecord]] = {}
    for record in entries(board_dir):
        kwargs = record.env_spec.get("kwargs", record.env_kwargs)  # with the registry defaults filled in
        key = f"{record.env_id} {json.dumps(kwargs, sort_keys=True)}" if kwargs else record.env_id
        tables.setdefault(key, []).append(record)
    out = {}
    for key, records in sorted(tables.items()):
        row = registry.row(records[0].env_id)
        metric = next(m for m in row.metrics if m.higher_is_better is not None)
        sign = -1 if metric.higher_is_better else 1

        def order(r: RunRecord):
            mean = _number(r.aggregates.get(metric.name, {}).get("mean"))
            return (mean is None, 0.0 if mean is None else sign * mean)

        out[key] = (row, sorted(records, key=order))
    return out


def _cell(record: RunRecord, metric: str) -> str:
    a = record.aggregates.get(metric)
    if not a or _number(a["mean"]) is None:
        return "—"
    return f"{a['mean']:.3g} [{a['ci_low']:.3g}, {a['ci_high']:.3g}]"


def render_markdown(board_dir: str | Path) -> str:
    lines = ["# AlignGym leaderboard", ""]
    for title, (row, records) in ranked(board_dir).items():
        metrics = row.metric_names[:4]
        lines += [f"## {title}", "", row.description, "",
                  "| # | agent | episodes | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 3) + "|"]
        for i, r in enumerate(records, 1):
            lines.append(f"| {i} | `{r.agent.get('spec')}` | {len(r.episodes)} | "
                         + " | ".join(_cell(r, m) for m in metrics) + " |")
        lines.append("")
    return "\n".join(lines)


def render_html(board_dir: str | Path) -> str:
    parts = ["<!doctype html><meta charset='utf-8'><title>AlignGym leaderboard</title>",
             "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:4px 8px}</style><h1>AlignGym leaderboard</h1>"]
    for title, (row, records) in ranked(board_dir).items():
        metrics = row.metric_names[:4]
        parts.append(f"<h2>{html.escape(title)}</h2><p>{html.escape(row.description)}</p><table><tr><th>#</th>"
                     "<th>agent</th><th>episodes</th>" + "".join(f"<th>{html.escape(m)}</th>" for m in metrics) + "</tr>")
        for i, r in enumerate(records, 1):
            parts.append(f"<tr><td>{i}</td><td>{html.escape(str(r.agent.get('spec')))}</td><td>{len(r.episodes)}</td>"
                         + "".join(f"<td>{html.escape(_cell(r, m))}</td>" for m in metrics) + "</tr>")
        parts.append("</table>")
    return "\n".join(parts)
