"""Leaderboard submissions: valid records go in; tampered, unfinished, foreign or duplicate ones are refused."""
from __future__ import annotations

import json

import pytest

from aligngym.benchmarks.harness import evaluate
from aligngym.envs import registry
from aligngym.leaderboard import board

SINGLE = [r for r in registry.ROWS if not r.multi_agent]
pytestmark = pytest.mark.skipif(not SINGLE, reason="no single-agent ids registered yet")


@pytest.fixture
def record_file(tmp_path):
    path = tmp_path / "rec.json"
    evaluate(SINGLE[0].id, "random", episodes=3, seeds=[0], out=path)
    return path


def test_submit_show_and_refusals(record_file, tmp_path):
    lb = tmp_path / "board"
    stored = board.submit(record_file, lb)
    assert stored.exists() and SINGLE[0].id in board.render_markdown(lb) and "<table>" in board.render_html(lb)
    with pytest.raises(ValueError, match="already submitted"):
        board.submit(record_file, lb)
    reformatted = tmp_path / "same-run.json"
    reformatted.write_text(json.dumps(json.loads(record_file.read_text())))  # same run, other formatting
    with pytest.raises(ValueError, match="already submitted"):
        board.submit(reformatted, lb)

    data = json.loads(record_file.read_text())
    metric = next(iter(data["aggregates"]))
    data["aggregates"][metric]["ci_high"] = 1e9  # a claimed CI is never stored: aggregates are recomputed
    data["agent"]["spec"] = "random?claims=wide"
    inflated = tmp_path / "inflated.json"
    inflated.write_text(json.dumps(data))
    stored_inflated = board.submit(inflated, lb)
    assert json.loads(stored_inflated.read_text())["aggregates"][metric]["ci_high"] != 1e9

    data = json.loads(record_file.read_text())
    metric = next(iter(data["aggregates"]))
    data["aggregates"][metric]["mean"] = (data["aggregates"][metric]["mean"] or 0) + 1000
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="does not match its episodes"):
        board.submit(tampered, lb)

    data = json.loads(record_file.read_text())
    data["finished"] = False
    unfinished = tmp_path / "unfinished.json"
    unfinished.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="unfinished"):
        board.submit(unfinished, lb)

    data["finished"], data["env_id"] = True, "CartPole-v1"
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps(data))
    with pytest.raises(KeyError, match="Unknown environment id"):
        board.submit(foreign, lb)
    assert len(board.entries(lb)) == 2  # only the valid ones went in


def test_runs_under_other_env_kwargs_are_ranked_apart(tmp_path):
    env_id = "AlignGym/ShapingGridWorld-v0"
    lb = tmp_path / "board"
    for name, kwargs in [("default", {}), ("bad", {"heuristic": "bad"}), ("good", {"heuristic": "good"})]:
        evaluate(env_id, "random", episodes=2, env_kwargs=kwargs, out=tmp_path / f"{name}.json")
        board.submit(tmp_path / f"{name}.json", lb)
    assert len(board.ranked(lb)) == 2  # the default is heuristic=bad: same table as the explicit one
