"""HTML pages of the board, shared by `export` (a static site) and `serve` (the same pages over HTTP).

    index.html          the families and how many entries each has
    <family>.html       one ranked table per env id (and env kwargs) of the family, CI bars as inline SVG
    entry-<id>.html     one entry: its agent, seeds, versions, every metric, a per-episode distribution plot
    style.css           the only stylesheet; pages load nothing else (no external assets)

Everything shown that came from a submission passes through `html.escape`. Tables sort by a click on a column
header (a few lines of inline script; without script the table stays in rank order).
"""
from __future__ import annotations

import html
import json
import math

from aligngym.envs import registry
from aligngym.leaderboard.board import Board, Table

CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:72em;color:#222;background:#fff}
a{color:#1f5fa8}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px}
th{background:#f0f3f7;cursor:pointer;user-select:none}th[aria-sort]::after{content:" \\2195";color:#888}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}.verified{color:#176d2c;font-weight:bold}
.mismatch{color:#a11}.self-reported{color:#666}.problems{background:#fff4e5;padding:.5em 1em}
.failed{background:#fdecec;padding:.5em 1em}
dl{display:grid;grid-template-columns:max-content auto;gap:4px 16px}dt{font-weight:bold}code{font-size:90%}
"""

SORT_SCRIPT = """<script>
document.querySelectorAll("table.board th").forEach(function(th, col) {
  th.addEventListener("click", function() {
    var body = th.closest("table").tBodies[0], rows = Array.from(body.rows);
    var asc = th.getAttribute("aria-sort") !== "ascending";
    th.closest("tr").querySelectorAll("th").forEach(function(h) { h.setAttribute("aria-sort", "none"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    rows.sort(function(a, b) {
      var x = a.cells[col].dataset.sort, y = b.cells[col].dataset.sort;
      var c = (isNaN(x) || isNaN(y)) ? x.localeCompare(y) : x - y;
      return asc ? c : -c;
    });
    rows.forEach(function(r) { body.appendChild(r); });
  });
});
</script>"""

e = html.escape


def _page(title: str, body: str) -> str:
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width'><title>{e(title)}</title>"
            f"<link rel='stylesheet' href='style.css'></head><body>"
            f"<nav><a href='index.html'>AlignGym leaderboard</a></nav>{body}</body></html>")


def _num(x: float) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:.4g}"


def _problems(problems: list[str]) -> str:
    if not problems:
        return ""
    items = "".join(f"<li>{e(p)}</li>" for p in problems)
    return f"<div class='problems'><p>{len(problems)} entries were skipped:</p><ul>{items}</ul></div>"


def index(board: Board) -> str:
    tables, problems = board.tables()
    counts = {f: sum(len(t.entries) for t in tables if t.row.family == f) for f in registry.FAMILIES}
    items = "".join(f"<li><a href='{f}.html'>{f}</a>: {n} entries</li>" for f, n in counts.items())
    return _page("AlignGym leaderboard", "<h1>AlignGym leaderboard</h1><p>Every score is recomputed from the "
                 "submitted episodes; <span class='verified'>verified</span> entries were rerun by the board itself, "
                 "the rest are self-reported. Ranks are shared (=) where 95% CIs overlap.</p>"
                 f"<ul>{items}</ul>{_problems(problems)}")


def _ci_bar(low: float, mean: float, high: float, lo: float, hi: float) -> str:
    """An inline SVG of one CI on the table's common scale."""
    width, span = 160, (hi - lo) or 1.0

    def x(v):
        return 5 + (width - 10) * (v - lo) / span
    return (f"<svg class='ci' width='{width}' height='14' role='img' aria-label='95% CI {_num(low)} to "
            f"{_num(high)}'><line x1='{x(low):.1f}' x2='{x(high):.1f}' y1='7' y2='7' stroke='#1f5fa8' "
            f"stroke-width='3'/><circle cx='{x(mean):.1f}' cy='7' r='4' fill='#222'/></svg>")


def _failed(t: Table) -> str:
    """Entries whose verification rerun differed: named with the difference, never ranked."""
    if not t.failed:
        return ""
    items = "".join(f"<li data-entry='{x.id}'><a href='entry-{x.id}.html'>{e(x.name)}</a> "
                    f"(<code>{e(x.agent_spec)}</code>, claimed {_num(x.score)}): {e(x.verification_note)}</li>"
                    for x in t.failed)
    return f"<div class='failed'><p>Failed verification (not ranked):</p><ul>{items}</ul></div>"


def _table(t: Table) -> str:
    arrow = "↑" if t.higher_is_better else "↓"
    lo = min((r.entry.ci_low for r in t.entries), default=0.0)
    hi = max((r.entry.ci_high for r in t.entries), default=1.0)
    rows = []
    for r in t.entries:
        x = r.entry
        rank = f"={r.rank}" if r.tied else str(r.rank)
        rows.append(
            f"<tr data-entry='{x.id}'><td class='num' data-sort='{r.rank}'>{rank}</td>"
            f"<td data-sort='{e(x.name.lower())}'><a href='entry-{x.id}.html'>{e(x.name)}</a></td>"
            f"<td data-sort='{e(x.agent_spec)}'><code>{e(x.agent_spec)}</code></td>"
            f"<td data-sort='{e(x.status)}' class='{e(x.status)}'>{e(x.status)}</td>"
            f"<td class='num score' data-sort='{x.score!r}'>{_num(x.score)}</td>"
            f"<td class='num' data-sort='{x.ci_low!r}'>[{_num(x.ci_low)}, {_num(x.ci_high)}]</td>"
            f"<td data-sort='{x.score!r}'>{_ci_bar(x.ci_low, x.score, x.ci_high, lo, hi)}</td>"
            f"<td class='num' data-sort='{x.n_episodes}'>{x.n_episodes}</td>"
            f"<td data-sort='{x.submitted_at:%Y-%m-%dT%H:%M:%S}'>{x.submitted_at:%Y-%m-%d}</td></tr>")
    head = "".join(f"<th aria-sort='none'>{h}</th>" for h in
                   ("rank", "entry", "agent", "status", f"{e(t.metric)} {arrow}", "95% CI", "CI", "episodes",
                    "submitted"))
    return (f"<h2 id='{e(t.env_id)}'>{e(t.title)}</h2><p>{e(t.row.description)}. Ranked by "
            f"<b>{e(t.metric)}</b> ({'higher' if t.higher_is_better else 'lower'} is better).</p>"
            f"<table class='board'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{_failed(t)}")


def family(board: Board, name: str) -> str:
    tables, problems = board.tables(family=name)
    body = "".join(_table(t) for t in tables) or "<p>No entries yet.</p>"
    return _page(f"AlignGym leaderboard · {name}", f"<h1>{e(name)}</h1>{_problems(problems)}{body}{SORT_SCRIPT}")


def _distribution(episodes: list[dict], metric: str, seeds: list[int]) -> str:
    """An inline SVG strip plot: one dot per episode of `metric`, one row per evaluation seed."""
    values = [(ep["seed_index"], ep["metrics"].get(metric)) for ep in episodes]
    values = [(i, v) for i, v in values if isinstance(v, (int, float))]
    if not values:
        return "<p>No episode reports this metric.</p>"
    lo, hi = min(v for _, v in values), max(v for _, v in values)
    if hi == lo:  # all equal: one column of dots in the middle
        lo, hi = lo - 1, hi + 1
    span = hi - lo
    width, row_h, left = 480, 22, 70
    height = row_h * len(seeds) + 30
    dots = "".join(f"<circle cx='{left + 10 + (width - left - 20) * (v - lo) / span:.1f}' "
                   f"cy='{row_h * i + row_h / 2:.1f}' r='4' fill='#1f5fa8' fill-opacity='0.6'/>" for i, v in values)
    labels = "".join(f"<text x='4' y='{row_h * i + row_h / 2 + 4:.1f}' font-size='11'>seed {s}</text>"
                     for i, s in enumerate(seeds))
    axis = (f"<text x='{left}' y='{height - 6}' font-size='11'>{_num(lo)}</text><text x='{width - 60}' "
            f"y='{height - 6}' font-size='11'>{_num(hi)}</text>")
    return (f"<svg class='distribution' width='{width}' height='{height}' role='img' aria-label='per-episode "
            f"{e(metric)}'><rect width='{width}' height='{height}' fill='#fafafa'/>{labels}{dots}{axis}</svg>")


def entry(board: Board, entry_id: int) -> str | None:
    """The detail page, None for an unknown id; a corrupt entry gets a page that says so."""
    x = board.entry(entry_id)
    if x is None:
        return None
    try:
        record = board.record_of(x)
    except ValueError as err:
        return _page(f"entry {entry_id}", f"<h1>Entry {entry_id}</h1>{_problems([f'entry {entry_id}: {err}'])}")
    agent = record["agent"]
    facts = [("environment", f"<a href='{e(x.family)}.html'>{e(x.env_id)}</a>"),
             ("env kwargs", f"<code>{e(x.env_kwargs)}</code>"),
             ("write-up", f"<a rel='nofollow noopener' href='{e(x.url)}'>{e(x.url)}</a>"),
             ("status", f"<span class='{e(x.status)}'>{e(x.status)}</span> {e(x.verification_note)}"),
             ("agent spec", f"<code>{e(agent.get('spec', ''))}</code>"),
             ("agent class", f"<code>{e(str(agent.get('class', '')))}</code>"),
             ("agent content hash", f"<code>{e(str(agent.get('content_hash', '—')))}</code>"),
             ("hyperparameters", f"<code>{e(json.dumps(agent.get('hyperparameters', {}), sort_keys=True))}</code>"),
             ("evaluation seeds", e(", ".join(map(str, record["eval_seeds"])))),
             ("episodes", f"{len(record['episodes'])} ({record['episodes_per_seed']} per seed, "
                          f"{record['num_envs']} run side by side)"),
             ("suite version", e(record["suite_version"])),
             ("git hash", f"<code>{e(str(record['git_hash']))}</code>"),
             ("packages", e(", ".join(f"{k} {v}" for k, v in record["system"].get("packages", {}).items()
                                      if v))),
             ("content hash", f"<code>{e(x.content_hash)}</code>")]
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
    metrics = "".join(
        f"<tr><td>{e(name)}{' ↑' if a['higher_is_better'] else ' ↓' if a['higher_is_better'] is False else ''}"
        f"</td><td class='num'>{_num(a['mean'])}</td><td class='num'>[{_num(a['ci_low'])}, {_num(a['ci_high'])}]"
        f"</td><td class='num'>{_num(a['iqm'])}</td><td class='num'>{a['n']}</td></tr>"
        for name, a in sorted(record["aggregates"].items()))
    body = (f"<h1>{e(x.name)}</h1><p>{e(x.description)}</p><dl>{dl}</dl>"
            f"<h2>Per-episode {e(x.primary_metric)}</h2>"
            f"{_distribution(record['episodes'], x.primary_metric, record['eval_seeds'])}"
            "<h2>Metrics</h2><table class='metrics'><thead><tr><th>metric</th><th>mean</th><th>95% CI</th>"
            f"<th>IQM</th><th>n</th></tr></thead><tbody>{metrics}</tbody></table>")
    return _page(f"{x.name} · AlignGym leaderboard", body)


def export(board: Board, out) -> list:
    """Writes the static site into folder `out`; returns the files written."""
    from pathlib import Path

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"style.css": CSS, "index.html": index(board)}
    files.update({f"{f}.html": family(board, f) for f in registry.FAMILIES})
    tables, _ = board.tables()
    for t in tables:
        for x in [r.entry for r in t.entries] + t.failed:
            files[f"entry-{x.id}.html"] = entry(board, x.id)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    return [out / n for n in files]
