"""Every benchmark script answers --help without starting work, and runs in its quick mode."""
from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

from aligngym.benchmarks.run_all import benchmark_modules

MODULES = benchmark_modules()
# Quick modes that load the local LLM (~1 GB, minutes on 2 shared cores) run with the benchmarks, not the tests.
LLM_BENCHMARKS = ("bench_llm", "bench_shopping_speed", "bench_faking_judges")


@pytest.mark.parametrize("name", MODULES)
def test_help_starts_no_work(name):
    out = subprocess.run([sys.executable, "-m", name, "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "usage:" in out.stdout and "--quick" in out.stdout, out.stderr[-2000:]


@pytest.mark.parametrize("name", [m for m in MODULES if m.rsplit(".", 1)[-1] not in LLM_BENCHMARKS])
def test_quick_mode_runs_and_writes_json(name, tmp_path):
    result = importlib.import_module(name).main(tmp_path, quick=True)
    assert isinstance(result, dict) and "error" not in result
    assert list(tmp_path.rglob("*.json")), "a benchmark writes its results as JSON (in its family folder or not)"
    json.dumps(result, default=str)
