"""What every `aligngym` command shares: one console, one way to fail, one KEY=VALUE parser."""
from __future__ import annotations

import sys
from typing import Iterable, NoReturn

import typer
from rich.console import Console

from aligngym.agents.spec import parse_value

console = Console(width=None if sys.stdout.isatty() else 160)  # logs and CI keep whole table rows
err = Console(stderr=True, soft_wrap=True)  # an error is one line, however long


def fail(message: str) -> NoReturn:
    """Print one clear line on stderr and exit with code 2 (bad input), before any work is done."""
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(2)


def parse_kv(pairs: Iterable[str], option: str = "--env-kwarg") -> dict:
    """`KEY=VALUE` pairs to a dict; values follow the agent-spec rule (JSON where they parse, else strings)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(f"{option} takes KEY=VALUE, got {pair!r}.")
        out[key] = parse_value(value)
    return out
