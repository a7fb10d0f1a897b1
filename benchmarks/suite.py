"""The quick suite (`make demo`, `aligngym suite`): every registered id with its baselines on the embedded
defaults. Writes one RunRecord per (id, agent), `results.json`, a Markdown report with plots, and prints a table.
A baseline that fails is reported as failed (with its error) and the suite goes on; the exit code says so."""
from __future__ import annotations

import json
import re
import traceback
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from aligngym.benchmarks.harness import evaluate
from aligngym.benchmarks.stats import format_cell
from aligngym.envs import registry


@dataclass(frozen=True)
class Quick:
    """What the quick suite runs on one id: these agent specs, `episodes` episodes each, evaluation seed 0."""

    baselines: tuple[str, ...]
    episodes: int = 10


_PROGRESS_NUMERIC = Quick(("random", "progress.static", "progress.lifelong", "progress.extrapolative1",
                           "progress.extrapolative2"), episodes=50)
_PROGRESS_TEXT = Quick(("random", "progress.first_option"), episodes=2)
_SHOPPING_SCRIPTED = ("random", "shopping.loyal_customer", "shopping.loyal_company", "shopping.disclosure_sensitive")

# The quick suite's table: registry id -> Quick. Families add their ids in their own section.
QUICK: dict[str, Quick] = {
    # --- progress ---
    "AlignGym/ProgressFollow-v0": _PROGRESS_NUMERIC,
    "AlignGym/ProgressFollowText-v0": _PROGRESS_TEXT,
    "AlignGym/ProgressPredict-v0": _PROGRESS_NUMERIC,
    "AlignGym/ProgressPredictText-v0": _PROGRESS_TEXT,
    "AlignGym/ProgressCoevolve-v0": _PROGRESS_NUMERIC,
    "AlignGym/ProgressCoevolveText-v0": _PROGRESS_TEXT,
    # --- shopping ---
    "AlignGym/Shopping-v0": Quick(_SHOPPING_SCRIPTED, episodes=50),
    "AlignGym/Shopping-v1": Quick(("random", "shopping.equilibrium"), episodes=50),
    "AlignGym/ShoppingAssistant-v0": Quick(_SHOPPING_SCRIPTED, episodes=200),
    "AlignGym/ShoppingText-v0": Quick(("random", "shopping.llm?llm=local&temperature=0.2&max_new_tokens=60"), episodes=8),
    "AlignGym/ShoppingText-v1": Quick(("random", "shopping.llm?llm=local&temperature=0.2&max_new_tokens=60"), episodes=8),
    # --- faking ---
    # --- rapl ---
    # --- shaping ---
    "AlignGym/ShapingGridWorld-v0": Quick(("random", "shaping.reinforce?mode=primary&budget=3000",
                                           "shaping.reinforce?mode=naive&budget=3000", "shaping.barfi?budget=3000"),
                                          episodes=20),
    "AlignGym/ShapingMountainCar-v0": Quick(("random", "shaping.heuristic")),
    "AlignGym/ShapingCartPole-v0": Quick(("random", "shaping.heuristic?controller=good",
                                          "shaping.heuristic?controller=weak")),
    "AlignGym/ShapingHalfCheetah-v0": Quick(("random",), episodes=2),
}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")


def run_suite(out: Path, families: list[str] | None = None, episodes: int | None = None,
              console: Console | None = None) -> list[dict]:
    console = console or Console()
    unknown = sorted(set(families or []) - set(registry.FAMILIES))
    if unknown:
        raise ValueError(f"Unknown family {', '.join(unknown)}; families: {', '.join(registry.FAMILIES)}.")
    wanted = families or list(registry.FAMILIES)
    rows = [r for r in registry.ROWS if r.family in wanted and r.id in QUICK]
    out = Path(out)
    (out / "records").mkdir(parents=True, exist_ok=True)
    results = []
    for r in rows:
        for spec in QUICK[r.id].baselines:
            n = episodes or QUICK[r.id].episodes
            console.print(f"[bold]{r.id}[/] · {spec} · {n} episodes")
            path = out / "records" / f"{_slug(r.id)}__{_slug(spec)}.json"
            entry = {"env_id": r.id, "family": r.family, "agent": spec, "record": str(path)}
            try:
                # the demo always reruns on the embedded defaults
                record = evaluate(r.id, spec, episodes=n, seeds=[0], out=path, overwrite=True)
                entry["aggregates"] = record.aggregates
                entry["duration_s"] = round(record.duration_s, 2)
            except Exception as e:  # one broken baseline must not hide the others' results
                entry["error"] = f"{type(e).__name__}: {e}"
                console.print(f"[red]failed:[/] {entry['error']}")
                (out / "records" / f"{path.stem}.error.txt").write_text(traceback.format_exc())
            results.append(entry)
    missing = [f for f in wanted if not any(r.family == f for r in registry.ROWS)]
    (out / "results.json").write_text(json.dumps({"results": results, "families_not_available": missing}, indent=2,
                                                 default=lambda x: None))
    plots = _plot(results, rows, out)
    _write_report(results, rows, missing, plots, out)
    _print_table(results, rows, missing, console)
    console.print(f"Report: {out / 'report.md'}")
    return results


