"""`aligngym leaderboard submit|show|page`."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markdown import Markdown

from aligngym.leaderboard import board

app = typer.Typer(help="Submit RunRecords to a leaderboard folder and render it.", no_args_is_help=True)
BOARD = typer.Option(Path("leaderboard-data"), "--board", help="The leaderboard's folder.")


@app.command()
def submit(records: list[Path] = typer.Argument(..., help="RunRecord JSON files."), board_dir: Path = BOARD):
    """Validate and store each record; a refused one is named with its reason and the others still go in."""
    refused = 0
    for path in records:
        try:
            dest = board.submit(path, board_dir)
            Console().print(f"accepted {path} -> {dest}")
        except (ValueError, KeyError, OSError) as e:
            refused += 1
            Console(stderr=True).print(f"[red]refused[/] {path}: {e.args[0] if e.args else e}")
    raise typer.Exit(1 if refused else 0)


@app.command()
def show(board_dir: Path = BOARD):
    """Print the ranked tables."""
    Console().print(Markdown(board.render_markdown(board_dir)))


@app.command()
def page(board_dir: Path = BOARD, out: Path = typer.Option(Path("leaderboard.html"), help="HTML file to write.")):
    """Write a static HTML page of the leaderboard."""
    out.write_text(board.render_html(board_dir))
    Console().print(f"wrote {out}")
