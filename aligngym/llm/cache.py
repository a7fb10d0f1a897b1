"""On-disk LLM response cache, so repeated evaluations and tests do not recompute.

Keys hash (backend identity, call kind, prompt, parameters); values are JSON. Stored in one SQLite file under
the cache folder (`$ALIGNGYM_CACHE/llm_responses.sqlite`), which is safe for concurrent processes.
Off with `ALIGNGYM_LLM_CACHE=0` or `load(spec, cache=False)`. Sampling (temperature > 0) without a seed is
never cached; seeded sampling is cached per whole call, since a batch's samples depend on the batch.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable


def cache_enabled(flag: bool | None = None) -> bool:
    """An explicit flag wins; otherwise on unless ALIGNGYM_LLM_CACHE is 0/false/no/off."""
    if flag is not None:
        return flag
    return os.environ.get("ALIGNGYM_LLM_CACHE", "1").strip().lower() not in ("0", "false", "no", "off")


def make_key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class ResponseCache:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    @classmethod
    def default(cls) -> "ResponseCache":
        from aligngym.llm.default_model import cache_dir

        return cls(cache_dir() / "llm_responses.sqlite")

    @contextmanager
    def _connect(self):
        db = sqlite3.connect(self.path, timeout=60)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            with db:  # commits on success
                yield db
        finally:
            db.close()

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        with self._connect() as db:
            for start in range(0, len(keys), 500):  # SQLite's bound-parameter limit
                chunk = keys[start:start + 500]
                q = f"SELECT key, value FROM responses WHERE key IN ({','.join('?' * len(chunk))})"
                found.update((k, json.loads(v)) for k, v in db.execute(q, chunk))
        return found

    def put_many(self, items: Iterable[tuple[str, Any]]) -> None:
        with self._connect() as db:
            db.executemany("INSERT OR REPLACE INTO responses VALUES (?, ?)",
                           [(k, json.dumps(v)) for k, v in items])

    def count(self) -> int:
        with self._connect() as db:
            return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def clear(self) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM responses")
