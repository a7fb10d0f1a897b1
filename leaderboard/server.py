"""The leaderboard server (FastAPI): the same pages as `export`, a JSON API and authenticated submissions.

    GET  /  /index.html  /<family>.html  /entry-<id>.html  /style.css     the pages
    GET  /api/entries  /api/entries/<id>                                  entries as JSON
    POST /api/submissions   (Authorization: Bearer <token>)               201 {"entry_id": ...}
    GET  /docs  /openapi.json                                             the OpenAPI description

Errors are JSON `{"error": {"code": ..., "message": ...}}` with stable codes. A request body is streamed and
cut at `max_body` bytes (never read whole); each token may submit `rate` times per `window` seconds. The server
only checks and stores data: it never imports, unpickles or runs anything a submission holds.
"""
from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from aligngym.envs import registry
from aligngym.leaderboard import pages
from aligngym.leaderboard.board import Board, Ranked
from aligngym.leaderboard.submission import MAX_BODY, SubmissionError

SUBMISSION_SCHEMA = {
    "type": "object", "required": ["name", "description", "url", "record"], "additionalProperties": False,
    "properties": {"name": {"type": "string", "maxLength": 80}, "description": {"type": "string", "maxLength": 200},
                   "url": {"type": "string", "format": "uri", "maxLength": 500},
                   "record": {"type": "object", "description": "a RunRecord (benchmarks/runrecord.schema.json)"}}}
ERROR_SCHEMA = {"content": {"application/json": {"schema": {"type": "object", "properties": {"error": {
    "type": "object", "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}}}}}


class RateLimiter:
    """At most `rate` events per `window` seconds per key (a sliding window kept in memory)."""

    def __init__(self, rate: int, window: float):
        self.rate, self.window = rate, window
        self.events: dict[int, deque] = defaultdict(deque)
        self.lock = threading.Lock()

    def allow(self, key: int) -> bool:
        now = time.monotonic()
        with self.lock:
            q = self.events[key]
            while q and q[0] <= now - self.window:
                q.popleft()
            if len(q) >= self.rate:
                return False
            q.append(now)
            return True


def create_app(board: Board, max_body: int = MAX_BODY, rate: int = 30, window: float = 60.0) -> FastAPI:
    app = FastAPI(title="AlignGym leaderboard", version="1.0",
                  description="Ranked, recomputed and (for baselines) verified RunRecords of the AlignGym suite.")
    limiter = RateLimiter(rate, window)

    @app.exception_handler(SubmissionError)
    async def _refused(_request, err: SubmissionError):
        # after a cut body the rest of it is still on the wire: close rather than drain it
        headers = {"Connection": "close"} if err.status == 413 else None
        return JSONResponse(err.to_json(), status_code=err.status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request, err: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(err.status_code, "http_error")
        return JSONResponse({"error": {"code": code, "message": str(err.detail)}}, status_code=err.status_code)

    @app.exception_handler(Exception)
    async def _crash(_request, err: Exception):  # a bug must still answer JSON, without leaking internals
        return JSONResponse({"error": {"code": "internal_error", "message": type(err).__name__}}, status_code=500)

    def html_page(text: str | None) -> HTMLResponse:
        if text is None:
            raise SubmissionError("not_found", "No such page.", 404)
        return HTMLResponse(text)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    @app.get("/index.html", response_class=HTMLResponse, include_in_schema=False)
    def index():
        return html_page(pages.index(board))

    @app.get("/style.css", include_in_schema=False)
    def style():
        return Response(pages.CSS, media_type="text/css")

    @app.get("/{page}.html", response_class=HTMLResponse, include_in_schema=False)
    def page(page: str):
        if page in registry.FAMILIES:
            return html_page(pages.family(board, page))
        if page.startswith("entry-") and page[6:].isdigit():
            return html_page(pages.entry(board, int(page[6:])))
        return html_page(None)

    def summary(r) -> dict:
        x = r.entry
        return {"id": x.id, "env_id": x.env_id, "family": x.family, "name": x.name, "agent_spec": x.agent_spec,
                "status": x.status, "metric": x.primary_metric, "score": x.score, "ci_low": x.ci_low,
                "ci_high": x.ci_high, "rank": r.rank, "tied": r.tied, "episodes": x.n_episodes}

    @app.get("/api/entries", summary="Every shown entry, ranked within its table; entries that failed "
                                     "verification apart, unranked")
    def api_entries():
        tables, problems = board.tables()
        return {"entries": [summary(r) for t in tables for r in t.entries],
                "failed_verification": [{**summary(Ranked(x, None, False)), "note": x.verification_note}
                                        for t in tables for x in t.failed],
                "problems": problems}

    @app.get("/api/entries/{entry_id}", summary="One entry with its stored RunRecord",
             responses={404: ERROR_SCHEMA})
    def api_entry(entry_id: int):
        x = board.entry(entry_id)
        if x is None:
            raise SubmissionError("not_found", f"No entry {entry_id}.", 404)
        try:
            record = board.record_of(x)
        except ValueError as err:
            raise SubmissionError("corrupt_entry", str(err), 500) from None
        return {"id": x.id, "name": x.name, "description": x.description, "url": x.url, "status": x.status,
                "verification_note": x.verification_note, "content_hash": x.content_hash, "record": record}

    @app.post("/api/submissions", status_code=201, summary="Submit a RunRecord",
              openapi_extra={"requestBody": {"required": True,
                                             "content": {"application/json": {"schema": SUBMISSION_SCHEMA}}},
                             "security": [{"bearer": []}]},
              responses={400: ERROR_SCHEMA, 401: ERROR_SCHEMA, 409: ERROR_SCHEMA, 413: ERROR_SCHEMA,
                         422: ERROR_SCHEMA, 429: ERROR_SCHEMA})
    async def submit(request: Request):
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise SubmissionError("missing_token", "Send `Authorization: Bearer <token>` (tokens come from "
                                                   "`aligngym leaderboard token create`).", 401)
        token_id = await run_in_threadpool(board.token_id, token.strip())
        if token_id is None:
            raise SubmissionError("invalid_token", "The bearer token is not known or was revoked.", 401)
        if not limiter.allow(token_id):
            raise SubmissionError("rate_limited", f"At most {limiter.rate} submissions per {limiter.window:g} s "
                                                  "per token; try again later.", 429)
        body = await read_capped(request, max_body)
        entry = await run_in_threadpool(board.submit, body, token_id)
        return {"entry_id": entry.id, "score": entry.score, "metric": entry.primary_metric,
                "url": f"/entry-{entry.id}.html"}

    original = app.openapi

    def openapi():
        schema = original()
        schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
            "type": "http", "scheme": "bearer"}
        return schema

    app.openapi = openapi
    return app


async def read_capped(request: Request, limit: int) -> bytes:
    """The body, or 413 as soon as it passes `limit` bytes (a declared length over it is refused unread)."""
    too_big = SubmissionError("payload_too_large", f"The body is over the limit of {limit} bytes.", 413)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


def serve(board: Board, host: str = "127.0.0.1", port: int = 8000, **kwargs) -> None:
    import uvicorn

    uvicorn.run(create_app(board, **kwargs), host=host, port=port, log_level="info")
