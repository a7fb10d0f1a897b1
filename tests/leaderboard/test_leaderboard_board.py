"""Ranking, ties, corrupt rows, verification, shipped baselines, pages and the CLI."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from aligngym.cli import app
from aligngym.leaderboard import Board, SubmissionError, pages
from aligngym.leaderboard.board import baseline_agent
from aligngym.leaderboard.rules import rules_for

from test_leaderboard_bad_input import PRIMARY, consistent  # noqa: E402  (same folder)

GOOD = "shaping.heuristic?controller=good"


@pytest.fixture
def filled(tmp_path, records, make_submission):
    """The good controller and two random runs whose CIs overlap (tied at rank 2)."""
    b = Board.open(str(tmp_path / "b.sqlite3"), shipped=False)
    ids = [b.submit(make_submission(records[GOOD], name="Good controller")).id,
           b.submit(make_submission(records["random"], name="Random A")).id,
           b.submit(make_submission(records["random"], name="Random B", variant=1)).id]
    yield b, ids
    b.close()


def test_ranked_by_the_primary_metric_with_ties_where_cis_overlap(filled):
    b, (good, a, c) = filled
    (table,), _ = b.tables()
    assert table.metric == "primary_return" and table.higher_is_better
    assert [(r.entry.id, r.rank, r.tied) for r in table.entries] == [(good, 1, False), (a, 2, True), (c, 2, True)]


def test_show_prints_ranked_tables_with_cis(filled):
    b, _ = filled
    out = CliRunner().invoke(app, ["leaderboard", "show", "--db", str(b.engine.url.database)])
    assert out.exit_code == 0, out.output
    assert re.search(r"│\s+1 │.*Good controller", out.output) and re.search(r"│\s+=2 │.*Random A", out.output)
    assert re.search(r"\d [\[]-?\d", out.output)  # mean [ci_low, ci_high]


def test_a_corrupt_entry_is_reported_and_skipped_never_crashing_a_page(filled):
    b, (good, a, c) = filled
    with b.engine.begin() as conn:
        conn.execute(text("update entries set record = '{\"truncated' where id = :i"), {"i": a})
    tables, problems = b.tables()
    assert [r.entry.id for r in tables[0].entries] == [good, c]
    assert problems == [f"entry {a}: the stored record does not match its content hash"]
    assert "Good controller" in pages.family(b, "shaping") and "1 entries were skipped" in pages.index(b)
    assert "does not match its content hash" in pages.entry(b, a)
    out = CliRunner().invoke(app, ["leaderboard", "show", "--db", str(b.engine.url.database)])
    assert out.exit_code == 0 and "skipped" in out.output


def test_everything_rendered_is_escaped(filled):
    b, (good, *_) = filled
    with b.engine.begin() as conn:  # a row written around the checks (an old version, a manual edit)
        conn.execute(text("update entries set name = '<script>alert(1)</script>', url = 'https://x.org/\"><b>' "
                          "where id = :i"), {"i": good})
    for page in (pages.family(b, "shaping"), pages.entry(b, good)):
        assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert '"><b>' not in page


def test_verify_marks_a_matching_rerun_and_refuses_non_baselines(filled, records, make_submission):
    b, (good, a, c) = filled
    assert b.verify(good).status == "verified"
    # consistent, but not what `random` does on these seeds: a rerun exposes it
    forged = copy.deepcopy(records["random"])
    for e in forged["episodes"]:
        e["metrics"][PRIMARY] *= 3
    forged_id = b.submit(make_submission(consistent(forged), name="Forged")).id
    checked = b.verify(forged_id)
    assert checked.status == "mismatch" and PRIMARY in checked.verification_note
    for spec in ("my_package.agents:make", "python:aligngym.agents.base.SB3Agent", "random;x=my:thing",
                 "shopping.llm?llm=hf:/tmp/model-with-pickles", "shopping.llm?llm=openai:http://example.org/v1"):
        with pytest.raises(SubmissionError) as refused:
            baseline_agent(spec)
        assert refused.value.code == "not_verifiable"
    assert baseline_agent("customer=random;company=shopping.loyal_company") == {
        "customer": "random", "company": "shopping.loyal_company"}


def test_agent_identity_includes_the_content_hash(tmp_path, records, make_submission):
    import gymnasium as gym
    from stable_baselines3 import PPO

    from aligngym.agents.base import SB3Agent

    env = gym.make("CartPole-v1")
    one, other = (SB3Agent(PPO("MlpPolicy", env, seed=s, device="cpu")) for s in (0, 1))
    assert one.describe()["content_hash"] == SB3Agent(one.model).content_hash() != other.content_hash()
    b = Board.open(str(tmp_path / "b.sqlite3"), shipped=False)
    ids = set()
    for agent in (one, other):  # the same class and spec: told apart by their weights
        sub = make_submission(records["random"])
        sub["record"]["agent"] = {"spec": "python:aligngym.agents.base.SB3Agent", **agent.describe()}
        ids.add(b.submit(sub).agent_identity)
    assert len(ids) == 2


def test_a_new_board_starts_with_the_shipped_verified_baselines(tmp_path):
    b = Board.open(str(tmp_path / "fresh.sqlite3"))
    tables, problems = b.tables()
    entries = [r.entry for t in tables for r in t.entries]
    shipped_files = list((Path(pages.__file__).parent / "baselines").glob("*.json"))
    assert problems == [] and len(entries) == len(shipped_files) >= 30  # none refused as stale by today's rules
    assert {e.status for e in entries} == {"verified"}
    assert {t.row.family for t in tables} >= {"shaping"}
    assert Board.open(str(tmp_path / "fresh.sqlite3")).count() == len(entries)  # loaded once, not per opening
    shipped = next(e for e in entries if e.env_id == "AlignGym/ShapingCartPole-v0" and e.agent_spec == "random")
    assert b.verify(shipped.id).status == "verified"  # the shipped runs are what this code reproduces


def test_export_writes_a_self_contained_site(filled, tmp_path):
    b, (good, a, c) = filled
    files = {p.name: p.read_text() for p in pages.export(b, tmp_path / "site")}
    assert {"index.html", "style.css", "shaping.html", "progress.html", f"entry-{good}.html"} <= set(files)
    family = files["shaping.html"]
    assert family.count("<svg class='ci'") == 3 and family.index("Good controller") < family.index("Random A")
    assert "<svg class='distribution'" in files[f"entry-{good}.html"]
    for name, page in files.items():
        refs = re.findall(r"(?:src|href)=['\"]([^'\"]*)", page)
        external = [r for r in refs if "://" in r or r.startswith("//")]
        # only an entry's own write-up link leaves the site; no asset is loaded from elsewhere
        assert external == ([] if not name.startswith("entry-") else ["https://example.org/write-up"]), name
        assert "<script src" not in page and "@import" not in page


def test_cli_submit_token_and_export(tmp_path, records, make_submission):
    db = str(tmp_path / "cli.sqlite3")
    record = tmp_path / "run.json"
    record.write_text(json.dumps(make_submission(records[GOOD], variant=5)["record"]))  # not a shipped run
    runner = CliRunner()
    args = ["--name", "Mine", "--description", "one line", "--url", "https://example.org", "--db", db]
    first = runner.invoke(app, ["leaderboard", "submit", str(record), *args])
    again = runner.invoke(app, ["leaderboard", "submit", str(record), *args])
    assert first.exit_code == 0 and "accepted" in first.output
    assert again.exit_code == 1 and "duplicate" in again.output
    token = runner.invoke(app, ["leaderboard", "token", "create", "alice", "--db", db])
    value = token.output.strip().splitlines()[-1]
    assert token.exit_code == 0 and Board.open(db).token_id(value) == 1
    assert runner.invoke(app, ["leaderboard", "export", "--out", str(tmp_path / "site"), "--db", db]).exit_code == 0
    assert "Mine" in (tmp_path / "site" / "shaping.html").read_text()


def test_rules_cover_every_registered_id():
    from aligngym.envs import registry

    for row in registry.ROWS:
        rule = rules_for(row.id)
        assert rule.seeds and rule.min_episodes >= 1 and rule.suite_versions


@pytest.mark.slow
def test_every_shipped_baseline_reproduces(tmp_path):
    """Reruns all shipped baselines (minutes): rerun `aligngym leaderboard baselines --ship` when one drifts."""
    b = Board.open(str(tmp_path / "fresh.sqlite3"))
    tables, _ = b.tables()
    drifted = [(r.entry.env_id, r.entry.agent_spec, b.verify(r.entry.id).verification_note)
               for t in tables for r in t.entries]
    assert [d for d in drifted if not d[2].startswith("rerun of")] == []
