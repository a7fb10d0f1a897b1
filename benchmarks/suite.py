"""Named suites (`aligngym run quick|full`; `make demo` is `aligngym run quick`): every registered id with its
baselines. The unit of work is a `Job` (env id, agent spec, episodes, seeds), run on the local, process-pool or Ray
backend with identical records. Writes one RunRecord per job, `results.json`, a Markdown report with plots, and
prints a table. A job that fails is reported as failed (with its error) and the rest still run; the exit code says
so. An interrupted suite resumes with `resume=True` (`--resume`)."""
from __future__ import annotations

import html
import json
import os
import re
import traceback
from dataclasses import dataclass, replace
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from aligngym.benchmarks.harness import evaluate
from aligngym.benchmarks.record import RunRecord
from aligngym.benchmarks.stats import format_cell
from aligngym.envs import registry


@dataclass(frozen=True)
class Quick:
    """What the quick suite runs on one id: these agent specs, `episodes` episodes each, evaluation seed 0, in
    batches of `num_envs` (an LLM agent answers a whole batch of prompts in one backend call)."""

    baselines: tuple[str, ...]
    episodes: int = 10
    num_envs: int = 1


_PROGRESS_NUMERIC = Quick(("random", "progress.static", "progress.lifelong", "progress.extrapolative1",
                           "progress.extrapolative2"), episodes=50)
_PROGRESS_TEXT = Quick(("progress.random_answer", "progress.first_option"), episodes=2)
_SHOPPING_SCRIPTED = ("random", "shopping.loyal_customer", "shopping.loyal_company", "shopping.disclosure_sensitive")

