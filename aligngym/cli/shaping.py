"""`aligngym shaping ...`: learning curves of the shaping methods (BARFI and its baselines)."""
from __future__ import annotations

from pathlib import Path
from typing import List

import typer

from aligngym.cli.common import console, fail, parse_kv

app = typer.Typer(help="Bi-level reward shaping (BARFI): learning curves with good and misleading heuristics.",
                  no_args_is_help=True)


@app.callback()
def shaping() -> None:
    """Bi-level reward shaping (BARFI): learning curves with good and misleading heuristics."""


@app.command("curves")
def curves(env: str = typer.Option("AlignGym/ShapingGridWorld-v1", help="A shaping id (Box: Gaussian policy)."),
           method: List[str] = typer.Option(list(("reinforce/primary", "reinforce/naive", "reinforce/pbrs",
                                                  "reinforce/barfi")), "--method",
                                            help="ALGO/MODE[:VARIANT], repeat for several."),
           heuristic: List[str] = typer.Option(["good", "bad"], "--heuristic", help="Repeat for several."),
           seeds: int = typer.Option(5, help="Seeds 0..N-1 per method and heuristic."),
           episodes: int = typer.Option(1500, help="Training episodes per run."),
           num_envs: int = typer.Option(64, help="Episodes per batch (vectorised)."),
           workers: int = typer.Option(1, help="Parallel training processes."),
           env_kwarg: List[str] = typer.Option([], "--env-kwarg", help="KEY=VALUE passed to the env (repeat), "
                                               "e.g. horizon=500."),
           out: Path = typer.Option(Path("reports/shaping"), help="Folder for the JSON and the PNGs.")):
    """Train every method on every heuristic over several seeds; plot primary return vs episodes; write JSON."""
    from aligngym.benchmarks.shaping.scoring import learning_curves, plot, save, table

    for name, value in (("--seeds", seeds), ("--episodes", episodes), ("--num-envs", num_envs), ("--workers", workers)):
        if value < 1:
            fail(f"{name} must be >= 1, got {value}.")
    try:
        results = learning_curves(env, tuple(method), tuple(heuristic), range(seeds), episodes, num_envs,
                                  env_kwargs=parse_kv(env_kwarg), workers=workers, progress=True)
    except (ValueError, KeyError) as e:
        fail(str(e.args[0]) if e.args else str(e))
    name = env.split("/")[-1]
    json_path = save(results, out / f"shaping_curves_{name}.json")
    pngs = plot(results, out)
    console.print(table(results))
    console.print(f"wrote {json_path} and {', '.join(map(str, pngs))}")


@app.command("ppo")
def ppo(env: str = typer.Option("AlignGym/ShapingGridWorld-v1", help="A shaping id."),
        heuristic: List[str] = typer.Option(["bad", "good"], "--heuristic", help="Repeat for several."),
        seeds: int = typer.Option(3, help="Seeds 0..N-1 per setting."),
        budget: int = typer.Option(24576, help="The learner's env steps per run."),
        algo: str = typer.Option("ppo", help="The SB3 learner inside: ppo, sac (Box actions) or dqn (Discrete)."),
        env_kwarg: List[str] = typer.Option([], "--env-kwarg", help="KEY=VALUE passed to the env (repeat)."),
        out: Path = typer.Option(Path("reports/shaping"), help="Folder for the JSON.")):
    """An SB3 learner (PPO by default) inside: primary only, naive sum and BARFI's first-order outer loop,
    measured alike (mean primary return of fresh sampled episodes after each phase)."""
    from aligngym.benchmarks.shaping.scoring import sb3_comparison, save

    try:
        results = sb3_comparison(env, tuple(heuristic), range(seeds), budget, parse_kv(env_kwarg), console.print,
                                 algo)
    except (ValueError, KeyError) as e:
        fail(str(e.args[0]) if e.args else str(e))
    name = env.split("/")[-1]
    console.print(f"wrote {save(results, out / f'shaping_{algo}_{name}.json')}")
