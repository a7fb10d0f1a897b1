"""Storage on SQLite and a real PostgreSQL server: migrations, exactly-once writes, a writer killed mid-way."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from sqlalchemy import inspect, text

from aligngym.leaderboard import Board, SubmissionError
from aligngym.leaderboard.submission import sha256


def test_migrations_create_the_schema_and_are_idempotent(board):
    tables = set(inspect(board.engine).get_table_names())
    assert {"entries", "tokens", "alembic_version"} <= tables
    with board.engine.connect() as conn:
        assert conn.execute(text("select version_num from alembic_version")).scalar() == "0002"
    from aligngym.leaderboard import db
    assert db.migrate(board.engine) is False  # already at head: nothing happens, and it says it was not new


def test_submit_rank_and_refuse_a_duplicate(board, records, make_submission):
    low = board.submit(make_submission(records["random"], name="Random"))
    high = board.submit(make_submission(records["shaping.heuristic?controller=good"], name="Good controller"))
    (table,), problems = board.tables()
    assert problems == [] and [r.entry.id for r in table.entries] == [high.id, low.id]
    assert table.metric == "primary_return" and high.score > low.score
    with pytest.raises(SubmissionError) as refused:
        board.submit(make_submission(records["random"], name="Same run, other name"))
    assert refused.value.code == "duplicate" and refused.value.detail["entry_id"] == low.id
    stored = board.entry(low.id)
    assert sha256(stored.record) == stored.content_hash and json.loads(stored.record)["env_id"] == table.env_id


def test_twenty_concurrent_identical_submissions_store_one_entry(board, records, make_submission):
    body = json.dumps(make_submission(records["random"]))
    outcomes, start = [], threading.Barrier(20)

    def one():
        start.wait()
        try:
            outcomes.append(("accepted", board.submit(body).id))
        except SubmissionError as e:
            outcomes.append((e.code, e.detail.get("entry_id")))

    threads = [threading.Thread(target=one) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    accepted = [o for o in outcomes if o[0] == "accepted"]
    assert len(accepted) == 1 and board.count() == 1
    assert sorted(outcomes)[1:] == [("duplicate", accepted[0][1])] * 19  # every other client is pointed to it


def test_sqlite_uses_wal(tmp_path):
    b = Board.open(str(tmp_path / "b.sqlite3"), shipped=False)
    with b.engine.connect() as conn:
        assert conn.execute(text("pragma journal_mode")).scalar() == "wal"


def test_a_writer_killed_mid_write_leaves_the_database_consistent(tmp_path, records, make_submission):
    """A process submitting in a loop is SIGKILLed; every stored row is whole and matches its hash."""
    db = tmp_path / "killed.sqlite3"
    Board.open(str(db), shipped=False).close()
    bodies = tmp_path / "bodies.jsonl"
    bodies.write_text("\n".join(json.dumps(make_submission(records["random"], variant=i)) for i in range(200)))
    script = textwrap.dedent(f"""
        from aligngym.leaderboard import Board
        board = Board.open({str(db)!r}, shipped=False)
        for line in open({str(bodies)!r}):
            board.submit(line)
            print("stored", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    for _ in range(5):  # let it store a few, then kill it wherever it is
        assert proc.stdout.readline().startswith("stored")
    time.sleep(0.05)
    proc.kill()
    proc.wait()
    board = Board.open(str(db), shipped=False)
    with board.engine.connect() as conn:
        assert conn.execute(text("pragma integrity_check")).scalar() == "ok"
    tables, problems = board.tables()
    assert problems == [] and 5 <= board.count() < 200
    assert sum(len(t.entries) for t in tables) == board.count()


def test_an_older_board_is_upgraded_with_the_row_digests(board, records, make_submission):
    """A board made before migration 0002 gets `row_hash` for its entries, so its tables still show them."""
    from alembic import command
    from alembic.config import Config

    from aligngym.leaderboard import db

    entry = board.submit(make_submission(records["random"]))
    cfg = Config()
    cfg.set_main_option("script_location", str(db.MIGRATIONS))
    with board.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    assert "row_hash" not in {c["name"] for c in inspect(board.engine).get_columns("entries")}
    assert db.migrate(board.engine) is False
    (table,), problems = board.tables()
    assert problems == [] and [r.entry.id for r in table.entries] == [entry.id]
    assert board.entry(entry.id).row_hash == entry.row_hash
