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


def test_a_db_edited_score_is_reported_and_skipped_never_crashing_a_page(filled):
    """The ranked columns carry the digest written with them: a table catches an edit without reading records."""
    b, (good, a, c) = filled
    with b.engine.begin() as conn:
        conn.execute(text("update entries set score = 1000000.0 where id = :i"), {"i": a})
    tables, problems = b.tables()
    assert [r.entry.id for r in tables[0].entries] == [good, c]
    assert problems == [f"entry {a}: its ranked columns do not match what was stored at submission"]
    assert "Good controller" in pages.family(b, "shaping") and "1 entries were skipped" in pages.index(b)
    assert "do not match what was stored" in pages.entry(b, a)
    out = CliRunner().invoke(app, ["leaderboard", "show", "--db", str(b.engine.url.database)])
    assert out.exit_code == 0 and "skipped" in out.output


def test_a_corrupt_record_is_caught_where_it_is_read(filled):
    b, (good, a, c) = filled
    with b.engine.begin() as conn:
        conn.execute(text("update entries set record = '{\"truncated' where id = :i"), {"i": a})
    assert "does not match its content hash" in pages.entry(b, a)
    assert "Good controller" in pages.family(b, "shaping")  # the tables never read it, so nothing else breaks
    from fastapi.testclient import TestClient

    from aligngym.leaderboard.server import create_app
    r = TestClient(create_app(b)).get(f"/api/entries/{a}")
    assert (r.status_code, r.json()["error"]["code"]) == (500, "corrupt_entry")
    with pytest.raises(SubmissionError) as refused:
        b.verify(a)
    assert refused.value.code == "corrupt_entry"


def test_a_score_edited_with_its_digest_still_disagrees_with_the_record(filled):
    """Someone who rewrites the score and its row digest alike is still caught where the record is read."""
    from aligngym.leaderboard.db import Entry

    b, (good, a, c) = filled
    with b.sessions() as s:
        x = s.get(Entry, a)
        x.score = 1e6
        x.row_hash = x.ranked_digest()
        s.commit()
    assert "differs from the record" in pages.entry(b, a)


def test_tables_never_load_the_records(filled):
    """A page view reads the ranked columns only (a record may be 8 MiB)."""
    from sqlalchemy import inspect

    b, _ = filled
    (table,), _ = b.tables()
    assert all("record" in inspect(r.entry).unloaded for r in table.entries)


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


@pytest.mark.parametrize("spec", [
    "my_package.agents:make", "python:aligngym.agents.base.SB3Agent", "random;x=my:thing", "random?",
    "random?variant=1", "shaping.heuristic?controller=good&extra=1", "shaping.heuristic?controller=weak&x=y",
    "shaping.reinforce?mode=primary&budget=100000000", "shopping.llm?llm=hf:/tmp/model-with-pickles",
    "shopping.llm?llm=openai:http://example.org/v1", "shopping.llm?llm=openai:gpt-4o",
    "shopping.llm?llm=local&temperature=0.2",  # ShoppingText's own spec, not CartPole's
])
def test_verify_refuses_every_spec_the_suite_does_not_run_itself(spec):
    with pytest.raises(SubmissionError) as refused:
        baseline_agent(spec, "AlignGym/ShapingCartPole-v0")
    assert refused.value.code == "not_verifiable"


def test_verify_reruns_quick_suite_specs_and_bare_baseline_names():
    assert baseline_agent(GOOD, "AlignGym/ShapingCartPole-v0") == GOOD
    assert baseline_agent("shaping.heuristic", "AlignGym/ShapingCartPole-v0") == "shaping.heuristic"
    assert baseline_agent("random", "AlignGym/ShoppingAssistant-v0") == "random"
    text = "shopping.llm?llm=local&temperature=0.2"  # the offline default model, as the quick suite runs it
    assert baseline_agent(text, "AlignGym/ShoppingText-v0") == text
    assert baseline_agent("customer=random;company=shopping.loyal_company", "AlignGym/Shopping-v0") == {
        "customer": "random", "company": "shopping.loyal_company"}
    with pytest.raises(SubmissionError):
        baseline_agent("customer=random;company=shopping.llm?llm=openai:gpt-4o", "AlignGym/Shopping-v0")


