"""Storage: SQLAlchemy 2 models, engines and Alembic migrations.

The default database is SQLite (in WAL mode, so pages read while a submission writes) in the user's data
directory; `ALIGNGYM_LEADERBOARD_DB` or `--db` name another file or a PostgreSQL URL
(`postgresql+psycopg://user@host/db`) for a shared deployment. The schema is created and upgraded by the Alembic
migrations in `migrations/` (shipped inside the package), never by `create_all`.
"""
from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import (Boolean, DateTime, Float, ForeignKey, Integer, String, Text, create_engine, event,
                        inspect)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

MIGRATIONS = Path(__file__).with_name("migrations")


def now() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class Token(Base):
    """A bearer token for the submission API; only its SHA-256 is stored."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


RANKED = ("env_id", "family", "table_key", "env_kwargs", "agent_spec", "primary_metric", "higher_is_better",
          "score", "ci_low", "ci_high", "n_episodes", "status", "run_hash", "content_hash")
"""The columns a table ranks and shows an entry by; `row_hash` is their digest."""


def ranked_digest(values: dict) -> str:
    """SHA-256 of the RANKED columns (a mapping from column name to value), as written at submission."""
    return hashlib.sha256(json.dumps([values[k] for k in RANKED], separators=(",", ":")).encode()).hexdigest()


class Entry(Base):
    """One accepted submission. `record` is the canonical JSON of the RunRecord with recomputed aggregates;
    `content_hash` is its SHA-256 (checked when the record is read: the detail page, verify), `run_hash` the
    duplicate key (unique), `row_hash` the digest of the ranked columns (checked whenever a table is built, so a
    table never reads the records)."""

    __tablename__ = "entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    env_id: Mapped[str] = mapped_column(String(200), index=True)
    family: Mapped[str] = mapped_column(String(40), index=True)
    table_key: Mapped[str] = mapped_column(String(64))
    env_kwargs: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(500))
    agent_spec: Mapped[str] = mapped_column(Text)
    agent_identity: Mapped[str] = mapped_column(String(64))
    primary_metric: Mapped[str] = mapped_column(String(100))
    higher_is_better: Mapped[bool] = mapped_column(Boolean)
    score: Mapped[float] = mapped_column(Float)
    ci_low: Mapped[float] = mapped_column(Float)
    ci_high: Mapped[float] = mapped_column(Float)
    n_episodes: Mapped[int] = mapped_column(Integer)
    suite_version: Mapped[str] = mapped_column(String(40))
    run_hash: Mapped[str] = mapped_column(String(64), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    record: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="self-reported")
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    verification_note: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("tokens.id"), nullable=True)
    row_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)

    def ranked_digest(self) -> str:
        return ranked_digest({k: getattr(self, k) for k in RANKED})


def default_url() -> str:
    if os.environ.get("ALIGNGYM_LEADERBOARD_DB"):
        return os.environ["ALIGNGYM_LEADERBOARD_DB"]
    import platformdirs

    path = Path(platformdirs.user_data_dir("aligngym")) / "leaderboard.sqlite3"
    return f"sqlite:///{path}"


def make_engine(url: str) -> Engine:
    """An engine for a URL or a plain file path; SQLite files get WAL, a busy timeout and foreign keys."""
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser().resolve()}"
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _pragmas(conn, _record):
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    return engine


def migrate(engine: Engine) -> bool:
    """Upgrades the schema to the newest migration; True when the database had no schema before."""
    from alembic import command
    from alembic.config import Config

    fresh = "alembic_version" not in inspect(engine).get_table_names()
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return fresh
