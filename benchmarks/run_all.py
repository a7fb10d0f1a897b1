"""Runs every speed/comparison benchmark (`benchmarks/bench_*.py`) and writes each one's JSON into one folder.

    python -m aligngym.benchmarks.run_all --out reports/bench [--quick] [--only llm]
"""
from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import traceback
from pathlib import Path

import aligngym.benchmarks as package


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("reports/bench"))
    parser.add_argument("--quick", action="store_true", help="Smaller sizes, for a smoke run.")
    parser.add_argument("--only", action="append", default=[], help="Run only benchmarks whose name contains this.")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    names = sorted(m.name for m in pkgutil.iter_modules(package.__path__) if m.name.startswith("bench_"))
    names = [n for n in names if not args.only or any(o in n for o in args.only)]
    summary, failed = {}, 0
    for name in names:
        print(f"== {name}", flush=True)
        try:
            summary[name] = importlib.import_module(f"aligngym.benchmarks.{name}").main(args.out, quick=args.quick)
        except Exception:
            failed += 1
            summary[name] = {"error": traceback.format_exc()}
            print(summary[name]["error"])
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    print(f"{len(names) - failed}/{len(names)} benchmarks ran; results in {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
