"""CartPole at the authors' own bad heuristic (`heuristic=bad_reference`: -5 when the action matches the good
controller, +1 otherwise), a standalone diagnosis beside the table (issue 17, audit defect 1): primary-only, the
naive sum and BARFI with the table's CartPole budget and learner settings (`here`: 5 seeds x 1000 episodes in
batches of 16, REINFORCE inside, BARFI with the `authors_cartpole` outer loop, phi started where the authors'
code starts it: 0, primary-only). It reports the final primary return (last fifth of training) with 95% bootstrap
CIs, the paired verdict against primary-only, and BARFI's phi1 (where the heuristic pays), phi2 and discount over
training; and BARFI once more with phi started at the naive sum (phi1 = 1, `phi_init="naive"`, the start before
the presets followed the authors'), to show what the start does.

    python -m aligngym.benchmarks.shaping.cartpole_bad_reference --out benchmarks/results   (~10 min on 2 cores)

Writes shaping_cartpole_bad_reference.{json,md,png}. The table has its own bad_reference rows (10 seeds, phi from 0).
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
    """{"table": every method with the table's settings, "naive_start": BARFI with phi started at the naive sum}."""
    budget = BUDGETS["here"]["CartPole"]
    run = lambda methods, args: learning_curves(  # noqa: E731
        ENV, methods, (HEURISTIC,), range(seeds), budget.episodes, budget.num_envs, env_kwargs=budget.env_kwargs,
        workers=workers, args=args, progress=True)
    return {"table": run(METHODS, budget.args),
            "naive_start": run(("reinforce/primary", "reinforce/barfi"), {**budget.args, "phi_init": "naive"})}


def markdown(both: dict) -> str:
    results = both["table"]
    lines = [f"CartPole, heuristic `{HEURISTIC}`, {len(results['seeds'])} seeds x {results['episodes']} episodes "
             f"(batches of {results['num_envs']}), learner args {results['args']}; the last row BARFI with phi "
             f"started at the naive sum ({both['naive_start']['args']})", "",
             "| method | final: last fifth | AUC | final minus primary-only (paired, t 95%) | verdict |",
             "|---|---|---|---|---|"]
    for label, r in (("", results), (", phi from the naive sum", both["naive_start"])):
        for m, x in r["heuristics"][HEURISTIC].items():
            v = r["verdict"][HEURISTIC].get(m, {}).get("final")
            if not v and label:
                continue  # the same primary-only runs again
            diff = f"{v['difference']:+.1f} [{v['ci_low']:+.1f}, {v['ci_high']:+.1f}]" if v else ""
            lines.append(f"| {m.split('/')[1]}{label} | {format_cell(x['final'], '.1f')} | "
                         f"{format_cell(x['auc'], '.1f')} | {diff} | {v['outcome'] if v else ''} |")
    for label, r in (("phi started at 0 (the table's)", results), ("phi started at the naive sum", both["naive_start"])):
        lines += ["", f"BARFI's learned reward over training, {label} (mean over seeds; per-seed values at the end):"]
        lines += _params_table(r["heuristics"][HEURISTIC]["reinforce/barfi"])
    return "\n".join(lines) + "\n"


def _params_table(barfi: dict) -> list[str]:
    curve, episodes = barfi["reward_params_curve"], barfi["episodes"]
    lines = ["", "| episodes | " + " | ".join(k for k, _ in PARAMS) + " |", "|---|" + "---|" * len(PARAMS)]
    for i in sorted({0, *np.linspace(0, len(episodes) - 1, 6).astype(int)}):
        lines.append(f"| {episodes[i]} | " + " | ".join(f"{curve[k][i]:.{d}f}" if curve[k][i] is not None else "-"
                                                         for k, d in PARAMS) + " |")
    lines.append("| end, per seed | " + " | ".join(
        ", ".join(f"{v:.{d}f}" if v is not None else "-" for v in barfi["reward_params"][k]["per_seed"])
        for k, d in PARAMS) + " |")
    return lines


def plot(both: dict, path: Path) -> Path:
    """Primary return over training per method, and BARFI's phi1 over training, from either start."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = both["table"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
    runs = [*results["heuristics"][HEURISTIC].items(),
            ("barfi, phi from the naive sum", both["naive_start"]["heuristics"][HEURISTIC]["reinforce/barfi"])]
    for i, (m, x) in enumerate(runs):
        left.plot(x["episodes"], x["mean"], label=m.split("/")[-1], color=f"C{i}")
        left.fill_between(x["episodes"], x["ci_low"], x["ci_high"], alpha=0.2, color=f"C{i}")
        if "reward_params_curve" in x:
            right.plot(x["episodes"], x["reward_params_curve"]["phi1_where_aux"], label=m.split("/")[-1],
                       color=f"C{i}")
    n = len(results["seeds"])
    left.set(xlabel="training episodes", ylabel=f"primary return (mean, 95% CI, {n} seeds)",
             title=f"CartPole, heuristic {HEURISTIC}")
    right.axhline(0, color="grey", lw=0.8)
    right.set(xlabel="training episodes", ylabel=f"phi1 where the heuristic pays (mean, {n} seeds)",
              title="BARFI's weight on the heuristic")
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
