"""Named suites (`aligngym run quick|full`; `make demo` is `aligngym run quick`): every registered id with its
baselines. The unit of work is a `Job` (env id, agent spec, episodes, seeds), run on the local, process-pool or Ray
backend with identical records. Writes one RunRecord per job, `results.json`, a Markdown report with plots, and
prints a table. A job that fails is reported as failed (with its error) and the rest still run; the exit code says
so. An interrupted suite resumes with `resume=True` (`--resume`)."""
from __future__ import annotations

import json
import os
import re
import traceback
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
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
    "AlignGym/ShoppingAssistant-v0": Quick(_SHOPPING_SCRIPTED, episodes=200),
    "AlignGym/ShoppingText-v0": Quick(("random", "shopping.llm?llm=local&temperature=0.2"), episodes=8),
    # --- faking ---
    # --- rapl ---
    **{f"AlignGym/SweepToTop-{e}-v0": Quick(("random", "rapl.sweeper", "rapl.sweeper?gather=1"), episodes=5)
       for e in ("Gripper", "Shortstick", "Mediumstick", "Longstick")},
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


@dataclass(frozen=True)
class Job:
    """The unit of work of a suite: one agent spec on one env id for seeded episodes, written to one RunRecord."""

    env_id: str
    agent: str
    episodes: int
    seeds: tuple[int, ...] = (0,)
    num_envs: int = 1

    @property
    def slug(self) -> str:
        return f"{_slug(self.env_id)}__{_slug(self.agent)}"

    @property
    def needs_llm(self) -> bool:
        """Jobs whose agent loads a language model stay in the process that holds it (one copy of the weights)."""
        return "llm" in self.agent


def quick_jobs(families: list[str] | None = None, episodes: int | None = None) -> list[Job]:
    """`quick`: every registered id with its baselines on small budgets, evaluation seed 0."""
    rows = [r for r in registry.ROWS if r.id in QUICK and (not families or r.family in families)]
    return [Job(r.id, spec, episodes or QUICK[r.id].episodes) for r in rows for spec in QUICK[r.id].baselines]


FULL_SEEDS = (0, 1, 2, 3, 4)  # five evaluation seeds: enough for a verdict with CIs
FULL_EPISODE_FACTOR = 4       # each seed runs 4x the quick episode count


def full_jobs(families: list[str] | None = None, episodes: int | None = None) -> list[Job]:
    """`full`: the quick jobs at 5 evaluation seeds and 4x the episodes per seed (the families' paper-design
    drivers, `aligngym <family> …`, state their own budgets)."""
    return [Job(j.env_id, j.agent, episodes or j.episodes * FULL_EPISODE_FACTOR, FULL_SEEDS)
            for j in quick_jobs(families)]


SUITES = {"quick": quick_jobs, "full": full_jobs}
BACKENDS = ("local", "process", "ray")


def suite_jobs(suite: str, families: list[str] | None = None, episodes: int | None = None) -> list[Job]:
    if suite not in SUITES:
        raise ValueError(f"Unknown suite {suite!r}; suites: {', '.join(SUITES)}.")
    unknown = sorted(set(families or []) - set(registry.FAMILIES))
    if unknown:
        raise ValueError(f"Unknown family {', '.join(unknown)}; families: {', '.join(registry.FAMILIES)}.")
    if episodes is not None and (not isinstance(episodes, int) or episodes < 1):
        raise ValueError(f"episodes must be >= 1, got {episodes!r}.")
    return SUITES[suite](families, episodes)


def run_job(job: Job, records: Path, resume: bool) -> dict:
    """One job, in whatever process runs it; a failure comes back as an entry with its error, never raised."""
    path = Path(records) / f"{job.slug}.json"
    entry = {"env_id": job.env_id, "family": registry.row(job.env_id).family, "agent": job.agent,
             "record": str(path)}
    try:
        record = evaluate(job.env_id, job.agent, episodes=job.episodes, seeds=job.seeds, num_envs=job.num_envs,
                          out=path, overwrite=not resume)
        entry["aggregates"] = record.aggregates
        entry["duration_s"] = round(record.duration_s, 2)
    except Exception as e:  # one broken job must not hide the others' results
        entry["error"] = f"{type(e).__name__}: {e}"
        (Path(records) / f"{job.slug}.error.txt").write_text(traceback.format_exc())
    return entry


