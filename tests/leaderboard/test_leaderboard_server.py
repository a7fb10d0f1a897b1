"""The real server (`aligngym leaderboard serve` in its own process) on loopback."""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from typer.testing import CliRunner

from aligngym.cli import app
from aligngym.leaderboard import Board


def post(server, body: dict) -> httpx.Response:
    return httpx.post(server.url + "/api/submissions", json=body, timeout=120,
                      headers={"Authorization": f"Bearer {server.token}"})


def test_fifty_parallel_clients_each_accepted_entry_stored_exactly_once(live_server, records, make_submission):
    distinct = [make_submission(records["random"], name=f"Client {i}", variant=1000 + i) for i in range(50)]
    repeats = [make_submission(records["random"], name="Repeat", variant=1000)] * 10  # same run as client 0
    with ThreadPoolExecutor(60) as pool:
        answers = list(pool.map(lambda body: post(live_server, body), distinct + repeats))
    codes = [a.status_code for a in answers]
    assert codes.count(201) == 50 and codes.count(409) == 10, [a.text for a in answers if a.status_code >= 500]
    accepted = [a.json()["entry_id"] for a in answers if a.status_code == 201]
    listed = [e["id"] for e in httpx.get(live_server.url + "/api/entries").json()["entries"]]
    assert len(set(accepted)) == 50 and all(listed.count(i) == 1 for i in accepted)
    board = Board.open(str(live_server.db))
    names = {board.entry(i).name: i for i in accepted}
    assert set(names) - {"Client 0", "Repeat"} == {f"Client {i}" for i in range(1, 50)}
    (winner,) = [i for name, i in names.items() if name in ("Client 0", "Repeat")]  # client 0's run, stored once
    assert {a.json()["error"]["entry_id"] for a in answers if a.status_code == 409} == {winner}


def test_an_oversized_body_is_cut_while_streaming(live_server):
    """200 MB offered without a Content-Length: the server answers 413 (or drops the connection) after its
    limit, far from reading it whole, and keeps serving."""
    sent = []

    def chunks():
        for _ in range(200):
            sent.append(1)
            yield b" " * (1024 * 1024)

    try:
        r = httpx.post(live_server.url + "/api/submissions", content=chunks(), timeout=60,
                       headers={"Authorization": f"Bearer {live_server.token}", "Content-Type": "application/json"})
        assert (r.status_code, r.json()["error"]["code"]) == (413, "payload_too_large")
    except httpx.TransportError:
        pass  # the server may close the connection before the client finishes writing
    assert len(sent) < 100
    rss_kb = int(next(line.split()[1] for line in Path(f"/proc/{live_server.proc.pid}/status").read_text()
                      .splitlines() if line.startswith("VmRSS")))
    assert rss_kb < 600 * 1024
    assert httpx.get(live_server.url + "/api/entries").status_code == 200


def test_pages_api_and_openapi(live_server, records, make_submission):
    r = post(live_server, make_submission(records["shaping.heuristic?controller=good"], name="Served", variant=7))
    assert r.status_code == 201, r.text
    entry_id = r.json()["entry_id"]
    get = lambda path: httpx.get(live_server.url + path)  # noqa: E731
    assert "shaping" in get("/").text and "Served" in get("/shaping.html").text
    assert get("/style.css").headers["content-type"].startswith("text/css")
    assert "evaluation seeds" in get(f"/entry-{entry_id}.html").text
    detail = get(f"/api/entries/{entry_id}").json()
    assert detail["record"]["env_id"] == "AlignGym/ShapingCartPole-v0" and len(detail["content_hash"]) == 64
    for path in ("/nope.html", "/api/entries/999999", "/entry-999999.html"):
        answer = get(path)
        assert (answer.status_code, answer.json()["error"]["code"]) == (404, "not_found")
    spec = get("/openapi.json").json()
    assert "post" in spec["paths"]["/api/submissions"] and "bearer" in spec["components"]["securitySchemes"]
    assert "record" in spec["paths"]["/api/submissions"]["post"]["requestBody"]["content"]["application/json"][
        "schema"]["properties"]


def test_cli_submit_to_the_server(live_server, records, make_submission, tmp_path):
    record = tmp_path / "run.json"
    record.write_text(json.dumps(make_submission(records["random"], variant=77)["record"]))
    args = ["leaderboard", "submit", str(record), "--name", "Over HTTP", "--description", "sent by the CLI",
            "--url", "https://example.org", "--server", live_server.url]
    ok = CliRunner().invoke(app, [*args, "--token", live_server.token])
    bad = CliRunner().invoke(app, [*args, "--token", "wrong"])
    assert ok.exit_code == 0 and "accepted" in ok.output, ok.output
    assert bad.exit_code == 1 and "invalid_token" in bad.output
