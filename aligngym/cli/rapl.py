"""`aligngym rapl ...`: learn a visual reward from few preference queries (RAPL vs RLHF vs GT) and look at the
2D sweeping scenes."""
from __future__ import annotations

from pathlib import Path
from typing import List

import typer

from aligngym.cli.common import console, fail, parse_kv

app = typer.Typer(help="Visual rewards learned from few preference queries (RAPL, RLHF, GT) on robot tasks.",
                  no_args_is_help=True)


@app.callback()
def rapl() -> None:
    """Visual rewards learned from few preference queries (RAPL, RLHF, GT) on robot tasks."""


@app.command("curve")
def curve(preference: List[str] = typer.Option(["group"], "--preference", help="avoid or group (repeat for both)."),
          budget: List[int] = typer.Option([20, 40, 80], "--budget", help="Query budgets (repeat)."),
          seeds: int = typer.Option(3, help="Seeds 0..N-1."),
          env: str = typer.Option("AlignGym/SweepToTop-Gripper-v0", help="Where pool, demos and test videos come from."),
          cross_env: str = typer.Option("AlignGym/SweepToTop-Shortstick-v0", help="Another embodiment, scored too."),
          teacher: str = typer.Option("rapl", help="Simulated-user preset."),
          pool: int = typer.Option(60, help="Scripted videos in the pool (half as many random ones are added)."),
          test_videos: int = typer.Option(30, help="Held-out videos scored (the paper: 50)."),
          epochs: int = typer.Option(50, help="RAPL / RLHF epochs."),
          out: Path = typer.Option(Path("reports/rapl"), help="Folder for the JSON and the PNGs.")):
    """Spearman rho (within and across trajectories) of RAPL, RLHF, GT, the untuned encoder and TCC against the
    number of preference queries; writes bench_rapl_queries.json and rapl_queries_<preference>.png."""
    from aligngym.agents.rapl.teacher import PRESETS
    from aligngym.benchmarks.rapl.bench_rapl_queries import BenchArgs, main
    from aligngym.envs.rapl.sweep import PREFERENCES

    bad = sorted(set(preference) - set(PREFERENCES))
    if bad:
        fail(f"Unknown preference {', '.join(bad)}; allowed: {', '.join(PREFERENCES)}.")
    if teacher not in PRESETS:
        fail(f"Unknown teacher preset {teacher!r}; allowed: {', '.join(PRESETS)}.")
    if min(budget) < 1 or seeds < 1 or pool < 6 or test_videos < 2:
        fail("--budget and --seeds must be >= 1, --pool >= 6 and --test-videos >= 2.")
    args = BenchArgs(preferences=tuple(preference), seeds=tuple(range(seeds)), budgets=tuple(sorted(set(budget))),
                     train_env=env, cross_env=cross_env, teacher=teacher, pool_scripted=pool, pool_random=pool // 2,
                     test_videos=test_videos, cross_videos=test_videos, epochs=epochs)
    result = main(out, args=args)
    for pref, data in result["preferences"].items():
        rows = data["summary"]["rho_within"]
        console.print(f"[bold]{pref}[/] rho within (mean over {seeds} seeds): GT {rows['gt']['mean']:.2f}, "
                      f"untuned OT {rows['untuned_ot']['mean']:.2f}, TCC + OT {rows['tcc']['mean']:.2f}")
        for q in args.budgets:
            console.print(f"  {q:4d} queries: RAPL {rows['rapl'][q]['mean']:.2f}  RLHF {rows['rlhf'][q]['mean']:.2f}")
    console.print(f"Results: {out / 'bench_rapl_queries.json'} and {out}/rapl_queries_*.png")


@app.command("frames")
def frames(name: str = typer.Argument("SweepToTop-Gripper-Pixels-Allo-Demo-v0",
                                      help="An X-MAGICAL name or an AlignGym id."),
           steps: int = typer.Option(100, help="Steps of the scripted sweeper."),
           every: int = typer.Option(10, help="Keep every N-th frame."),
           seed: int = typer.Option(0),
           env_kwarg: List[str] = typer.Option([], "--env-kwarg", help="KEY=VALUE for the env, e.g. preference=avoid."),
           out: Path = typer.Option(Path("reports/rapl/frames.png"), help="PNG strip to write.")):
    """Save a strip of frames of the scripted sweeper (the envs render headless; there is no window mode)."""
    import numpy as np
    from matplotlib import image

    from aligngym.agents.rapl.scripted import sweeper
    from aligngym.envs.rapl import make

    try:
        env = make(name, render_mode="rgb_array", **parse_kv(env_kwarg))
    except (ValueError, KeyError, TypeError) as e:
        fail(str(e))
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    act = sweeper(env, rng)
    shots = [env.render()]
    for t in range(steps):
        obs, _, terminated, truncated, info = env.step(act(obs, rng))
        if (t + 1) % every == 0:
            shots.append(env.render())
        if terminated or truncated:
            break
    out.parent.mkdir(parents=True, exist_ok=True)
    image.imsave(out, np.concatenate(shots, axis=1))
    console.print(f"{len(shots)} frames -> {out}; episode metrics: {info.get('metrics', '(episode not over)')}")
