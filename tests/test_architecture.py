"""The project's shape (docs/architecture.md): the dependency rule, one card template, light env imports."""
from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from aligngym.envs import registry

ROOT = Path(__file__).resolve().parents[1]

# What each layer may not import (DESIGN.md). envs: only the standard library, numpy/scipy, gymnasium, pettingzoo,
# mujoco/pymunk and aligngym.llm; agents: envs, never benchmarks or the CLI.
FORBIDDEN = {
    "envs": ("aligngym.agents", "aligngym.benchmarks", "aligngym.leaderboard", "aligngym.cli", "torch",
             "stable_baselines3", "transformers"),
    "agents": ("aligngym.benchmarks", "aligngym.leaderboard", "aligngym.cli"),
}

CARD_HEADINGS = ("## Description", "## Action Space", "## Observation Space", "## Rewards", "## Starting State",
                 "## Episode End", "## Arguments", "## Metrics", "## Version History")


def imports_of(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, node.module)]
    return found


def violations(folder: str) -> list[str]:
    bad = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for line, module in imports_of(path):
            if any(module == f or module.startswith(f + ".") for f in FORBIDDEN[folder]):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return bad


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_dependency_rule(folder):
    bad = violations(folder)
    assert not bad, f"{folder}/ imports what stands above it:\n" + "\n".join(bad)


def test_the_rule_checker_sees_a_forbidden_import(tmp_path, monkeypatch):
    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "bad.py").write_text("import os\nfrom aligngym.benchmarks.harness import evaluate\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert violations("envs") == ["envs/bad.py:2 imports aligngym.benchmarks.harness"]


def card_problems(doc: str | None) -> str | None:
    if not doc:
        return "no docstring card"
    positions = [doc.find("\n" + h + "\n") for h in CARD_HEADINGS]
    missing = [h for h, p in zip(CARD_HEADINGS, positions) if p < 0]
    if missing:
        return f"missing headings {missing}"
    if positions != sorted(positions):
        return f"headings out of order; expected {list(CARD_HEADINGS)}"
    return None


@pytest.mark.parametrize("row", registry.ROWS, ids=[r.id.split("/")[-1] for r in registry.ROWS])
def test_env_card_has_the_template_sections(row):
    module = importlib.import_module(row.entry_point.split(":")[0])
    problem = card_problems(module.__doc__)
    assert problem is None, f"{row.id}: card of {module.__name__}: {problem}"


def test_making_every_env_imports_no_torch_or_sb3():
    code = ("import sys, gymnasium as gym, pettingzoo, aligngym\n"
            "from aligngym.envs import registry\n"
            "for r in registry.ROWS:\n"
            "    (pettingzoo.make('parallel', r.id) if r.multi_agent else gym.make(r.id)).close()\n"
            "print(sorted(m for m in ('torch', 'stable_baselines3', 'transformers') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout
