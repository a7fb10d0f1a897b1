"""The leaderboard: accepted submissions in a database, ranked tables, verification and tokens.

    board = Board.open()                        # the default SQLite file (or a URL / path)
    entry = board.submit(json_bytes)            # SubmissionError with a stable code when refused
    board.tables()                              # ranked tables, one per (env id, env kwargs)
    board.verify(entry.id)                      # rerun a baseline spec's submission and mark it

Ranking: best mean of the row's primary metric first; an entry's rank is 1 + the number of entries whose 95% CI
lies entirely on the better side of its own, so entries with overlapping CIs share a rank (a tie). An entry that
`verify` caught (status `mismatch`) is never ranked: its table lists it under "failed verification". A table is
built from the ranked columns alone (records are not read); an entry whose columns no longer match the digest
written with them (`row_hash`) is reported in `problems` and skipped, never shown and never allowed to break a
page. The record itself is checked against its content hash, and the ranked columns against its aggregates,
wherever it is read (`record_of`: the detail page, the API, verify).
"""
from __future__ import annotations

import json
import math
import secrets
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer, sessionmaker

from aligngym.envs import registry
from aligngym.leaderboard import db
from aligngym.leaderboard.db import Entry, Token
from aligngym.leaderboard.submission import SubmissionError, canonical_json, check, sha256

VERIFY_RTOL, VERIFY_ATOL = 1e-6, 1e-9


@dataclass
class Ranked:
    entry: Entry
    rank: int
    tied: bool


@dataclass
class Table:
    env_id: str
    row: registry.Row
    env_kwargs: dict[str, Any]
    metric: str
    higher_is_better: bool
    entries: list[Ranked] = field(default_factory=list)
    failed: list[Entry] = field(default_factory=list)
    """Entries whose verification rerun did not match: listed, never ranked."""

    @property
    def title(self) -> str:
        extra = {k: v for k, v in self.env_kwargs.items() if self.row.kwargs.get(k, object()) != v}
        return f"{self.env_id} {canonical_json(extra)}" if extra else self.env_id


class Board:
    def __init__(self, engine, fresh: bool = False):
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.fresh = fresh

    @classmethod
    def open(cls, url: str | None = None, shipped: bool = True) -> "Board":
        """Opens (creating and migrating) a board; a newly created one gets the shipped verified baselines."""
        engine = db.make_engine(url or db.default_url())
        board = cls(engine, fresh=db.migrate(engine))
        if board.fresh and shipped:
            board.load_shipped()
        return board

    def close(self) -> None:
        self.engine.dispose()

    # --- submissions ------------------------------------------------------------------------------
    def submit(self, body: bytes | str | dict, token_id: int | None = None, status: str = "self-reported",
               note: str = "") -> Entry:
        """Checks and stores one submission (exactly once: the database's unique run hash decides races)."""
        c = check(body)
        entry = Entry(env_id=c.row.id, family=c.row.family, table_key=c.table_key,
                      env_kwargs=canonical_json(c.env_kwargs), name=c.name, description=c.description, url=c.url,
                      agent_spec=c.record["agent"]["spec"], agent_identity=c.agent_identity,
                      primary_metric=c.metric.name, higher_is_better=c.metric.higher_is_better is not False,
                      score=c.score, ci_low=c.ci_low, ci_high=c.ci_high, n_episodes=len(c.record["episodes"]),
                      suite_version=c.record["suite_version"], run_hash=c.run_hash, content_hash=c.content_hash,
                      record=c.canonical, status=status, verification_note=note, token_id=token_id,
                      verified_at=db.now() if status == "verified" else None)
        entry.row_hash = entry.ranked_digest()
        with self.sessions() as s:
            existing = s.scalar(select(Entry.id).where(Entry.run_hash == c.run_hash))
            if existing is None:
                s.add(entry)
                try:
                    s.commit()
                    return entry
                except IntegrityError:  # another writer stored the same run between our check and commit
                    s.rollback()
                    existing = s.scalar(select(Entry.id).where(Entry.run_hash == c.run_hash))
        raise SubmissionError("duplicate", f"This run is already on the board as entry {existing}.", 409,
                              entry_id=existing)

    def load_shipped(self) -> int:
        """Stores the baseline submissions shipped in `baselines/` as verified entries (their runs were made by
        `aligngym leaderboard baselines`). Returns how many went in."""
        folder = resources.files("aligngym.leaderboard").joinpath("baselines")
        added = 0
        for item in sorted(folder.iterdir(), key=lambda p: p.name) if folder.is_dir() else []:
            if item.name.endswith(".json"):
                try:
                    self.submit(item.read_bytes(), status="verified", note="shipped baseline run by the suite")
                    added += 1
                except SubmissionError:
                    pass  # already there, or out of date for the current rules: never blocks opening a board
        return added

    # --- reading ----------------------------------------------------------------------------------
    def entry(self, entry_id: int) -> Entry | None:
        with self.sessions() as s:
            return s.get(Entry, entry_id)

    def count(self) -> int:
        with self.sessions() as s:
            return s.scalar(select(func.count()).select_from(Entry))

    def record_of(self, entry: Entry) -> dict:
        """The stored RunRecord; ValueError when the row is corrupt: its record no longer matches its content
        hash, its ranked columns their digest, or its score, CI and episode count the record's own."""
        problem = self._problem(entry)
        if problem:
            raise ValueError(problem)
        if sha256(entry.record) != entry.content_hash:
            raise ValueError("the stored record does not match its content hash")
        record = json.loads(entry.record)
        agg = record["aggregates"].get(entry.primary_metric) or {}
        stored = (agg.get("mean"), agg.get("ci_low"), agg.get("ci_high"), len(record["episodes"]))
        shown = (entry.score, entry.ci_low, entry.ci_high, entry.n_episodes)
        if not all(isinstance(a, (int, float)) and math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
                   for a, b in zip(stored, shown)):
            raise ValueError(f"the ranked score, CI or episode count {shown} differs from the record's {stored}")
        return record

    def tables(self, family: str | None = None) -> tuple[list[Table], list[str]]:
        """Ranked tables (one per env id and env kwargs, in registry order) and the problems met on the way.
        Reads the ranked columns only: a page view never loads or hashes the stored records."""
        with self.sessions() as s:
            query = select(Entry).options(defer(Entry.record)).order_by(Entry.id)
            rows = s.scalars(query if family is None else query.where(Entry.family == family)).all()
        order = {r.id: i for i, r in enumerate(registry.ROWS)}
        groups: dict[tuple, list[Entry]] = {}
        problems = []
        for e in rows:
            problem = self._problem(e)
            if problem:
                problems.append(f"entry {e.id}: {problem}")
                continue
            groups.setdefault((order[e.env_id], e.env_id, e.table_key, e.primary_metric), []).append(e)
        tables = []
        for (_, env_id, _, metric), entries in sorted(groups.items()):
            higher = entries[0].higher_is_better
            sign = -1 if higher else 1
            entries.sort(key=lambda e: (sign * e.score, e.id))
            failed = [e for e in entries if e.status == "mismatch"]
            entries = [e for e in entries if e.status != "mismatch"]
            ranked = []
            for e in entries:
                better = sum(1 for o in entries if (o.ci_low > e.ci_high if higher else o.ci_high < e.ci_low))
                ranked.append(Ranked(e, 1 + better, tied=False))
            for r in ranked:
                r.tied = sum(1 for o in ranked if o.rank == r.rank) > 1
            first = (entries or failed)[0]
            tables.append(Table(env_id, registry.row(env_id), json.loads(first.env_kwargs), metric, higher,
                                ranked, failed))
        return tables, problems

    @staticmethod
    def _problem(e: Entry) -> str | None:
        """Why an entry cannot be shown (from its columns alone), or None."""
        try:
            registry.row(e.env_id)
            json.loads(e.env_kwargs)
        except (KeyError, ValueError) as err:
            return str(err.args[0] if err.args else err)
        if e.row_hash != e.ranked_digest():
            return "its ranked columns do not match what was stored at submission"
        if not all(isinstance(x, float) and math.isfinite(x) for x in (e.score, e.ci_low, e.ci_high)):
            return "its score is not a finite number"
        return None

    # --- verification -----------------------------------------------------------------------------
    def verify(self, entry_id: int, progress: bool = False) -> Entry:
        """Reruns an entry whose agent is a registered baseline spec on its seeds; marks it verified when every
        episode's metrics match, else `mismatch` with the first difference. Never runs submitted code."""
        from aligngym.benchmarks.harness import evaluate

        entry = self.entry(entry_id)
        if entry is None:
            raise SubmissionError("not_found", f"No entry {entry_id}.", 404)
        try:
            record = self.record_of(entry)
        except ValueError as err:
            raise SubmissionError("corrupt_entry", f"Entry {entry_id} cannot be rerun: {err}.", 500) from None
        agent = baseline_agent(record["agent"]["spec"], record["env_id"])
        rerun = evaluate(record["env_id"], agent, episodes=record["episodes_per_seed"], seeds=record["eval_seeds"],
                         num_envs=record["num_envs"], env_kwargs=record["env_kwargs"], progress=progress)
        difference = compare_episodes(record["episodes"], rerun.to_dict()["episodes"])
        with self.sessions() as s:
            stored = s.get(Entry, entry_id)
            stored.status = "mismatch" if difference else "verified"
            stored.verified_at = db.now()
            stored.verification_note = difference or f"rerun of {len(rerun.episodes)} episodes matched"
            stored.row_hash = stored.ranked_digest()
            s.commit()
            return stored

    # --- tokens -----------------------------------------------------------------------------------
    def create_token(self, name: str) -> tuple[int, str]:
        """A new bearer token: returns (id, token). Only its hash is stored, so it is shown once."""
        token = secrets.token_urlsafe(32)
        with self.sessions() as s:
            row = Token(name=name[:80], token_hash=sha256(token))
            s.add(row)
            s.commit()
            return row.id, token

    def token_id(self, token: str) -> int | None:
        """The id of a live token, else None."""
        with self.sessions() as s:
            row = s.scalar(select(Token).where(Token.token_hash == sha256(token)))
            return row.id if row is not None and not row.revoked else None

    def tokens(self) -> list[Token]:
        with self.sessions() as s:
            return list(s.scalars(select(Token).order_by(Token.id)))

    def revoke_token(self, token_id: int) -> bool:
        with self.sessions() as s:
            row = s.get(Token, token_id)
            if row is None:
                return False
            row.revoked = True
            s.commit()
            return True


