"""The authors' reward_L2 penalty on BARFI's phi (issue 17), measured where BARFI is not robust: CartPole with the
bad heuristic (phi1 overshoots to about -1 and the final return stays below primary-only) and MountainCar with the
bad heuristic at horizon 2000 (BARFI = naive = 0 while primary-only reaches the goal). Each variant is BARFI with
REINFORCE inside at the table's `here` budget (5 seeds, batches of 16 episodes; CartPole 1000 episodes, MountainCar
500), with `Args.reward_l2` and `Args.reward_l2_anchor` (once also the outer step size) set; it is compared, seed by
seed, with primary-only and BARFI without the penalty from the same budget's table
(benchmarks/results/shaping_table_<env>.json, same seeds).

    python -m aligngym.benchmarks.shaping.reward_l2 --out benchmarks/results [--variants NAME ...]

Writes shaping_reward_l2.json (each variant's learning_curves result, merged into what is there), .md (the table)
and .png (primary return and phi1 over training). docs/shaping.md reads the numbers.

Archived: measured against the table as it was then (BARFI with our default outer loop) and on MountainCar's
former bad heuristic, which is now `heuristic="mirror"`; the table's MountainCar `bad` is now the valley bonus and
its BARFI rows run the authors' outer loop, so a rerun compares against other baselines and is not a reproduction.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from aligngym.benchmarks.shaping.scoring import learning_curves
from aligngym.benchmarks.stats import bootstrap_ci, format_cell

ENVS = {"CartPole": ("AlignGym/ShapingCartPole-v1", {}, 1000),
        "MountainCar": ("AlignGym/ShapingMountainCar-v1", {"horizon": 2000}, 500)}
# name -> (env, Args overrides); the authors sweep reward_L2 0.25-16 on CartPole and use 0 or 0.25 on MountainCar,
# where their outer step size (reward_lr) is 0.016 or 0.0625 with an outer step every 3 episodes (ours: every 16)
VARIANTS = {
    "CartPole, L2 1 to zero": ("CartPole", {"reward_l2": 1.0, "reward_l2_anchor": "zero"}),
    "CartPole, L2 4 to zero": ("CartPole", {"reward_l2": 4.0, "reward_l2_anchor": "zero"}),
    "CartPole, L2 1 to start": ("CartPole", {"reward_l2": 1.0, "reward_l2_anchor": "start"}),
    "MountainCar, L2 0.25 to zero": ("MountainCar", {"reward_l2": 0.25, "reward_l2_anchor": "zero"}),
    "MountainCar, L2 0.25 to zero, outer lr 0.0625": ("MountainCar", {"reward_l2": 0.25, "reward_l2_anchor": "zero",
                                                                      "outer_lr": 0.0625}),
}
METHOD = "reinforce/barfi"


def run(name: str, workers: int = 2, seeds=range(5)) -> dict:
    env, args = VARIANTS[name]
    env_id, env_kwargs, episodes = ENVS[env]
    return learning_curves(env_id, (METHOD,), ("bad",), seeds, episodes, 16, env_kwargs=env_kwargs,
                           workers=workers, args=args, progress=True)


def markdown(results: dict, tables: Path) -> str:
    """Each variant beside the table's primary-only and unpenalised BARFI, with paired differences."""
    lines = [("| run | final primary return: last fifth | AUC | final minus primary-only (paired) | final minus "
              "BARFI without L2 (paired) | phi1 where aux / phi2 at the end |"), "|---|---|---|---|---|---|"]
    for env in ENVS:
        table = json.loads((tables / f"shaping_table_{env}.json").read_text())["heuristics"]["bad"]
        rows = [(f"{env}, primary-only (table)", table["reinforce/primary"]),
                (f"{env}, naive (table)", table["reinforce/naive"]),
                (f"{env}, BARFI without L2 (table)", table[METHOD])]
        rows += [(name, r["heuristics"]["bad"][METHOD]) for name, r in results.items() if VARIANTS[name][0] == env]
        seeding = json.loads((tables / f"shaping_table_{env}.json").read_text()).get("provenance", {}).get("seeding")
        stale = [name for name, r in results.items()
                 if VARIANTS[name][0] == env and r.get("provenance", {}).get("seeding") != seeding]
        if stale:  # paired differences need the same env seeds on both sides
            raise ValueError(f"{', '.join(stale)} used other env seeding than {tables}/shaping_table_{env}.json; "
                             "rerun them before comparing.")
        primary, unpenalised = (np.array(table[m]["final"]["per_seed"]) for m in ("reinforce/primary", METHOD))
        for name, x in rows:
            diffs = []
            for base in (primary, unpenalised):
                diff = np.array(x["final"]["per_seed"]) - base
                low, high = bootstrap_ci(diff)
                diffs.append(f"{diff.mean():+.2f} [{low:+.2f}, {high:+.2f}]")
            params = x.get("reward_params")
            learned = f"{params['phi1_where_aux']['mean']:.2f} / {params['phi2']['mean']:.2f}" if params else ""
            lines.append(f"| {name} | {format_cell(x['final'], '.2f')} | {format_cell(x['auc'], '.2f')} | "
                         f"{diffs[0]} | {diffs[1]} | {learned} |")
    return "\n".join(lines) + "\n"


def plot(results: dict, tables: Path, path: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(ENVS), figsize=(12, 7.5))
    for col, env in enumerate(ENVS):
        table = json.loads((tables / f"shaping_table_{env}.json").read_text())["heuristics"]["bad"]
        runs = [(f"{m.split('/')[1]} (table)", table[m]) for m in ("reinforce/primary", "reinforce/naive", METHOD)]
        runs += [(name.split(", ", 1)[1], r["heuristics"]["bad"][METHOD]) for name, r in results.items()
                 if VARIANTS[name][0] == env]
        for i, (label, x) in enumerate(runs):
            axes[0, col].plot(x["episodes"], x["mean"], label=label, color=f"C{i}")
            if "reward_params_curve" in x:
                axes[1, col].plot(x["episodes"], x["reward_params_curve"]["phi1_where_aux"], label=label,
                                  color=f"C{i}")
        axes[0, col].set(xlabel="training episodes", ylabel="primary return (mean over 5 seeds)",
                         title=f"{env}, bad heuristic")
        axes[1, col].axhline(0, color="grey", lw=0.8)
        axes[1, col].set(xlabel="training episodes", ylabel="BARFI phi1 where the heuristic pays")
        axes[0, col].legend(fontsize=7)
        axes[1, col].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("reports/shaping"))
    parser.add_argument("--tables", type=Path, default=Path("benchmarks/results"),
                        help="where shaping_table_<env>.json (the baselines) are")
    parser.add_argument("--variants", nargs="*", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--workers", type=int, default=2)
    parsed = parser.parse_args()
    parsed.out.mkdir(parents=True, exist_ok=True)
    path = parsed.out / "shaping_reward_l2.json"
    for name in parsed.variants:  # saved one variant at a time, re-read so that parallel runs can share `out`
        result = run(name, parsed.workers)
        results = json.loads(path.read_text()) if path.exists() else {}
        path.write_text(json.dumps({**results, name: result}, indent=1))
    results = json.loads(path.read_text()) if path.exists() else {}
    (parsed.out / "shaping_reward_l2.md").write_text(markdown(results, parsed.tables))
    plot(results, parsed.tables, parsed.out / "shaping_reward_l2.png")
    print(markdown(results, parsed.tables))