# The quick suite's table: registry id -> Quick. Families add their ids in their own section.
QUICK: dict[str, Quick] = {
    # --- progress ---
    "AlignGym/ProgressFollow-v1": _PROGRESS_NUMERIC,
    "AlignGym/ProgressFollowText-v1": _PROGRESS_TEXT,
    "AlignGym/ProgressPredict-v1": _PROGRESS_NUMERIC,
    "AlignGym/ProgressPredictText-v1": _PROGRESS_TEXT,
    "AlignGym/ProgressCoevolve-v1": _PROGRESS_NUMERIC,
    "AlignGym/ProgressCoevolveText-v1": _PROGRESS_TEXT,
    # --- shopping ---
    "AlignGym/Shopping-v0": Quick(_SHOPPING_SCRIPTED, episodes=50),
    "AlignGym/Shopping-v1": Quick(("random", "shopping.equilibrium"), episodes=50),
    # random text never parses (a plain purchase each move); "Choice: 1" is a content-free constant player
    "AlignGym/ShoppingGameText-v1": Quick(("random", "shopping.game_llm?llm=local&temperature=0.2",
                                           "shopping.game_llm?llm=scripted:Choice: 1"), episodes=2),
    "AlignGym/ShoppingAssistant-v0": Quick(_SHOPPING_SCRIPTED, episodes=200),
    "AlignGym/ShoppingText-v0": Quick(("random", "shopping.llm?llm=local&temperature=0.2"), episodes=8, num_envs=8),
    "AlignGym/ShoppingText-v1": Quick(("random", "shopping.llm?llm=local&temperature=0.2"), episodes=8, num_envs=8),
    # --- faking ---
    "AlignGym/FakingIncentive-v0": Quick(("random", "faking.always_refuse", "faking.always_comply", "faking.faker",
                                          "faking.optimal"), episodes=200),
    "AlignGym/FakingText-v0": Quick(("random", "faking.honest_text", "faking.faker_text"), episodes=40),
    "AlignGym/FakingMinimal-v0": Quick(("random", "faking.honest_text", "faking.faker_text"), episodes=40),
    # --- rapl ---
    **{f"AlignGym/SweepToTop-{e}-v0": Quick(("random", "rapl.sweeper", "rapl.sweeper?gather=1"), episodes=5)
       for e in ("Gripper", "Shortstick", "Mediumstick", "Longstick")},
    # rapl part 2 (MuJoCo): state observations, so a random episode costs ~0.1 s
    "AlignGym/RaplFrankaGroup-v0": Quick(("random",), episodes=10),
    "AlignGym/RaplFrankaClutter-v0": Quick(("random",), episodes=10),
    "AlignGym/RaplFetchGroup-v0": Quick(("random",), episodes=10),
    # --- shaping ---
    "AlignGym/ShapingGridWorld-v1": Quick(("random", "shaping.reinforce?mode=primary&budget=3000",
                                           "shaping.reinforce?mode=naive&budget=3000", "shaping.barfi?budget=3000"),
                                          episodes=20),
    "AlignGym/ShapingMountainCar-v1": Quick(("random", "shaping.heuristic")),
    "AlignGym/ShapingCartPole-v1": Quick(("random", "shaping.heuristic?controller=good",
                                          "shaping.heuristic?controller=weak")),
    "AlignGym/ShapingHalfCheetah-v1": Quick(("random",), episodes=2),
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
        """Jobs whose agent loads a language model stay in the process that holds it (one copy of the weights),
        unless the suite is given an endpoint that serves the model (`llm_url`). Decided by the kind of the agent's
        `llm` kwarg (or, without one, its factory's default): local, hf and path load weights here; scripted,
        openai and inspect do not."""
        if "llm" not in self.agent:  # no LLM named anywhere: nothing to resolve
            return False
        import inspect

        from aligngym.agents.spec import parse, resolve
        from aligngym.llm.spec import parse_spec

        llm = parse(self.agent)[1].get("llm")
        try:
            if llm is None:
                param = inspect.signature(resolve(self.agent)[0]).parameters.get("llm")
                llm = None if param is None else param.default
            return isinstance(llm, str) and parse_spec(llm).kind in ("local", "hf", "path")
        except ValueError:  # an unknown agent or LLM spec: the job itself reports it
            return False

    def through(self, llm_url: str) -> "Job":
        """The job with its local model replaced by the same model behind an OpenAI-compatible endpoint
        (`aligngym llm serve`, or vLLM serving the model as `local`)."""
        return replace(self, agent=self.agent.replace("llm=local", f"llm=openai:local@{llm_url}"))


def quick_jobs(families: list[str] | None = None, episodes: int | None = None) -> list[Job]:
    """`quick`: every registered id with its baselines on small budgets, evaluation seed 0."""
    rows = [r for r in registry.ROWS if r.id in QUICK and (not families or r.family in families)]
    jobs = []
    for r in rows:
        quick = QUICK[r.id]
        n = episodes or quick.episodes
        jobs += [Job(r.id, spec, n, num_envs=min(quick.num_envs, n)) for spec in quick.baselines]
    return jobs


FULL_SEEDS = (0, 1, 2, 3, 4)  # five evaluation seeds: enough for a verdict with CIs
FULL_EPISODE_FACTOR = 4       # each seed runs 4x the quick episode count


def full_jobs(families: list[str] | None = None, episodes: int | None = None) -> list[Job]:
    """`full`: the quick jobs at 5 evaluation seeds and 4x the episodes per seed (the families' paper-design
    drivers, `aligngym <family> …`, state their own budgets)."""
    return [Job(j.env_id, j.agent, episodes or j.episodes * FULL_EPISODE_FACTOR, FULL_SEEDS, j.num_envs)
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


def _entry(job: Job, records: Path) -> dict:
    return {"env_id": job.env_id, "family": registry.row(job.env_id).family, "agent": job.agent,
            "record": str(Path(records) / f"{job.slug}.json")}


def run_job(job: Job, records: Path, resume: bool) -> dict:
    """One job, in whatever process (or machine) runs it; a failure comes back as an entry with its error, never
    raised. The entry carries the record itself, so a driver on another machine can write it."""
    entry = _entry(job, records)
    try:
        Path(records).mkdir(parents=True, exist_ok=True)
        record = evaluate(job.env_id, job.agent, episodes=job.episodes, seeds=job.seeds, num_envs=job.num_envs,
                          out=entry["record"], overwrite=not resume)
        entry.update(aggregates=record.aggregates, duration_s=round(record.duration_s, 2), data=record.to_dict())
    except Exception as e:  # one broken job must not hide the others' results
        entry["error"] = f"{type(e).__name__}: {e}"
        entry["traceback"] = traceback.format_exc()
    return entry


def run_jobs(jobs: list[Job], records: Path, backend: str = "local", resume: bool = False,
             address: str | None = None, console: Console | None = None, llm_url: str | None = None) -> list[dict]:
    """Runs the jobs on a backend and returns their entries in job order. `local`: one after another in this
    process; `process`: a pool of worker processes (one per core); `ray`: Ray tasks (`ray.init()` locally, or
    `address` to join a cluster). Jobs that load a language model run in this process, unless `llm_url` names an
    OpenAI-compatible endpoint serving it: then they run on the workers against that endpoint."""
    if backend not in BACKENDS:
        raise ValueError(f"Unknown backend {backend!r}; backends: {', '.join(BACKENDS)}.")
    if llm_url:
        jobs = [j.through(llm_url) if j.needs_llm else j for j in jobs]
    console = console or Console()
    records = Path(records)
    records.mkdir(parents=True, exist_ok=True)
    entries: dict[int, dict] = {}
    remote = [i for i, j in enumerate(jobs) if backend != "local" and (llm_url or not j.needs_llm)]
    here = [i for i in range(len(jobs)) if i not in remote]
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[state]}"),
                  TimeElapsedColumn(), console=console, transient=False) as bar:
        task = bar.add_task(f"suite ({backend})", total=len(jobs), state="")

        def finished(i: int, entry: dict) -> None:
            data, trace = entry.pop("data", None), entry.pop("traceback", None)
            if data is not None and not Path(entry["record"]).exists():  # written on another machine
                RunRecord.from_dict(data).save(entry["record"])
            if trace is not None:
                (records / f"{jobs[i].slug}.error.txt").write_text(trace)
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
        yield from _run_pool(dict(zip(indices, jobs)), records, resume, os.cpu_count() or 1)
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
        i = pending.pop(done[0])
        yield i, _result(lambda: ray.get(done[0]), jobs[indices.index(i)], records)


