"""`aligngym leaderboard submit|show|verify|export|serve|token|baselines`.

Every command takes `--db` (a SQLite path or a database URL; default: `$ALIGNGYM_LEADERBOARD_DB`, else
`leaderboard.sqlite3` in the user's data directory). A new database starts with the shipped verified baselines.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from aligngym.cli.common import console, err, fail

app = typer.Typer(help="The leaderboard: submit RunRecords, rank them, verify baselines, serve the pages.",
                  no_args_is_help=True)
token_app = typer.Typer(help="Bearer tokens for the submission API (admin).", no_args_is_help=True)
app.add_typer(token_app, name="token")

DB = typer.Option(None, "--db", help="SQLite file or database URL (default: the user's data directory).")
SHIPPED = Path(__file__).with_name("baselines")
BASELINE_URL = "https://pypi.org/project/aligngym/"  # where the suite (and its baselines) is published


def _board(db: Optional[str]):
    try:
        from aligngym.leaderboard.board import Board
    except ImportError as e:
        fail(f"The leaderboard needs its extra: pip install 'aligngym[leaderboard]' ({e}).")
    return Board.open(db)


@app.command()
def submit(records: List[Path] = typer.Argument(..., help="RunRecord JSON files (from `aligngym eval --out`)."),
           name: str = typer.Option(..., help="Entry name shown on the board (plain text, <= 80 characters)."),
           description: str = typer.Option(..., help="One line (<= 200 characters)."),
           url: str = typer.Option(..., help="http(s) URL of a write-up or the code."),
           server: Optional[str] = typer.Option(None, help="Submit to this server instead of a local database."),
           token: Optional[str] = typer.Option(None, envvar="ALIGNGYM_LEADERBOARD_TOKEN",
                                               help="Bearer token for --server."),
           db: Optional[str] = DB):
    """Check and store each record; a refused one is named with its reason (code) and the others still go in."""
    from aligngym.leaderboard.board import submission
    from aligngym.leaderboard.submission import MAX_BODY, SubmissionError, parse_json

    if server and not token:
        fail("--server needs --token (or $ALIGNGYM_LEADERBOARD_TOKEN); an admin creates one with "
             "`aligngym leaderboard token create`.")
    board = None if server else _board(db)
    refused = 0
    for path in records:
        try:
            if path.stat().st_size > MAX_BODY:  # never read a huge file whole
                raise OSError(f"larger than the {MAX_BODY} bytes a submission may have")
            data = submission(parse_json(path.read_bytes()), name, description, url)
        except OSError as e:
            refused += 1
            err.print(f"[red]refused[/] {path}: cannot read a JSON record ({e})")
            continue
        except SubmissionError as e:  # not JSON, nested too deeply, NaN: the same answer the server gives
            refused += 1
            err.print(f"[red]refused[/] {path}: {e.code}: {e.message}", highlight=False)
            continue
        if server:
            ok, message = _post(server, token, data)
        else:
            try:
                entry = board.submit(data)
                ok, message = True, f"entry {entry.id}, {entry.primary_metric} = {entry.score:.4g}"
            except SubmissionError as e:
                ok, message = False, f"{e.code}: {e.message}"
        if ok:
            console.print(f"accepted {path}: {message}")
        else:
            refused += 1
            err.print(f"[red]refused[/] {path}: {message}", highlight=False)
    raise typer.Exit(1 if refused else 0)


def _post(server: str, token: str, data: dict) -> tuple[bool, str]:
    import httpx

    try:
        r = httpx.post(server.rstrip("/") + "/api/submissions", json=data, timeout=120,
                       headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as e:
        return False, f"cannot reach {server}: {e}"
    try:
        body = r.json()
    except ValueError:
        return False, f"HTTP {r.status_code} (not a JSON answer)"
    if r.status_code == 201:
        return True, f"entry {body['entry_id']}, {body['metric']} = {body['score']:.4g}"
    error = body.get("error", {})
    return False, f"HTTP {r.status_code} {error.get('code')}: {error.get('message')}"


@app.command()
def show(family: Optional[str] = typer.Option(None, help="Only this family."), db: Optional[str] = DB):
    """Ranked tables per env by its primary metric (mean [95% CI]); '=' marks ranks shared by overlapping CIs."""
    from aligngym.benchmarks.stats import format_cell

    tables, problems = _board(db).tables(family)
    for t in tables:
        table = Table(title=f"{t.title} · by {t.metric} {'↑' if t.higher_is_better else '↓'}")
        for col in ("rank", "id", "entry", "agent", "status", f"{t.metric} mean [95% CI]", "episodes"):
            table.add_column(col, justify="right" if col in ("rank", "id", "episodes") else "left")
        for r in t.entries:
            x = r.entry
            table.add_row(f"={r.rank}" if r.tied else str(r.rank), str(x.id), x.name, x.agent_spec, x.status,
                          format_cell({"mean": x.score, "ci_low": x.ci_low, "ci_high": x.ci_high}),
                          str(x.n_episodes))
        console.print(table)
        for x in t.failed:
            console.print(f"  failed verification (not ranked): entry {x.id} {x.name} ({x.agent_spec}, claimed "
                          f"{x.score:.4g}): {x.verification_note}", highlight=False)
    if not tables:
        console.print("The board is empty.")
    for p in problems:
        err.print(f"[yellow]skipped[/] {p}", highlight=False)


@app.command()
def verify(entry_ids: List[int] = typer.Argument(..., help="Entry ids (see `show`)."), db: Optional[str] = DB):
    """Rerun entries whose agent is a registered baseline spec on their seeds; mark them verified on a match."""
    from aligngym.leaderboard.submission import SubmissionError

    board, bad = _board(db), 0
    for entry_id in entry_ids:
        try:
            x = board.verify(entry_id, progress=True)
        except SubmissionError as e:
            bad += 1
            err.print(f"[red]{entry_id}[/]: {e.code}: {e.message}", highlight=False)
            continue
        bad += x.status != "verified"
        console.print(f"entry {entry_id}: {x.status} ({x.verification_note})", highlight=False)
    raise typer.Exit(1 if bad else 0)


@app.command()
def export(out: Path = typer.Option(Path("leaderboard-site"), help="Folder for the static site."),
           db: Optional[str] = DB):
    """Write the static site: index, one page per family, one per entry, one stylesheet (no external assets)."""
    from aligngym.leaderboard.pages import export as write

    files = write(_board(db), out)
    console.print(f"wrote {len(files)} files to {out}")


@app.command()
def serve(host: str = typer.Option("127.0.0.1", help="Interface to listen on (loopback by default)."),
          port: int = typer.Option(8000), db: Optional[str] = DB,
          max_body: int = typer.Option(8 * 1024 * 1024, help="Largest accepted request body, bytes (8 MiB)."),
          rate: int = typer.Option(30, help="Submissions per token per minute.")):
    """Serve the pages, the JSON API and `POST /api/submissions` (OpenAPI at /docs)."""
    from aligngym.leaderboard.server import serve as run

    run(_board(db), host=host, port=port, max_body=max_body, rate=rate)


@token_app.command("create")
def token_create(name: str = typer.Argument(..., help="Who the token is for."), db: Optional[str] = DB):
    """Create a token and print it once (only its hash is stored)."""
    token_id, token = _board(db).create_token(name)
    console.print(f"token {token_id} for {name}:")
    print(token)


@token_app.command("list")
def token_list(db: Optional[str] = DB):
    """Tokens by id (their values are not stored)."""
    for t in _board(db).tokens():
        console.print(f"{t.id}  {t.name}  created {t.created_at:%Y-%m-%d}" + ("  revoked" if t.revoked else ""),
                      highlight=False)


@token_app.command("revoke")
def token_revoke(token_id: int = typer.Argument(...), db: Optional[str] = DB):
    """Revoke a token: it can no longer submit."""
    if not _board(db).revoke_token(token_id):
        fail(f"No token {token_id}; see `aligngym leaderboard token list`.")
    console.print(f"revoked token {token_id}")


@app.command()
def baselines(env: List[str] = typer.Option([], "--env", help="Only these ids (repeat)."),
              family: List[str] = typer.Option([], "--family", help="Only these families (repeat)."),
              ship: bool = typer.Option(False, help="Also write each submission into the package's baselines/ "
                                                    "folder, which a new board loads (maintainers)."),
              db: Optional[str] = DB):
    """Run the quick suite's baselines under each id's submission rules and store them as verified entries."""
    from aligngym.benchmarks.harness import evaluate
    from aligngym.benchmarks.suite import QUICK
    from aligngym.envs import registry
    from aligngym.leaderboard.board import submission
    from aligngym.leaderboard.rules import rules_for
    from aligngym.leaderboard.submission import SubmissionError, check

    board, shipped = _board(db), {}
    rows = [r for r in registry.ROWS if r.id in QUICK and (not env or r.id in {registry.full_id(e) for e in env})
            and (not family or r.family in family)]
    if not rows:
        fail("No registered id matches --env/--family.")
    for r in rows:
        rule = rules_for(r.id)
        for spec in QUICK[r.id].baselines:
            record = evaluate(r.id, spec, episodes=rule.episodes_per_seed, seeds=rule.seeds,
                              num_envs=rule.num_envs, progress=True)
            data = submission(record, f"{spec} (baseline)", f"AlignGym baseline {spec}, run by the suite itself",
                              BASELINE_URL)
            try:
                x = board.submit(data, status="verified", note="run by `aligngym leaderboard baselines`")
                console.print(f"{r.id} · {spec}: entry {x.id}, {x.primary_metric} = {x.score:.4g}")
            except SubmissionError as e:
                err.print(f"{r.id} · {spec}: {e.code}: {e.message}", highlight=False)
            if ship:
                name = f"{r.id.split('/')[-1]}__{spec}".replace("?", "_").replace("&", "_").replace("=", "-")
                path = SHIPPED / f"{name}.json"
                key = check(data).run_hash
                if key in shipped:  # the board would refuse it as a duplicate: ship the run once
                    path.unlink(missing_ok=True)
                    err.print(f"{r.id} · {spec}: not shipped, the same episodes as {shipped[key]}", highlight=False)
                    continue
                shipped[key] = spec
                path.write_text(json.dumps(data, indent=1, allow_nan=False))