def _headline(row: registry.Row) -> list[str]:
    """The metrics a summary shows: the row's primary metric first, then its other declared metrics (4 in all)."""
    return [row.primary_metric] + [m for m in row.metric_names if m != row.primary_metric][:3]


def _cell(entry: dict, metric: str) -> str:
    return format_cell(entry.get("aggregates", {}).get(metric))


def _print_table(results, rows, missing, console) -> None:
    by_id = {r.id: r for r in rows}
    for env_id in dict.fromkeys(e["env_id"] for e in results):
        metrics = _headline(by_id[env_id])
        table = Table(title=f"{env_id}  (mean [95% CI])")
        table.add_column("agent", no_wrap=True)
        for m in metrics:
            arrow = next((x.arrow for x in by_id[env_id].metrics if x.name == m), "")
            table.add_column(m + arrow, justify="right")
        for e in (e for e in results if e["env_id"] == env_id):
            cells = [_cell(e, m) for m in metrics] if "error" not in e else ["[red]failed[/]"] + [""] * (len(metrics) - 1)
            table.add_row(e["agent"], *cells)
        console.print(table)
    if missing:
        console.print(f"Families not yet available (no results are shown for them): {', '.join(missing)}")
    failed = [e for e in results if "error" in e]
    if failed:
        console.print(f"[red]{len(failed)} baseline run(s) failed; see the report.[/]")


def _plot(results, rows, out: Path) -> dict[str, str]:
    """One bar chart per env of its first metric, mean with 95% CI per agent."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_id, plots = {r.id: r for r in rows}, {}
    for env_id in dict.fromkeys(e["env_id"] for e in results):
        metric = _headline(by_id[env_id])[0]
        entries = [e for e in results if e["env_id"] == env_id and metric in e.get("aggregates", {})
                   and e["aggregates"][metric]["mean"] is not None]
        if not entries:
            continue
        means = [e["aggregates"][metric]["mean"] for e in entries]
        errs = [[m - e["aggregates"][metric]["ci_low"] for m, e in zip(means, entries)],
                [e["aggregates"][metric]["ci_high"] - m for m, e in zip(means, entries)]]
        fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(entries), 3.6))
        ax.bar(range(len(entries)), means, yerr=errs, capsize=4, color="#4c72b0")
        ax.set_xticks(range(len(entries)), [e["agent"].replace("?", "\n").replace("&", "\n") for e in entries],
                      fontsize=7)
        ax.set_ylabel(metric)
        ax.set_title(env_id, fontsize=9)
        fig.tight_layout()
        name = f"{_slug(env_id)}.png"
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        plots[env_id] = name
    return plots


def _write_report(results, rows, missing, plots, out: Path) -> None:
    by_id = {r.id: r for r in rows}
    lines = ["# AlignGym quick suite", "",
             "Every registered id with its baselines on the embedded defaults (evaluation seed 0). "
             "Cells are mean [95% bootstrap CI]; records are in `records/`.", ""]
    for env_id in dict.fromkeys(e["env_id"] for e in results):
        row = by_id[env_id]
        metrics = _headline(row)
        lines += [f"## {env_id}", "", row.description, "",
                  "| agent | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
        for e in (e for e in results if e["env_id"] == env_id):
            cells = [_cell(e, m) for m in metrics] if "error" not in e else [f"failed: {e['error']}"] + [""] * (len(metrics) - 1)
            lines.append(f"| `{e['agent']}` | " + " | ".join(cells) + " |")
        if env_id in plots:
            lines += ["", f"![{env_id}]({plots[env_id]})"]
        lines.append("")
    if missing:
        lines += ["## Not yet available", "", "No results for these families: " + ", ".join(missing) + ".", ""]
    (out / "report.md").write_text("\n".join(lines))