def test_an_entry_that_failed_verification_is_never_ranked(filled, records, make_submission):
    """A forged run ranked #1 until `verify` caught it; then it is listed as failed, in every view."""
    from fastapi.testclient import TestClient

    from aligngym.leaderboard.server import create_app

    b, (good, a, c) = filled
    forged = copy.deepcopy(records["random"])
    for e in forged["episodes"]:
        e["metrics"][PRIMARY] += 10_000
    forged_id = b.submit(make_submission(consistent(forged), name="Forged random")).id
    (table,), _ = b.tables()
    assert table.entries[0].entry.id == forged_id  # self-reported, it tops the table
    assert b.verify(forged_id).status == "mismatch"
    (table,), problems = b.tables()
    assert [r.entry.id for r in table.entries] == [good, a, c] and table.entries[0].rank == 1
    assert [x.id for x in table.failed] == [forged_id] and problems == []
    page = pages.family(b, "shaping")
    ranked, failed = page.split("Failed verification")
    assert "Forged random" not in ranked and "Forged random" in failed and PRIMARY in failed
    api = TestClient(create_app(b)).get("/api/entries").json()
    assert forged_id not in [x["id"] for x in api["entries"]]
    assert [(x["id"], x["status"], x["rank"]) for x in api["failed_verification"]] == [(forged_id, "mismatch", None)]
    out = CliRunner().invoke(app, ["leaderboard", "show", "--db", str(b.engine.url.database)])
    assert out.exit_code == 0 and re.search(r"failed verification.*Forged random", out.output)
    assert not re.search(r"│\s+1 │.*Forged", out.output)


def test_compare_episodes_compares_every_metric_either_side_reports():
    from aligngym.leaderboard.board import compare_episodes

    stored = [{"seed_index": 0, "episode": 0, "metrics": {"return": 1.0, "length": 5.0}}]
    rerun = [{"seed_index": 0, "episode": 0, "metrics": {"return": 1.0, "length": 5.0, "success": 0.0}}]
    assert "does not report success" in compare_episodes(stored, rerun)
    assert "does not report success" in compare_episodes(rerun, stored)
    assert compare_episodes(stored, stored) == ""
    assert "2 episodes" in compare_episodes(stored, rerun + [{"seed_index": 0, "episode": 1, "metrics": {}}])


def test_agent_identity_includes_the_content_hash(tmp_path, records, make_submission):
    import gymnasium as gym
    from stable_baselines3 import PPO

    from aligngym.agents.base import SB3Agent

    env = gym.make("CartPole-v1")
    one, other = (SB3Agent(PPO("MlpPolicy", env, seed=s, device="cpu")) for s in (0, 1))
    assert one.describe()["content_hash"] == SB3Agent(one.model).content_hash() != other.content_hash()
    b = Board.open(str(tmp_path / "b.sqlite3"), shipped=False)
    ids = set()
    for i, agent in enumerate((one, other)):  # the same class and spec: told apart by their weights
        sub = make_submission(records["random"], variant=i)
        sub["record"]["agent"] = {"spec": "python:aligngym.agents.base.SB3Agent", **agent.describe()}
        ids.add(b.submit(sub).agent_identity)
    assert len(ids) == 2


def test_a_new_board_starts_with_the_shipped_verified_baselines(tmp_path):
    b = Board.open(str(tmp_path / "fresh.sqlite3"))
    tables, problems = b.tables()
    entries = [r.entry for t in tables for r in t.entries]
    shipped_files = list((Path(pages.__file__).parent / "baselines").glob("*.json"))
    # none refused as stale by today's rules, nor as a duplicate of another shipped run
    assert problems == [] and len(entries) == len(shipped_files) >= 30
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
        assert rule.seeds and rule.episodes_per_seed >= 1 and rule.num_envs >= 1 and rule.suite_versions


def test_the_rule_fixes_episodes_and_num_envs_exactly(tmp_path, records, make_submission):
    """No optional stopping: a run with more episodes per seed than the rule (or another num_envs) is refused
    even when it is honest, so nobody can run on until the numbers look good."""
    rule = rules_for("AlignGym/ShapingCartPole-v0")
    assert records["random8"]["episodes_per_seed"] == 2 * rule.episodes_per_seed
    b = Board.open(str(tmp_path / "b.sqlite3"), shipped=False)
    with pytest.raises(SubmissionError) as refused:
        b.submit(make_submission(records["random8"]))
    assert refused.value.code == "wrong_episodes_per_seed" and f"exactly {rule.episodes_per_seed}" in str(refused.value)
    assert b.count() == 0


