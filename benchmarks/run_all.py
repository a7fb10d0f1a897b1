"""Runs every speed/comparison benchmark (any `bench_*.py` under benchmarks/, families' folders included) and
writes each one's JSON into one folder.

    python -m aligngym.benchmarks.run_all --out reports/bench [--quick] [--only llm]

Every benchmark module defines `main(out_dir: Path, quick: bool = False) -> dict` and ends with
`if __name__ == "__main__": raise SystemExit(script_main(main, __doc__))`, so each one answers `--help` without
starting work and takes `--out` and `--quick` the same way.
"""
from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import traceback
from pathlib import Path
from typing import Callable

import aligngym.benchmarks as package


def script_main(main: Callable[..., dict], doc: str | None) -> int:
    """The command line every benchmark script shares: `--out DIR`, `--quick`, `--help`."""
    parser = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0] if doc else None,
                                     epilog=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("reports/bench"), help="Folder for the JSON results.")
    parser.add_argument("--quick", action="store_true", help="Smaller sizes, for a smoke run.")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print(json.dumps(main(args.out, quick=args.quick), indent=2, default=str))
    return 0


def benchmark_modules() -> list[str]:
    """Every `bench_*` module under aligngym.benchmarks, by full name."""
    return sorted(m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
                  if m.name.rsplit(".", 1)[-1].startswith("bench_"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("reports/bench"))
    parser.add_argument("--quick", action="store_true", help="Smaller sizes, for a smoke run.")
    parser.add_argument("--only", action="append", default=[], help="Run only benchmarks whose name contains this.")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    names = [n for n in benchmark_modules() if not args.only or any(o in n for o in args.only)]
    summary, failed = {}, 0
    for name in names:
        short = name.rsplit(".", 1)[-1]
        print(f"== {short}", flush=True)
        try:
            summary[short] = importlib.import_module(name).main(args.out, quick=args.quick)
        except Exception:
            failed += 1
            summary[short] = {"error": traceback.format_exc()}
            print(summary[short]["error"])
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    print(f"{len(names) - failed}/{len(names)} benchmarks ran; results in {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