def _run_pool(jobs: dict[int, Job], records: Path, resume: bool, workers: int):
    """A process pool over the jobs. A worker that dies (killed, out of memory) breaks the whole pool: the jobs it
    had not finished then run again, each in a pool of its own, so only the job that kills its worker fails."""
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    left = dict(jobs)
    try:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(run_job, job, records, resume): i for i, job in jobs.items()}
            for future in as_completed(futures):
                i = futures[future]
                entry = future.result()
                del left[i]
                yield i, entry
    except BrokenProcessPool:
        if len(jobs) == 1:
            (i, job), = jobs.items()
            yield i, {**_entry(job, records), "error": "worker failed: its process died (killed or out of memory)"}
            return
        for i, job in list(left.items()):
            yield from _run_pool({i: job}, records, resume, 1)


def _result(get, job: Job, records: Path) -> dict:
    """A Ray worker's entry; a worker that died (killed, out of memory) fails only its own job."""
    try:
        return get()
    except Exception as e:
        return {**_entry(job, records), "error": f"worker failed: {type(e).__name__}: {e}",
                "traceback": traceback.format_exc()}


def run_suite(out: Path, suite: str = "quick", families: list[str] | None = None, episodes: int | None = None,
              backend: str = "local", resume: bool = False, address: str | None = None,
              console: Console | None = None, llm_url: str | None = None) -> list[dict]:
    """Runs a named suite: RunRecords in `out/records`, `results.json`, a Markdown report with plots, a table.
    With `resume`, finished records of the same jobs are kept and unfinished ones resume from their journals."""
    console = console or Console()
    jobs = suite_jobs(suite, families, episodes)
    if backend not in BACKENDS:
        raise ValueError(f"Unknown backend {backend!r}; backends: {', '.join(BACKENDS)}.")
    out = Path(out)
    results = run_jobs(jobs, out / "records", backend, resume, address, console, llm_url)
    wanted = families or list(registry.FAMILIES)
    rows = [r for r in registry.ROWS if r.id in {j.env_id for j in jobs}]
    missing = [f for f in wanted if not any(r.family == f for r in registry.ROWS)]
    (out / "results.json").write_text(json.dumps({"suite": suite, "backend": backend, "results": results,
                                                  "families_not_available": missing}, indent=2,
                                                 default=lambda x: None))
    plots = _plot(results, rows, out)
    _write_report(results, rows, missing, plots, out, suite)
    _print_table(results, rows, missing, console)
    console.print(f"Report: {out / 'report.md'} and {out / 'report.html'}")
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


def _write_report(results, rows, missing, plots, out: Path, suite: str = "quick") -> None:
    """The report as Markdown (`report.md`) and as a static page (`report.html`, no external assets)."""
    by_id = {r.id: r for r in rows}
    md = [f"# AlignGym {suite} suite", "",
          "Every registered id with its baselines. Cells are mean [95% bootstrap CI]; records are in `records/`.", ""]
    page = [f"<!doctype html><meta charset='utf-8'><title>AlignGym {suite} suite</title>",
            "<style>body{font-family:sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}"
            ".failed{color:#b00}</style>", f"<h1>AlignGym {suite} suite</h1>",
            "<p>Cells are mean [95% bootstrap CI]; the first metric is the env's primary metric.</p>"]
    for env_id in dict.fromkeys(e["env_id"] for e in results):
        row = by_id[env_id]
        metrics = _headline(row)
        arrows = [next((m.arrow for m in row.metrics if m.name == name), "") for name in metrics]
        md += [f"## {env_id}", "", row.description, "",
               "| agent | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
        page += [f"<h2>{html.escape(env_id)}</h2><p>{html.escape(row.description)}</p><table><tr><th>agent</th>"
                 + "".join(f"<th>{html.escape(m + a)}</th>" for m, a in zip(metrics, arrows)) + "</tr>"]
        for e in (e for e in results if e["env_id"] == env_id):
            if "error" in e:
                md.append(f"| `{e['agent']}` | failed: {e['error']} |" + " |" * (len(metrics) - 1))
                page.append(f"<tr><td>{html.escape(e['agent'])}</td><td class='failed' colspan='{len(metrics)}'>"
                            f"failed: {html.escape(e['error'])}</td></tr>")
                continue
            cells = [_cell(e, m) for m in metrics]
            md.append(f"| `{e['agent']}` | " + " | ".join(cells) + " |")
            page.append(f"<tr><td>{html.escape(e['agent'])}</td>" + "".join(f"<td>{html.escape(c)}</td>"
                                                                           for c in cells) + "</tr>")
        page.append("</table>")
        if env_id in plots:
            md += ["", f"![{env_id}]({plots[env_id]})"]
            page.append(f"<p><img src='{html.escape(plots[env_id])}' alt='{html.escape(env_id)}'></p>")
        md.append("")
    if missing:
        md += ["## Not yet available", "", "No results for these families: " + ", ".join(missing) + ".", ""]
    (out / "report.md").write_text("\n".join(md))
    (out / "report.html").write_text("\n".join(page) + "\n")
