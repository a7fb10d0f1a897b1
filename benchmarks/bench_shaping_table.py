"""The shaping family's full comparison (benchmarks/shaping/table.py) at the authors' budgets (`make bench` runs
this; the smoke budget with `--quick`): four envs, good and bad heuristic, REINFORCE inside; GridWorld 40 x 2000
with all six methods, CartPole 20 x 1000, MountainCar 40 x 500 at horizon 2000, HalfCheetah 15 seeds x 6960
episodes of 100 steps (what 2 idle cores run in an hour; the authors ran 10000 of 1000 steps), table.BUDGETS is the
source. About 2.2 h with 2 workers (measured: GridWorld 12 min, CartPole 25 min, MountainCar 32 min,
HalfCheetah 63 min). The README's smaller table (5-10 seeds, ~1.5 h):
`python -m aligngym.benchmarks.shaping.table --budget here`.

Run: python -m aligngym.benchmarks.bench_shaping_table [--quick]   (writes reports/bench/shaping_table.md)
"""
from __future__ import annotations

from pathlib import Path

from aligngym.benchmarks.shaping import table


def main(out_dir: Path, quick: bool = False) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    results = table.main(out_dir, "quick" if quick else "authors")
    return {env: r["verdict"] for env, r in results.items()}


if __name__ == "__main__":
    from aligngym.benchmarks.run_all import script_main

    raise SystemExit(script_main(main, __doc__))
