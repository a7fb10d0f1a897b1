"""A file-backed leaderboard of RunRecords.

    submit(record_file, board_dir)  validate, recompute aggregates from the raw episodes, store (never overwrite)
    entries(board_dir)              every stored submission
    render_markdown / render_html   the ranked tables, one per env, by the env's first declared metric

A submission is refused with a clear reason when it is not a valid RunRecord, is unfinished, names an id that is
not registered, or claims aggregates that its own episodes do not give.
"""
from __future__ import annotations

import hashlib
import html
import json
import math
import re
import shutil
from pathlib import Path

from aligngym.benchmarks.record import RunRecord
from aligngym.envs import registry

TOLERANCE = 1e-6


def submit(record_file: str | Path, board_dir: str | Path) -> Path:
    record = RunRecord.load(record_file)  # ValueError if not a RunRecord
    if not record.finished:
        raise ValueError(f"{record_file}: the run is unfinished ({len(record.episodes)} episodes); resume it first.")
    row = registry.row(record.env_id)  # KeyError for ids outside the suite
    claimed = json.loads(json.dumps(record.aggregates, default=str))
    record.recompute_aggregates()
    for name, agg in record.aggregates.items():
        mine, theirs = agg["mean"], (claimed.get(name) or {}).get("mean")
        if theirs is None or (not math.isnan(mine) and abs(mine - theirs) > TOLERANCE * max(1.0, abs(mine))):
            raise ValueError(f"{record_file}: aggregate {name!r} ({theirs}) does not match its episodes ({mine:.6g}).")
    digest = hashlib.sha256(Path(record_file).read_bytes()).hexdigest()[:12]
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", record.agent.get("spec", "agent"))[:60]
    dest = Path(board_dir) / row.id.replace("/", "__") / f"{slug}-{digest}.json"
    if dest.exists():
        raise ValueError(f"{record_file} was already submitted as {dest}.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(record_file, dest)
    return dest


def entries(board_dir: str | Path) -> list[RunRecord]:
    return [RunRecord.load(p) for p in sorted(Path(board_dir).glob("*/*.json"))]


def ranked(board_dir: str | Path) -> dict[str, tuple[registry.Row, list[RunRecord]]]:
    """Per env id: its row and its submissions, best first by the row's first metric."""
    tables: dict[str, list[RunRecord]] = {}
    for record in entries(board_dir):
        tables.setdefault(record.env_id, []).append(record)
    out = {}
    for env_id, records in sorted(tables.items()):
        row = registry.row(env_id)
        metric = row.metrics[0]
        sign = -1 if metric.higher_is_better else 1
        records.sort(key=lambda r: sign * (r.aggregates.get(metric.name, {}).get("mean") or 0.0))
        out[env_id] = (row, records)
    return out


def _cell(record: RunRecord, metric: str) -> str:
    a = record.aggregates.get(metric)
    if not a or a["mean"] is None or math.isnan(a["mean"]):
        return "—"
    return f"{a['mean']:.3g} [{a['ci_low']:.3g}, {a['ci_high']:.3g}]"


def render_markdown(board_dir: str | Path) -> str:
    lines = ["# AlignGym leaderboard", ""]
    for env_id, (row, records) in ranked(board_dir).items():
        metrics = row.metric_names[:4]
        lines += [f"## {env_id}", "", row.description, "",
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
    for env_id, (row, records) in ranked(board_dir).items():
        metrics = row.metric_names[:4]
        parts.append(f"<h2>{html.escape(env_id)}</h2><p>{html.escape(row.description)}</p><table><tr><th>#</th>"
                     "<th>agent</th><th>episodes</th>" + "".join(f"<th>{html.escape(m)}</th>" for m in metrics) + "</tr>")
        for i, r in enumerate(records, 1):
            parts.append(f"<tr><td>{i}</td><td>{html.escape(str(r.agent.get('spec')))}</td><td>{len(r.episodes)}</td>"
                         + "".join(f"<td>{html.escape(_cell(r, m))}</td>" for m in metrics) + "</tr>")
        parts.append("</table>")
    return "\n".join(parts)
