"""`aligngym progress ...`: run one episode to a trace, plot a trace or a RunRecord, rebuild the results table.
Command wiring only; the drivers live in `aligngym.benchmarks.progress`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from aligngym.cli.common import fail, parse_kv

app = typer.Typer(no_args_is_help=True, help="ProgressGym-style value tracking: traces, plots, the results table.")


def _message(e: Exception) -> str:
    return str(e.args[0]) if e.args else str(e)


@app.command("run")
def run_cmd(env_id: str = typer.Argument("AlignGym/ProgressFollow-v1", help="A progress env id."),
            agent: str = typer.Option("progress.lifelong", help="Agent spec."),
            seed: int = typer.Option(0, help="Episode seed."),
            env_kwarg: List[str] = typer.Option([], "--env-kwarg", "-k", help="KEY=VALUE passed to the env."),
            out: Path = typer.Option(Path("reports/progress/trace.json"), help="Trace JSON to write.")):
    """Run one episode and write its trace (human and agent trajectories, per-step similarity)."""
    from aligngym.benchmarks.progress.trace import run_episode

    try:
        trace = run_episode(env_id, agent, parse_kv(env_kwarg), seed=seed)
    except (KeyError, ValueError) as e:
        fail(_message(e))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(trace))
    typer.echo(f"{trace['env_id']} {agent}: " + ", ".join(f"{k} {v:.4f}" for k, v in trace["metrics"].items()))
    typer.echo(f"trace written to {out}")


@app.command("plot")
def plot_cmd(record: Path = typer.Argument(..., help="A trace from `aligngym progress run`, or a RunRecord JSON "
                                                     "(its first episode is replayed)."),
             out: Optional[Path] = typer.Option(None, help="PNG to write (default: RECORD with .png).")):
    """Plot the human trajectory, the agent's trajectory and the per-step similarity to a PNG."""
    from aligngym.benchmarks.progress.trace import load_trace, plot_trace

    try:
        trace = load_trace(record)
    except (OSError, KeyError, ValueError) as e:
        fail(_message(e))
    path = plot_trace(trace, out or record.with_suffix(".png"))
    typer.echo(f"plot written to {path}")


@app.command("export")
def export_cmd(trace_path: Path = typer.Argument(..., help="A trace from `aligngym progress run`."),
               out: Optional[Path] = typer.Option(None, help="JSON to write (default: TRACE with .progressgym.json).")):
    """Write one episode in ProgressGym's leaderboard format (examinee/actual or simulated/actual vectors, score)."""
    from aligngym.benchmarks.progress.export import to_progressgym
    from aligngym.benchmarks.progress.trace import load_trace

    try:
        result = to_progressgym(load_trace(trace_path))
    except (OSError, KeyError, ValueError) as e:
        fail(_message(e))
    path = out or trace_path.with_suffix(".progressgym.json")
    path.write_text(json.dumps(result))
    typer.echo(f"ProgressGym score {result['score']:.4f}; written to {path}")


@app.command("table")
def table_cmd(episodes: int = typer.Option(100, help="Episodes per numeric baseline and evaluation seed."),
              seeds: int = typer.Option(5, help="Evaluation seeds (0..SEEDS-1) per numeric baseline."),
              ppo_budget: int = typer.Option(20_000, help="PPO training steps (0 leaves PPO out)."),
              llm: Optional[str] = typer.Option(None, help="Also run the LLM examinee on the questionnaire faces "
                                                           "with this backend spec (e.g. local)."),
              llm_episodes: int = typer.Option(1, help="Episodes per questionnaire face for the LLM."),
              out: Path = typer.Option(Path("reports/progress"), help="Folder for table.md, table.json, table.png.")):
    """Rerun every baseline on all three challenges (evaluation split) and print the results tables (Markdown)."""
    from aligngym.benchmarks.progress.table import markdown, plot, results_table

    if episodes < 1 or seeds < 1 or ppo_budget < 0:
        fail("episodes and seeds must be >= 1 and ppo-budget >= 0.")
    rows = results_table(episodes, seeds, ppo_budget, llm, llm_episodes)
    text = markdown(rows)
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(text + "\n")
    (out / "table.json").write_text(json.dumps(rows, indent=2, default=str))
    plot(rows, out / "table.png")
    typer.echo(text)
    typer.echo(f"written to {out / 'table.md'}, {out / 'table.json'} and {out / 'table.png'}")
