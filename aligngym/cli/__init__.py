"""The `aligngym` command line. Each family's commands are a module `aligngym/cli/<family>.py` defining a typer
app named `app`; it appears here as `aligngym <family> …`. Shared helpers are in `aligngym/cli/common.py`."""
from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

import aligngym
from aligngym.cli.common import console, fail, parse_kv
from aligngym.envs import registry

app = typer.Typer(add_completion=False, no_args_is_help=True, help="AlignGym: environments for AI-alignment research.")


@app.command("list")
def list_envs(family: Optional[str] = typer.Option(None, help="Only this family."),
              as_json: bool = typer.Option(False, "--json", help="Print the table as JSON."),
              markdown: bool = typer.Option(False, "--markdown", help="Print the table as Markdown (for the docs).")):
    """Every registered environment id: family, spaces, metrics."""
    import gymnasium as gym
    import pettingzoo

    if family is not None and family not in registry.FAMILIES:
        fail(f"Unknown family {family!r}; families: {', '.join(registry.FAMILIES)}.")
    rows = [r for r in registry.ROWS if family in (None, r.family)]
    if markdown:
        print("| id | family | primary metric | other metrics (↑ higher is better, ↓ lower) | description |\n"
              "|---|---|---|---|---|")
        for r in rows:
            primary = next(m for m in r.metrics if m.name == r.primary_metric)
            others = ", ".join(m.name + m.arrow for m in r.metrics if m is not primary)
            print(f"| `{r.id}` | {r.family} | {primary.name}{primary.arrow} | {others} | {r.description} |")
        return
    if as_json:
        print(json.dumps([{"id": r.id, "family": r.family, "description": r.description, "multi_agent": r.multi_agent,
                           "primary_metric": r.primary_metric, "metrics": [m.__dict__ for m in r.metrics]}
                          for r in rows], indent=2))
        return
    table = Table(title=f"AlignGym {aligngym.__version__}: {len(rows)} environments")
    for col in ("id", "family", "observation / action", "metrics (primary in bold)", "description"):
        table.add_column(col, overflow="fold")
    for r in rows:
        try:
            env = pettingzoo.make("parallel", r.id) if r.multi_agent else gym.make(r.id)
            if r.multi_agent:
                a = env.possible_agents[0]
                spaces = f"{len(env.possible_agents)} agents; {a}: {env.observation_space(a)} / {env.action_space(a)}"
            else:
                spaces = f"{env.observation_space} / {env.action_space}"
            env.close()
        except Exception as e:  # a listing never dies on one broken env
            spaces = f"(cannot build: {e})"
        metrics = ", ".join(f"[bold]{m.name}{m.arrow}[/]" if m.name == r.primary_metric else m.name + m.arrow
                            for m in r.metrics)
        table.add_row(r.id, r.family, spaces, metrics, r.description)
    console.print(table)
    missing = [f for f in registry.FAMILIES if not any(r.family == f for r in registry.ROWS)]
    if missing:
        console.print(f"Families not yet available: {', '.join(missing)}")


@app.command("agents")
def list_agents():
    """Registered baseline agent names (usable as `--agent NAME?key=value`)."""
    from aligngym.agents.spec import BASELINES

    table = Table(title="Baseline agents")
    table.add_column("name")
    table.add_column("factory")
    for name, path in sorted(BASELINES.items()):
        table.add_row(name, path)
    console.print(table)


@app.command("evaluate")
def evaluate_cmd(env_id: str = typer.Argument(..., help="e.g. AlignGym/ShapingGridWorld-v0"),
                 agent: List[str] = typer.Option(["random"], help="Agent spec: baseline name or module:factory, with "
                                                 "?k=v kwargs. For a PettingZoo env, repeat as NAME=SPEC per agent."),
                 episodes: int = typer.Option(10, help="Episodes per evaluation seed."),
                 seeds: List[int] = typer.Option([0], "--seeds", help="Evaluation seeds (repeat the flag)."),
                 num_envs: int = typer.Option(1, help="Vectorised envs (uses the native vector twin where registered)."),
                 env_kwarg: List[str] = typer.Option([], "--env-kwarg", "-k", help="KEY=VALUE passed to the env."),
                 out: Optional[Path] = typer.Option(None, help="RunRecord JSON to write. The same run resumes or is "
                                                     "returned as it is; another run's file is refused."),
                 resume: bool = typer.Option(False, "--resume", help="Accept the run in --out as this agent's even "
                                             "when its weights cannot be hashed (python: agents)."),
                 overwrite: bool = typer.Option(False, "--overwrite", help="Discard what --out holds and start fresh."),
                 ):
    """Score an agent on an env; prints the aggregates and writes a RunRecord."""
    from aligngym.benchmarks.harness import evaluate, print_record

    _import_from_cwd()
    try:
        record = evaluate(env_id, _agent_arg(agent), episodes=episodes, seeds=seeds, num_envs=num_envs,
                          env_kwargs=parse_kv(env_kwarg), out=out, progress=True, resume=resume, overwrite=overwrite)
    except (KeyError, ValueError, TypeError, OSError, ImportError) as e:
        fail(str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e))
    print_record(record, console)
    if out:
        console.print(f"RunRecord written to {out}")


