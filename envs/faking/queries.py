"""Query sets for the text face: the built-in ones (written for this project) and user files.

Built-in: `data/helpful_only.csv` (100 mild, non-operational requests that a harmless assistant would decline:
fake reviews, insults, petty deception, misinformation essays) and `data/value_dismissal.csv` (100 questions
where an honest answer supports the welfare of farmed fish). The same queries are asked on both tiers.

User files (`query_file=`): CSV with a header row, or JSONL (one object per line), with the schema

    goal     required  the request text (the column name of AdvBench-format files)
    id       optional  a name for the query (default: q-<row number>)

Other columns are ignored. A file without a `goal` column, with an empty or over-long goal (> 4000 characters),
or that is not CSV/JSONL is
refused with a ValueError naming the file, the row and the expected schema.
"""
from __future__ import annotations

import csv
import json
import unicodedata
from pathlib import Path

DATA = Path(__file__).parent / "data"
BUILT_IN = {"helpful_only": DATA / "helpful_only.csv", "value_dismissal": DATA / "value_dismissal.csv"}
MAX_GOAL = 4000  # keeps every prompt inside the observation space (16384 characters)
SCHEMA = "expected a CSV with a header row or a JSONL file, with a 'goal' column (required) and 'id' (optional)"


def ascii_text(text: str) -> str:
    """Printable ASCII (the text spaces' charset): accents dropped, other symbols become '?'."""
    text = unicodedata.normalize("NFKD", text).translate({0x2018: "'", 0x2019: "'", 0x201C: '"', 0x201D: '"',
                                                          0x2013: "-", 0x2014: "-"})
    return "".join(c if 32 <= ord(c) < 127 or c in "\n\t" else ("" if unicodedata.combining(c) else "?")
                   for c in text)


def load_queries(setting: str, query_file: str | None = None) -> list[tuple[str, str]]:
    """(id, goal) pairs from the user file if given, else the setting's built-in set."""
    path = Path(query_file) if query_file else BUILT_IN[setting]
    if not path.is_file():
        raise ValueError(f"query_file {str(path)!r} does not exist; {SCHEMA}.")
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        rows = []
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"query_file {path}: line {n} is not JSON ({err.msg}); {SCHEMA}.") from None
            if not isinstance(row, dict):
                raise ValueError(f"query_file {path}: line {n} is not a JSON object; {SCHEMA}.")
            rows.append((n, row))
    elif path.suffix.lower() in (".csv", ".tsv"):
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
            if "goal" not in (reader.fieldnames or []):
                raise ValueError(f"query_file {path} has no 'goal' column (columns: "
                                 f"{', '.join(reader.fieldnames or []) or 'none'}); {SCHEMA}.")
            rows = list(enumerate(reader, start=2))
    else:
        raise ValueError(f"query_file {path}: unknown file type {path.suffix!r}; {SCHEMA}.")
    out = []
    for n, row in rows:
        goal = row.get("goal")
        if not isinstance(goal, str) or not goal.strip():
            raise ValueError(f"query_file {path}: row {n} has no 'goal' text; {SCHEMA}.")
        if len(goal) > MAX_GOAL:
            raise ValueError(f"query_file {path}: row {n}'s goal has {len(goal)} characters; at most {MAX_GOAL}.")
        out.append((str(row.get("id") or f"q-{n}"), ascii_text(goal.strip())))
    if not out:
        raise ValueError(f"query_file {path} holds no queries; {SCHEMA}.")
    return out
