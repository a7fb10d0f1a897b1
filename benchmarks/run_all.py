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


def run_all(out: Path, quick: bool = False, only: list[str] | None = None) -> dict:
    """Runs the benchmarks (those whose name contains one of `only`), writes `summary.json` and `report.md`."""
    out.mkdir(parents=True, exist_ok=True)
    names = [n for n in benchmark_modules() if not only or any(o in n for o in only)]
    summary = {}
    for name in names:
        short = name.rsplit(".", 1)[-1]
        print(f"== {short}", flush=True)
        try:
            summary[short] = importlib.import_module(name).main(out, quick=quick)
        except Exception:
            summary[short] = {"error": traceback.format_exc()}
            print(summary[short]["error"])
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    (out / "report.md").write_text(report(summary, quick))
    return summary


def report(summary: dict, quick: bool) -> str:
    """The performance report: the registry-wide throughput table, harness overhead, and each benchmark's status."""
    from aligngym.benchmarks.bench_envs import markdown

    lines = ["# AlignGym performance report", "", f"{'Quick' if quick else 'Full'} sizes; every ratio is against a "
             "peer measured in the same run (see each benchmark's JSON).", ""]
    if "error" not in summary.get("bench_envs", {"error": ""}):
        lines += ["## Environments", "", markdown(summary["bench_envs"]), ""]
    harness = summary.get("bench_harness", {})
    if "rows" in harness:
        lines += ["## Harness overhead (evaluate() / bare loop, target <= 1.05 on GridWorld)", "",
                  "| env | episodes | ratio | ratio with out= | ms per episode with out= |", "|---|---:|---:|---:|---:|"]
        lines += [f"| {r['env']} | {r['episodes']} | {r['ratio']} | {r['ratio_out']} | {r['ms_per_episode_out']} |"
                  for r in harness["rows"]]
        lines.append("")
    lines += ["## Benchmarks run", ""]
    lines += [f"- `{name}`: " + ("failed (see summary.json)" if "error" in result else "ok")
              for name, result in summary.items()]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("reports/bench"))
    parser.add_argument("--quick", action="store_true", help="Smaller sizes, for a smoke run.")
    parser.add_argument("--only", action="append", default=[], help="Run only benchmarks whose name contains this.")
    args = parser.parse_args()
    summary = run_all(args.out, args.quick, args.only)
    failed = sum("error" in r for r in summary.values())
    print(f"{len(summary) - failed}/{len(summary)} benchmarks ran; results in {args.out} (report.md)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