def _import_from_cwd() -> None:
    """`--agent mymod:factory` finds `mymod.py` in the current directory, as `python -m` would."""
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())


def _agent_arg(specs: List[str]):
    """One spec, or NAME=SPEC pairs (PettingZoo envs) turned into a dict."""
    pairs = [s.split("=", 1) for s in specs if "=" in s.split("?", 1)[0] and ":" not in s.split("=", 1)[0]]
    if not pairs:
        if len(specs) > 1:
            fail("Give one --agent, or NAME=SPEC for each agent of a multi-agent env.")
        return specs[0]
    if len(pairs) != len(specs):
        fail("Mixing plain specs and NAME=SPEC pairs in --agent; use NAME=SPEC for every agent.")
    return dict(pairs)


@app.command("validate")
def validate_cmd(record: Path = typer.Argument(..., help="A RunRecord JSON file.")):
    """Check a RunRecord file against the published JSON Schema."""
    from aligngym.benchmarks.record import RunRecord

    try:
        r = RunRecord.load(record)
    except (ValueError, OSError) as e:
        fail(str(e))
    console.print(f"{record}: valid RunRecord for {r.env_id}, {len(r.episodes)} episodes.")


@app.command("run")
def run_cmd(suite: str = typer.Argument("quick", help="quick (every id, small budgets) or full (5 seeds, 4x episodes)."),
            out: Path = typer.Option(Path("reports/demo"), help="Folder for records and the report."),
            families: List[str] = typer.Option([], "--family", help="Only these families (repeat)."),
            episodes: Optional[int] = typer.Option(None, help="Override each job's episodes per seed."),
            backend: str = typer.Option("process", help="process (a pool, one worker per core), local (in this "
                                        "process) or ray (`pip install 'aligngym[ray]'`)."),
            address: Optional[str] = typer.Option(None, help="Ray cluster address to join (default: a local Ray)."),
            resume: bool = typer.Option(False, "--resume", help="Keep finished records of the same jobs and resume "
                                        "unfinished ones."),
            llm_url: Optional[str] = typer.Option(None, "--llm-url", help="An OpenAI-compatible endpoint serving the "
                                                  "local model as `local` (aligngym llm serve, vLLM): LLM jobs then "
                                                  "run on the workers against it.")):
    """Run a named suite: every family's baselines; RunRecords, a results table, plots and a report."""
    from aligngym.benchmarks.suite import run_suite

    try:
        results = run_suite(out, suite, families=families or None, episodes=episodes, backend=backend,
                            resume=resume, address=address, console=console, llm_url=llm_url)
    except ValueError as e:
        fail(str(e))
    _local_leaderboard()
    if any("error" in r for r in results):
        raise typer.Exit(1)


def _local_leaderboard() -> None:
    """Opens the local leaderboard (a new one starts with the shipped, verified baselines) and says where it is."""
    try:
        from aligngym.leaderboard.board import Board
    except ImportError:  # the leaderboard extra is not installed
        return
    board = Board.open()
    console.print(f"Local leaderboard: {board.count()} entries; `aligngym leaderboard show` or `aligngym leaderboard "
                  "serve` to see them, `aligngym leaderboard baselines` to rerun the baselines under its rules.")
    board.close()


@app.command("bench")
def bench_cmd(out: Path = typer.Option(Path("reports/bench"), help="Folder for the JSON results and report.md."),
              quick: bool = typer.Option(False, "--quick", help="Smaller sizes, for a smoke run."),
              only: List[str] = typer.Option([], "--only", help="Only benchmarks whose name contains this (repeat).")):
    """Run every throughput benchmark of every family; writes one JSON per benchmark and a Markdown report."""
    from aligngym.benchmarks.run_all import run_all

    summary = run_all(out, quick, only)
    failed = [name for name, result in summary.items() if "error" in result]
    console.print(f"{len(summary) - len(failed)}/{len(summary)} benchmarks ran; report: {out / 'report.md'}")
    if failed:
        fail(f"failed: {', '.join(failed)} (tracebacks in {out / 'summary.json'})")


def _add_commands(module_name: str, name: str) -> None:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name != module_name:
            raise
        return  # that family has no commands (yet)
    app.add_typer(module.app, name=name)


for _family in registry.FAMILIES:
    _add_commands(f"aligngym.cli.{_family}", _family)
_add_commands("aligngym.cli.llm", "llm")
_add_commands("aligngym.leaderboard.cli", "leaderboard")


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())
