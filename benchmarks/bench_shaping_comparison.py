"""BARFI's comparison on GridWorld at a real budget: every learner x reward mode, good and bad heuristic,
many seeds. Writes the curves, per-seed summaries and a win/tie/lose verdict against primary-only (JSON),
and one learning-curve PNG per heuristic.

Run: python benchmarks/bench_shaping_comparison.py   (about 5 minutes on 2 cores when they are free)
"""
from __future__ import annotations

import json
from pathlib import Path

from aligngym.envs.shaping.scoring import learning_curves, plot, save

ENV_ID = "AlignGym/ShapingGridWorld-v0"
METHODS = ("reinforce/primary", "reinforce/naive", "reinforce/pbrs", "reinforce/barfi", "reinforce/barfi:first_order",
           "actor_critic/primary", "actor_critic/naive", "actor_critic/pbrs", "actor_critic/barfi")
EPISODES, SEEDS, WORKERS = 3000, 10, 2
QUICK = {"methods": METHODS[:4], "episodes": 1000, "seeds": 2}


def main(out_dir: Path, quick: bool = False) -> dict:
    methods, episodes, seeds = (QUICK["methods"], QUICK["episodes"], QUICK["seeds"]) if quick else (
        METHODS, EPISODES, SEEDS)
    results = learning_curves(ENV_ID, methods, ("good", "bad"), range(seeds), episodes, workers=WORKERS,
                              progress=True)
    results["benchmark"] = "bench_shaping_comparison"
    save(results, out_dir / "bench_shaping_comparison.json")
    results["plots"] = [str(p) for p in plot(results, out_dir)]
    save(results, out_dir / "bench_shaping_comparison.json")
    return results


if __name__ == "__main__":
    from aligngym.cli.shaping import print_table

    out = main(Path("reports/bench"))
    print_table(out)
    print(json.dumps(out["verdict"], indent=1))