def run_jobs(jobs: list[Job], records: Path, backend: str = "local", resume: bool = False,
             address: str | None = None, console: Console | None = None) -> list[dict]:
    """Runs the jobs on a backend and returns their entries in job order. `local`: one after another in this
    process; `process`: a pool of worker processes (one per core); `ray`: Ray tasks (`ray.init()` locally, or
    `address` to join a cluster). Jobs that load a language model run in this process on every backend."""
    if backend not in BACKENDS:
        raise ValueError(f"Unknown backend {backend!r}; backends: {', '.join(BACKENDS)}.")
    console = console or Console()
    records = Path(records)
    records.mkdir(parents=True, exist_ok=True)
    entries: dict[int, dict] = {}
    remote = [i for i, j in enumerate(jobs) if backend != "local" and not j.needs_llm]
    here = [i for i in range(len(jobs)) if i not in remote]
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[state]}"),
                  TimeElapsedColumn(), console=console, transient=False) as bar:
        task = bar.add_task(f"suite ({backend})", total=len(jobs), state="")

        def finished(i: int, entry: dict) -> None:
            entries[i] = entry
            failed = sum("error" in e for e in entries.values())
            running = 0 if backend == "local" else min(len(remote) - sum(k in entries for k in remote), os.cpu_count() or 1)
            bar.update(task, advance=1, state=f"{len(entries)} done, {running} running, {failed} failed")
            if "error" in entry:
                console.print(f"[red]failed:[/] {entry['env_id']} · {entry['agent']}: {entry['error']}")

        if remote:
            for i, entry in _run_remote([jobs[i] for i in remote], remote, records, resume, backend, address):
                finished(i, entry)
        for i in here:
            finished(i, run_job(jobs[i], records, resume))
    return [entries[i] for i in range(len(jobs))]


def _run_remote(jobs, indices, records, resume, backend, address):
    """Yields (job index, entry) as the workers finish."""
    if backend == "process":
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            futures = {pool.submit(run_job, job, records, resume): i for job, i in zip(jobs, indices)}
            for future in as_completed(futures):
                yield futures[future], future.result()
        return
    try:
        import ray
    except ImportError:
        raise ValueError("The ray backend needs Ray: pip install 'aligngym[ray]'.") from None
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    task = ray.remote(run_job)
    pending = {task.remote(job, str(records), resume): i for job, i in zip(jobs, indices)}
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        yield pending.pop(done[0]), ray.get(done[0])


def run_suite(out: Path, suite: str = "quick", families: list[str] | None = None, episodes: int | None = None,
              backend: str = "local", resume: bool = False, address: str | None = None,
              console: Console | None = None) -> list[dict]:
    """Runs a named suite: RunRecords in `out/records`, `results.json`, a Markdown report with plots, a table.
    With `resume`, finished records of the same jobs are kept and unfinished ones resume from their journals."""
    console = console or Console()
    jobs = suite_jobs(suite, families, episodes)
    if backend not in BACKENDS:
        raise ValueError(f"Unknown backend {backend!r}; backends: {', '.join(BACKENDS)}.")
    out = Path(out)
    results = run_jobs(jobs, out / "records", backend, resume, address, console)
    wanted = families or list(registry.FAMILIES)
    rows = [r for r in registry.ROWS if r.id in {j.env_id for j in jobs}]
    missing = [f for f in wanted if not any(r.family == f for r in registry.ROWS)]
    (out / "results.json").write_text(json.dumps({"suite": suite, "backend": backend, "results": results,
                                                  "families_not_available": missing}, indent=2,
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
