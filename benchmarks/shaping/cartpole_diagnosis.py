"""Why BARFI is not robust on CartPole with the bad heuristic (issue 17), measured: BARFI and the naive sum
under changes of the outer step size, of the inner learner's advantage normalisation and of the heuristic's
scale, 5 seeds x 1000 episodes in batches of 16 (the table's `here` budget), REINFORCE inside; the final primary
return (last fifth of training) with 95% bootstrap CIs, and BARFI's learned phi1, phi2 and discount at the end;
and BARFI at twice the budget (2000 episodes; compared with primary-only at 1000, where it has long converged).

    python -m aligngym.benchmarks.shaping.cartpole_diagnosis --out benchmarks/results   (~40 min on 2 free cores)

Writes shaping_cartpole_diagnosis.json (every variant's learning_curves result: curves, phi over training),
shaping_cartpole_diagnosis.md (the summary table) and shaping_cartpole_diagnosis.png (curves and phi1). docs/shaping.md reads the numbers.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from aligngym.benchmarks.shaping.scoring import learning_curves
from aligngym.benchmarks.stats import bootstrap_ci, format_cell

ENV = "AlignGym/ShapingCartPole-v1"
ALL = ("reinforce/primary", "reinforce/naive", "reinforce/barfi")
# name -> (methods, Args overrides, env kwargs, episodes)
VARIANTS = {
    "default (outer lr 0.02)": (ALL, {}, {}, 1000),
    "outer lr 0.004": (("reinforce/barfi",), {"outer_lr": 0.004}, {}, 1000),
    "outer lr 0.001": (("reinforce/barfi",), {"outer_lr": 0.001}, {}, 1000),
    "advantages not normalised": (ALL, {"normalise_advantages": False}, {}, 1000),
    "heuristic x 0.05": (("reinforce/naive",), {}, {"aux_scale": 0.05}, 1000),
    "2000 episodes": (("reinforce/barfi",), {}, {}, 2000),
}


def diagnose(workers: int = 2, seeds=range(5)) -> dict:
    return {name: learning_curves(ENV, methods, ("bad",), seeds, episodes, 16, env_kwargs=kwargs, workers=workers,
                                  args=args, progress=True)
            for name, (methods, args, kwargs, episodes) in VARIANTS.items()}


def markdown(results: dict) -> str:
    lines = ["| variant | method | final: last fifth | AUC | final minus default primary-only (paired) | BARFI phi1 / "
             "phi2 / gamma at the end |", "|---|---|---|---|---|---|"]
    baseline = results["default (outer lr 0.02)"]["heuristics"]["bad"]["reinforce/primary"]["final"]["per_seed"]
    for name, r in results.items():
        for m, x in r["heuristics"]["bad"].items():
            diff = np.array(x["final"]["per_seed"]) - np.array(baseline)
            low, high = bootstrap_ci(diff)
            params = x.get("reward_params")
            learned = (" / ".join(f"{params[k]['mean']:.{digits}f}" for k, digits in
                                  (("phi1_where_aux", 2), ("phi2", 2), ("gamma", 3))) if params else "")
            lines.append(f"| {name} | {m.split('/')[1]} | {format_cell(x['final'], '.1f')} | "
                         f"{format_cell(x['auc'], '.1f')} | {diff.mean():+.1f} [{low:+.1f}, {high:+.1f}] | {learned} |")
    return "\n".join(lines) + "\n"


def plot(results: dict, path: Path) -> Path:
    """Primary return over training (every run) and BARFI's phi1 where the heuristic pays (its runs)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
    runs = [(f"{m.split('/')[1]}, {name}", x) for name, r in results.items() for m, x in r["heuristics"]["bad"].items()]
    for i, (label, x) in enumerate(runs):
        left.plot(x["episodes"], x["mean"], label=label, color=f"C{i}")
        if "reward_params_curve" in x:
            right.plot(x["episodes"], x["reward_params_curve"]["phi1_where_aux"], label=label, color=f"C{i}")
    left.set(xlabel="training episodes", ylabel="primary return (batch mean over 5 seeds)",
             title="CartPole, bad heuristic")
    right.axhline(0, color="grey", lw=0.8)
    right.set(xlabel="training episodes", ylabel="phi1 where the heuristic pays", title="BARFI's weight on it")
    left.legend(fontsize=7)
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("reports/shaping"))
    parser.add_argument("--workers", type=int, default=2)
    parsed = parser.parse_args()
    parsed.out.mkdir(parents=True, exist_ok=True)
    results = diagnose(parsed.workers)
    (parsed.out / "shaping_cartpole_diagnosis.json").write_text(json.dumps(results, indent=1))
    (parsed.out / "shaping_cartpole_diagnosis.md").write_text(markdown(results))
    plot(results, parsed.out / "shaping_cartpole_diagnosis.png")
    print(markdown(results))
