"""The shaping family's README table (benchmarks/shaping/table.py): four envs, good and bad heuristic, six
methods, 5 seeds at the `here` budget (about an hour on 2 shared cores), or the smoke budget with `--quick`.
The authors' budgets: `python -m aligngym.benchmarks.shaping.table --budget authors`.

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