def baseline_agent(spec: str, env_id: str) -> str | dict[str, str]:
    """The spec to rerun, else SubmissionError. Only what the suite itself runs is rerun: the quick suite's own
    baseline specs for this env id (`QUICK[env_id].baselines`, e.g. `shaping.heuristic?controller=good`), or a
    bare registered baseline name with no kwargs (`random`); for a PettingZoo id, `agent=spec;...` where each part
    is one of those. Any other spec, in particular any kwargs (a model path, an `llm=` endpoint or API key, a
    training budget), is refused: a rerun must never load submitted code or files, reach the network or run
    without bound."""
    from aligngym.agents.spec import BASELINES
    from aligngym.benchmarks.suite import QUICK

    quick = QUICK.get(registry.row(env_id).id)
    allowed = set(quick.baselines if quick else ()) | set(BASELINES)
    pieces = [p.partition("=") for p in spec.split(";")]
    parts = {name: target for name, _, target in pieces} if ";" in spec or "=" in spec.split("?")[0] else None
    targets = list(parts.values()) if parts else [spec]
    if not all(t in allowed for t in targets):
        raise SubmissionError("not_verifiable", f"Agent {spec!r} is not rerun: only a bare registered baseline "
                                                f"name or one of the quick suite's specs for {env_id} "
                                                f"({', '.join(quick.baselines) if quick else 'none'}) is; the "
                                                "board never runs submitted code, files or endpoints.")
    return parts or spec


def compare_episodes(stored: list[dict], rerun: list[dict]) -> str:
    """'' when both hold the same episodes with the same metrics (every name either reports), else the first
    difference."""
    mine = {(e["seed_index"], e["episode"]): e["metrics"] for e in rerun}
    if len(mine) != len(stored):
        return f"the rerun has {len(mine)} episodes, the record {len(stored)}"
    for e in stored:
        key = (e["seed_index"], e["episode"])
        if key not in mine:
            return f"the rerun has no episode {key[1]} of seed index {key[0]}"
        for name in sorted(set(e["metrics"]) | set(mine[key])):
            value, other = e["metrics"].get(name), mine[key].get(name)
            if name not in e["metrics"] or name not in mine[key]:
                where = "record" if name not in e["metrics"] else "rerun"
                return f"episode {key[1]} of seed index {key[0]}: the {where} does not report {name}"
            if (value is None) != (other is None) or (value is not None and not math.isclose(
                    value, other, rel_tol=VERIFY_RTOL, abs_tol=VERIFY_ATOL)):
                return f"episode {key[1]} of seed index {key[0]}: {name} is {value} in the record, {other} in the rerun"
    return ""


def submission(record: dict | Any, name: str, description: str, url: str) -> dict:
    """The JSON a submission sends: metadata beside a RunRecord (a dict or a RunRecord)."""
    data = record.to_dict() if hasattr(record, "to_dict") else record  # anything else is refused by check()
    return {"name": name, "description": description, "url": url, "record": data}
