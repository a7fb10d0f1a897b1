"""`aligngym shaping ...`: learning curves of the shaping methods (BARFI and its baselines)."""
from __future__ import annotations

from pathlib import Path
from typing import List

import numpy as np
import typer
from rich.table import Table

from aligngym.benchmarks.stats import format_cell
from aligngym.cli.common import console, fail, parse_kv

app = typer.Typer(help="Bi-level reward shaping (BARFI): learning curves with good and misleading heuristics.",
                  no_args_is_help=True)


@app.callback()
def shaping() -> None:
    """Bi-level reward shaping (BARFI): learning curves with good and misleading heuristics."""


@app.command("curves")
def curves(env: str = typer.Option("AlignGym/ShapingGridWorld-v0", help="A shaping id (Box: Gaussian policy)."),
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
    from aligngym.envs.shaping.scoring import learning_curves, plot, save

    try:
        results = learning_curves(env, tuple(method), tuple(heuristic), range(seeds), episodes, num_envs,
                                  env_kwargs=parse_kv(env_kwarg), workers=workers, progress=True)
    except (ValueError, KeyError) as e:
        fail(str(e.args[0]) if e.args else str(e))
    name = env.split("/")[-1]
    json_path = save(results, out / f"shaping_curves_{name}.json")
    pngs = plot(results, out)
    print_table(results)
    console.print(f"wrote {json_path} and {', '.join(map(str, pngs))}")


@app.command("ppo")
def ppo(env: str = typer.Option("AlignGym/ShapingGridWorld-v0", help="A shaping id."),
        heuristic: List[str] = typer.Option(["bad", "good"], "--heuristic", help="Repeat for several."),
        seeds: int = typer.Option(3, help="Seeds 0..N-1 per setting."),
        budget: int = typer.Option(24576, help="PPO env steps per run."),
        env_kwarg: List[str] = typer.Option([], "--env-kwarg", help="KEY=VALUE passed to the env (repeat)."),
        out: Path = typer.Option(Path("reports/shaping"), help="Folder for the JSON.")):
    """SB3 PPO as the inner learner: primary only, naive sum and BARFI's first-order outer loop, all run by
    `train_barfi_ppo` and measured alike (mean primary return of fresh sampled episodes after each phase)."""
    from aligngym.agents.shaping.barfi_ppo import OUTER_LR, train_barfi_ppo
    from aligngym.envs.shaping.scoring import save, summarise

    kwargs = parse_kv(env_kwarg)
    # primary only = no heuristic; naive = phi frozen at its start (1, 0) by a zero outer learning rate
    settings = [("none", "ppo/primary", 0.0)] + [(h, m, lr) for h in heuristic
                                                 for m, lr in (("ppo/naive", 0.0), ("ppo/barfi", OUTER_LR))]
    results = {"env_id": env, "budget": budget, "seeds": list(range(seeds)), "env_kwargs": kwargs, "runs": {}}
    for h, method, lr in settings:
        finals, phi1 = [], []
        for seed in range(seeds):
            r = train_barfi_ppo(env, {**kwargs, "heuristic": h}, budget, seed, outer_lr=lr)
            finals.append(np.mean(r.primary_return[-max(1, len(r.primary_return) // 5):]))
            phi1.append(r.reward_params[-1]["phi1_where_aux"])
        results["runs"][f"{h}:{method}"] = {"final": summarise(np.array(finals)), "phi1_where_aux": phi1,
                                            "curve_steps": r.steps}
        weights = f"  phi1 where aux != 0: {np.round(phi1, 2).tolist()}" if h != "none" else ""
        console.print(f"{h:5s} {method:12s} final primary return {_fmt(results['runs'][f'{h}:{method}']['final'])}"
                      + weights)
    name = env.split("/")[-1]
    console.print(f"wrote {save(results, out / f'shaping_ppo_{name}.json')}")


def print_table(results: dict) -> None:
    table = Table(title=f"{results['env_id']}: primary return, mean [95% CI] over {len(results['seeds'])} seeds")
    for col in ("heuristic", "method", "AUC: mean over training", "final: last fifth", "vs primary (auc/final)"):
        table.add_column(col, no_wrap=col == "method")
    for h, by_method in results["heuristics"].items():
        for m, r in by_method.items():
            v = results["verdict"].get(h, {}).get(m)
            versus = f"{v['auc']['outcome']} / {v['final']['outcome']}" if v else "(baseline)"
            table.add_row(h, m, _fmt(r["auc"]), _fmt(r["final"]), versus)
    console.print(table)


def _fmt(s: dict) -> str:
    return format_cell(s, ".1f")
