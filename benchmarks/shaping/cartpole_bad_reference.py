"""CartPole at the authors' own bad heuristic (`heuristic=bad_reference`: -5 when the action matches the good
controller, +1 otherwise), a standalone diagnosis beside the table (issue 17, audit defect 1): primary-only, the
naive sum and BARFI with the table's CartPole budget and learner settings (`here`: 5 seeds x 1000 episodes in
batches of 16, REINFORCE inside, BARFI with the `authors_cartpole` outer loop, phi started where the authors'
code starts it). It reports the final primary return (last fifth of training) with 95% bootstrap CIs, the paired
verdict against primary-only, and BARFI's phi1 (where the heuristic pays), phi2 and discount over training.

    python -m aligngym.benchmarks.shaping.cartpole_bad_reference --out benchmarks/results   (~30 min on 2 free cores)

Writes shaping_cartpole_bad_reference.{json,md,png}. The table itself keeps the `bad` heuristic.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from aligngym.benchmarks.shaping.scoring import learning_curves
from aligngym.benchmarks.shaping.table import BUDGETS
from aligngym.benchmarks.stats import format_cell

ENV = "AlignGym/ShapingCartPole-v1"
HEURISTIC = "bad_reference"
METHODS = ("reinforce/primary", "reinforce/naive", "reinforce/barfi")
PARAMS = (("phi1_where_aux", 2), ("phi2", 2), ("gamma", 3))


def diagnose(workers: int = 2, seeds: int = 5) -> dict:
    budget = BUDGETS["here"]["CartPole"]
    return learning_curves(ENV, METHODS, (HEURISTIC,), range(seeds), budget.episodes, budget.num_envs,
                           env_kwargs=budget.env_kwargs, workers=workers, args=budget.args, progress=True)


def markdown(results: dict) -> str:
    runs, verdicts = results["heuristics"][HEURISTIC], results["verdict"][HEURISTIC]
    lines = [f"CartPole, heuristic `{HEURISTIC}`, {len(results['seeds'])} seeds x {results['episodes']} episodes "
             f"(batches of {results['num_envs']}), learner args {results['args']}", "",
             "| method | final: last fifth | AUC | final minus primary-only (paired, t 95%) | verdict |",
             "|---|---|---|---|---|"]
    for m, x in runs.items():
        v = verdicts.get(m, {}).get("final")
        diff = f"{v['difference']:+.1f} [{v['ci_low']:+.1f}, {v['ci_high']:+.1f}]" if v else ""
        lines.append(f"| {m.split('/')[1]} | {format_cell(x['final'], '.1f')} | {format_cell(x['auc'], '.1f')} | "
                     f"{diff} | {v['outcome'] if v else ''} |")
    barfi = runs["reinforce/barfi"]
    curve, episodes = barfi["reward_params_curve"], barfi["episodes"]
    lines += ["", "BARFI's learned reward over training (mean over seeds; per-seed values at the end):", "",
              "| episodes | " + " | ".join(k for k, _ in PARAMS) + " |", "|---|" + "---|" * len(PARAMS)]
    for i in sorted({0, *np.linspace(0, len(episodes) - 1, 6).astype(int)}):
        lines.append(f"| {episodes[i]} | " + " | ".join(f"{curve[k][i]:.{d}f}" if curve[k][i] is not None else "-"
                                                         for k, d in PARAMS) + " |")
    lines.append("| end, per seed | " + " | ".join(
        ", ".join(f"{v:.{d}f}" if v is not None else "-" for v in barfi["reward_params"][k]["per_seed"])
        for k, d in PARAMS) + " |")
    return "\n".join(lines) + "\n"


def plot(results: dict, path: Path) -> Path:
    """Primary return over training per method, and BARFI's phi1 / phi2 over training."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = results["heuristics"][HEURISTIC]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
    for m, x in runs.items():
        left.plot(x["episodes"], x["mean"], label=m.split("/")[1])
        left.fill_between(x["episodes"], x["ci_low"], x["ci_high"], alpha=0.2)
    barfi = runs["reinforce/barfi"]
    for k, _ in PARAMS[:2]:
        right.plot(barfi["episodes"], barfi["reward_params_curve"][k], label=k)
    n = len(results["seeds"])
    left.set(xlabel="training episodes", ylabel=f"primary return (mean, 95% CI, {n} seeds)",
             title=f"CartPole, heuristic {HEURISTIC}")
    right.axhline(0, color="grey", lw=0.8)
    right.set(xlabel="training episodes", ylabel=f"mean over {n} seeds", title="BARFI's learned reward weights")
    left.legend()
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("reports/shaping"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=5)
    parsed = parser.parse_args()
    parsed.out.mkdir(parents=True, exist_ok=True)
    results = diagnose(parsed.workers, parsed.seeds)
    (parsed.out / "shaping_cartpole_bad_reference.json").write_text(json.dumps(results, indent=1))
    (parsed.out / "shaping_cartpole_bad_reference.md").write_text(markdown(results))
    plot(results, parsed.out / "shaping_cartpole_bad_reference.png")
    print(markdown(results))
