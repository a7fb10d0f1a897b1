"""Shared fixtures: real records (ShapingCartPole under its submission rules), a PostgreSQL server started in a
temp dir from Debian's binaries, and the real leaderboard server on loopback."""
from __future__ import annotations

import copy
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from aligngym.benchmarks.harness import evaluate
from aligngym.benchmarks.record import RunRecord
from aligngym.leaderboard import Board, submission
from aligngym.leaderboard.rules import rules_for

ENV = "AlignGym/ShapingCartPole-v0"
RANDOM, GOOD = "random", "shaping.heuristic?controller=good"
VARIED = "aux_return"  # the metric `variant` changes: not the primary one, so ranks stay where they are


@pytest.fixture(scope="session")
def records() -> dict[str, dict]:
    """Valid records under the env's rule: random (low primary return) and the good heuristic controller (high);
    and random with 8 episodes per seed (twice the rule, refused as it is: a cheater's raw material)."""
    rule = rules_for(ENV)
    runs = {spec: evaluate(ENV, spec, episodes=rule.episodes_per_seed, seeds=rule.seeds).to_dict()
            for spec in (RANDOM, GOOD)}
    runs["random8"] = evaluate(ENV, RANDOM, episodes=2 * rule.episodes_per_seed, seeds=rule.seeds).to_dict()
    return runs


def make(record: dict, name: str = "Test entry", description: str = "a test submission",
         url: str = "https://example.org/write-up", variant: int | None = None) -> dict:
    """A submission of (a deep copy of) `record`; `variant` makes it another run's content (the board refuses
    the same content under any agent identity): the first episode's `aux_return` moves by (variant + 1) / 1000,
    with the aggregates recomputed."""
    record = copy.deepcopy(record)
    if variant is not None:
        record["episodes"][0]["metrics"][VARIED] += (variant + 1) / 1000
        r = RunRecord.from_dict(record)
        r.recompute_aggregates()
        record = r.to_dict()
    return submission(record, name, description, url)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bindir() -> str | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(f"{candidate}/initdb") and os.path.exists(f"{candidate}/pg_ctl"):
            return candidate
    found = shutil.which("initdb")
    return os.path.dirname(found) if found and shutil.which("pg_ctl") else None


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL server (initdb + pg_ctl in a temp dir, loopback only, fsync off)."""
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed; `apt-get install postgresql` "
                    "(make test does it)")
    user = "postgres" if os.geteuid() == 0 else None  # initdb refuses to run as root
    data = tempfile.mkdtemp(prefix="aligngym-pg-")
    if user:
        shutil.chown(data, user)
    port = free_port()
    run = dict(user=user, check=True, capture_output=True, timeout=120)
    subprocess.run([f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"], **run)
    subprocess.run([f"{bindir}/pg_ctl", "-D", data, "-l", f"{data}/log", "-w", "-o",
                    f"-p {port} -k {data} -h 127.0.0.1 -F", "start"], **run)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"], user=user,
                       capture_output=True, timeout=60)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def board(request, tmp_path):
    """An empty board on SQLite, then on PostgreSQL (a fresh database each time)."""
    if request.param == "sqlite":
        url = str(tmp_path / "board.sqlite3")
    else:
        base = request.getfixturevalue("postgres_url")
        name = f"t{time.monotonic_ns()}"
        from sqlalchemy import create_engine, text
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        admin.dispose()
        url = base.rsplit("/", 1)[0] + "/" + name
    b = Board.open(url, shipped=False)
    yield b
    b.close()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """`aligngym leaderboard serve` as a user runs it, on a loopback port, with one token."""
    db = tmp_path_factory.mktemp("live") / "board.sqlite3"
    b = Board.open(str(db), shipped=False)
    _, token = b.create_token("tests")
    b.close()
    port = free_port()
    log = open(db.with_suffix(".log"), "w")
    proc = subprocess.Popen([sys.executable, "-m", "aligngym.cli", "leaderboard", "serve", "--db", str(db),
                             "--port", str(port), "--rate", "1000"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(url + "/api/entries", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the server did not start: {Path(log.name).read_text()[-2000:]}")
        time.sleep(0.3)
    yield SimpleNamespace(url=url, token=token, db=db, proc=proc)
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture
def make_submission():
    return make
