"""The shaping family's README table (benchmarks/shaping/table.py) at its `here` budget (`make bench` runs this;
the smoke budget with `--quick`): four envs, good and bad heuristic, REINFORCE inside; GridWorld with all six
methods, CartPole and MountainCar with primary, naive, pbrs and barfi, HalfCheetah with primary, naive and barfi
(pbrs left out where the heuristic has no state potential); 5 seeds, 10 for the bad heuristic on CartPole,
MountainCar and HalfCheetah (table.BUDGETS is the source); about 1.5 h with 2 workers (the saved runs: 5,600 s).
The authors' seeds and episodes (many more hours): `python -m aligngym.benchmarks.shaping.table --budget authors`.

Run: python -m aligngym.benchmarks.bench_shaping_table [--quick]   (writes reports/bench/shaping_table.md)
"""
from __future__ import annotations

from pathlib import Path

from aligngym.benchmarks.shaping import table


def main(out_dir: Path, quick: bool = False) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    results = table.main(out_dir, "quick" if quick else "here")
    return {env: r["verdict"] for env, r in results.items()}


if __name__ == "__main__":
    from aligngym.benchmarks.run_all import script_main

    raise SystemExit(script_main(main, __doc__))
