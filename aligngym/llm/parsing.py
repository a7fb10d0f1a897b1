"""Parsing LLM replies. Every helper returns None for "unparsable"; none raises on odd text."""
from __future__ import annotations

import re

_NUMBER = re.compile(r"(?<![\d.])(\d+)(?![\d.])")


def parse_choice(text: str, n_options: int, first: int = 1) -> int | None:
    """The one option number (first..first+n_options-1) the reply names, or None when it names none or
    several different ones. A line like `Choice: 2` wins over numbers elsewhere in the text."""
    if not isinstance(text, str):
        return None
    valid = range(first, first + n_options)
    tagged = re.findall(r"(?:choice|option|answer|product|item)\s*(?:number|#|no\.?)?\s*[:=]?\s*(\d+)", text, re.I)
    for candidates in (tagged, _NUMBER.findall(text)):
        picked = {int(c) for c in candidates if int(c) in valid}
        if len(picked) == 1:
            return picked.pop()
        if len(picked) > 1:
            return None
    return None


def parse_tagged(text: str, tag: str) -> str | None:
    """The content of `<tag>…</tag>` (an unclosed final tag runs to the end), or None."""
    if not isinstance(text, str):
        return None
    m = re.search(rf"<{tag}>(.*?)(?:</{tag}>|$)", text, re.S | re.I)
    return m.group(1).strip() if m else None


def parse_yes_no(text: str) -> bool | None:
    """True for a reply that starts with yes, False for no, else None."""
    if not isinstance(text, str):
        return None
    m = re.match(r"\W*(yes|no|true|false)\b", text.strip(), re.I)
    return None if m is None else m.group(1).lower() in ("yes", "true")