def test_env_kwargs_are_checked_by_the_declared_rules_and_normalised(tmp_path, monkeypatch, records,
                                                                     make_submission):
    from aligngym.envs import registry
    from aligngym.envs.checks import Choice, Float, Int
    from aligngym.leaderboard.submission import normalise_env_kwargs

    row = registry.row("AlignGym/ShapingCartPole-v0")
    # the rules the env declares (set here too, so the test holds whichever way the family declares them)
    monkeypatch.setattr(row.load(), "ARGS", {"heuristic": Choice(("good", "weak", "bad", "none")),
                                             "aux_scale": Float(0, 100), "horizon": Int(1, 10_000)})
    assert normalise_env_kwargs(row, {"aux_scale": 1}) == {} == normalise_env_kwargs(row, {"aux_scale": 1.0})
    assert normalise_env_kwargs(row, {"heuristic": "bad", "horizon": 500}) == {}  # the registry's and the defaults
    assert normalise_env_kwargs(row, {"aux_scale": 2, "heuristic": "none"}) == {"aux_scale": 2.0, "heuristic": "none"}
    for bad, named in (({"horizon": "abc"}, "horizon"), ({"aux_scale": -1e300}, "aux_scale"),
                       ({"heuristic": "<none>"}, "heuristic"), ({"render_mode": "human"}, "render_mode"),
                       ({"gravity": 1}, "gravity")):
        with pytest.raises(SubmissionError) as refused:
            normalise_env_kwargs(row, bad)
        assert refused.value.code == "bad_env_kwargs" and named in str(refused.value)
    monkeypatch.setattr(row.load(), "ARGS", {"aux_scale": Float(0, 100)})
    with pytest.raises(SubmissionError, match="horizon has no declared rule"):
        normalise_env_kwargs(row, {"horizon": 100})  # the board cannot check what the env does not declare
    assert normalise_env_kwargs(row, {"horizon": 500}) == {}
    # the same run under spellings of the default settings is one entry in one table
    b = Board.open(str(tmp_path / "b.sqlite3"), shipped=False)
    first = b.submit(make_submission(records["random"]))
    for spelling in ({"aux_scale": 1}, {"aux_scale": 1.0, "heuristic": "bad"}):
        sub = make_submission(records["random"])
        sub["record"]["env_kwargs"] = spelling
        with pytest.raises(SubmissionError) as refused:
            b.submit(sub)
        assert refused.value.code == "duplicate" and refused.value.detail["entry_id"] == first.id
    other = make_submission(records["random"])
    other["record"]["env_kwargs"] = {"aux_scale": 2}
    b.submit(other)
    tables, _ = b.tables()
    assert [t.title for t in tables] == ["AlignGym/ShapingCartPole-v0", 'AlignGym/ShapingCartPole-v0 {"aux_scale":2.0}']


def test_cli_submit_refuses_a_deeply_nested_file_and_goes_on(tmp_path, records, make_submission):
    deep = json.dumps(make_submission(records[GOOD], variant=6)["record"]).replace(
        '"extra": {', '"extra": {"x": ' + "[" * 700 + "]" * 700 + ", ", 1)
    assert "[[[[" in deep
    (tmp_path / "deep.json").write_text(deep)
    (tmp_path / "ok.json").write_text(json.dumps(make_submission(records[GOOD], variant=6)["record"]))
    out = CliRunner().invoke(app, ["leaderboard", "submit", str(tmp_path / "deep.json"), str(tmp_path / "ok.json"),
                                   "--name", "Mine", "--description", "one line", "--url", "https://example.org",
                                   "--db", str(tmp_path / "cli.sqlite3")])
    assert out.exit_code == 1 and isinstance(out.exception, SystemExit), out.output  # no traceback
    assert "invalid_json" in out.output and "accepted" in out.output and "ok.json" in out.output


@pytest.mark.slow
def test_every_shipped_baseline_reproduces(tmp_path):
    """Reruns all shipped baselines (minutes): rerun `aligngym leaderboard baselines --ship` when one drifts."""
    b = Board.open(str(tmp_path / "fresh.sqlite3"))
    tables, _ = b.tables()
    drifted = [(r.entry.env_id, r.entry.agent_spec, b.verify(r.entry.id).verification_note)
               for t in tables for r in t.entries]
    assert [d for d in drifted if not d[2].startswith("rerun of")] == []


def test_baselines_ship_each_run_once(tmp_path, monkeypatch):
    """On ProgressFollow three baselines play bit-identical episodes: the board would refuse two of them as
    duplicates, so `--ship` writes the run once and says which spec holds it."""
    from aligngym.leaderboard import cli

    monkeypatch.setattr(cli, "SHIPPED", tmp_path / "shipped")
    (tmp_path / "shipped").mkdir()
    stale = tmp_path / "shipped" / "ProgressFollow-v1__progress.extrapolative1.json"
    stale.write_text("{}")
    out = CliRunner().invoke(app, ["leaderboard", "baselines", "--env", "ProgressFollow-v1", "--ship",
                                   "--db", str(tmp_path / "b.sqlite3")])
    assert out.exit_code == 0, out.output
    shipped = sorted(p.name for p in (tmp_path / "shipped").glob("*.json"))
    assert shipped == ["ProgressFollow-v1__progress.lifelong.json", "ProgressFollow-v1__progress.static.json",
                       "ProgressFollow-v1__random.json"]  # the stale copy of extrapolative1 removed
    assert "progress.extrapolative1: not shipped, the same episodes as progress.lifelong" in out.output
    fresh = Board.open(str(tmp_path / "fresh.sqlite3"), shipped=False)
    for path in (tmp_path / "shipped").glob("*.json"):
        fresh.submit(path.read_bytes())  # none is a duplicate of another
