"""BARFI's comparison on GridWorld at a real budget: every learner x reward mode, good and bad heuristic,
many seeds. Writes the curves, per-seed summaries and a win/tie/lose verdict against primary-only (JSON),
and one learning-curve PNG per heuristic.

Run: python -m aligngym.benchmarks.bench_shaping_comparison [--quick]   (about 10 minutes on 2 free cores)
"""
from __future__ import annotations

from pathlib import Path

from aligngym.benchmarks.shaping.scoring import learning_curves, plot, save

ENV_ID = "AlignGym/ShapingGridWorld-v1"
METHODS = ("reinforce/primary", "reinforce/naive", "reinforce/pbrs", "reinforce/barfi", "reinforce/barfi:first_order",
           "reinforce/barfi:neumann", "actor_critic/primary", "actor_critic/naive", "actor_critic/pbrs",
           "actor_critic/barfi")
EPISODES, SEEDS, WORKERS = 3000, 10, 2
QUICK = {"methods": METHODS[:4], "episodes": 128, "seeds": 2}  # a smoke run: "too few seeds" for a verdict


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
    from aligngym.benchmarks.run_all import script_main

    raise SystemExit(script_main(main, __doc__))
