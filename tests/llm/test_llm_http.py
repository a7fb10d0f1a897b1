"""The OpenAI-compatible backend against `aligngym llm serve`'s app on loopback, and against broken servers."""
import http.server
import json
import threading
import time

import httpx
import pytest

from aligngym.llm import ScriptedLLM, load
from aligngym.llm.openai_http import LLMError, OpenAILLM
from aligngym.llm.server import BackgroundServer


def capital(prompt: str) -> str:
    return " Paris. Then more." if "France" in prompt else " I do not know."


@pytest.fixture(scope="module")
def server():
    backend = ScriptedLLM(capital, model="scripted-capitals")
    with BackgroundServer(backend) as srv:
        yield srv, backend


def client(url, **kw):
    return OpenAILLM("scripted-capitals", base_url=url, **kw)


def test_models_endpoint(server):
    srv, _ = server
    data = httpx.get(srv.url + "/models").json()
    assert data["data"][0]["id"] == "scripted-capitals"


def test_generate_through_completions_matches_backend(server):
    srv, backend = server
    prompts = [f"The capital of France is {i}" for i in range(20)] + ["Who am I?"]
    llm = client(srv.url, batch_size=8, concurrency=3)
    assert llm.generate(prompts, stop=["."]) == backend.generate(prompts, stop=["."])
    assert llm.usage["generated_tokens"] > 0 and llm.usage["prompt_tokens"] > 0


def test_generate_through_chat(server):
    srv, _ = server
    assert client(srv.url, chat=True).generate(["France?"], stop=["."]) == [" Paris"]


def test_generate_messages_sends_the_system_message_in_chat_mode(server, monkeypatch):
    import aligngym.llm.server as served

    received = []
    flatten = served.messages_to_prompt
    monkeypatch.setattr(served, "messages_to_prompt", lambda m: received.append(m) or flatten(m))
    srv, _ = server
    chat = [[{"role": "system", "content": "You work for France."}, {"role": "user", "content": "Capital?"}]]
    assert client(srv.url, chat=True).generate_messages(chat, stop=["."]) == [" Paris"]
    assert received == chat  # both messages, roles kept
    received.clear()  # without chat mode the contents travel joined, as one completion prompt
    assert client(srv.url).generate_messages(chat, stop=["."]) == [" Paris"] and received == []


def test_score_choices_over_http_prefers_the_scripted_answer(server):
    srv, backend = server
    prompts, choices = ["The capital of France is", "Who am I?"], [[" Paris", " banana"], [" I", " You"]]
    assert client(srv.url).score_choices(prompts, choices) == backend.score_choices(prompts, choices)


def test_server_merges_concurrent_requests_into_batches():
    batches = []
    backend = ScriptedLLM(capital)
    backend._generate = lambda prompts, *a: batches.append(len(prompts)) or [capital(p) for p in prompts]
    with BackgroundServer(backend, max_batch=16, wait_s=0.3) as srv:
        prompts = [f"France {i}" for i in range(8)]
        assert client(srv.url, batch_size=1, concurrency=8).generate(prompts) == [capital(p) for p in prompts]
    assert sum(batches) == 8 and len(batches) < 8  # eight one-prompt requests, fewer backend calls


def test_server_refuses_bad_requests_clearly(server):
    srv, _ = server
    r = httpx.post(srv.url + "/completions", json={"prompt": [], "max_tokens": 3})
    assert r.status_code == 400 and "prompt" in r.json()["error"]["message"]
    r = httpx.post(srv.url + "/chat/completions", json={"messages": "hi"})
    assert r.status_code == 400 and "messages" in r.json()["error"]["message"]
    with pytest.raises(LLMError, match="HTTP 400.*max_tokens"):  # 4xx is not retried, and says why
        client(srv.url)._post("/completions", {"prompt": "x", "max_tokens": -1})


def test_cached_http_backend_does_not_call_the_server_twice(server, tmp_path, monkeypatch):
    srv, backend = server
    monkeypatch.setenv("ALIGNGYM_CACHE", str(tmp_path))
    llm = load(f"openai:scripted-capitals@{srv.url}", cache=True)
    before = backend.usage["calls"]
    a = llm.generate(["The capital of France is"])
    assert llm.generate(["The capital of France is"]) == a
    assert backend.usage["calls"] == before + 1 and llm.usage["cache_hits"] == 1


# ---- broken servers (stdlib http.server on loopback) ------------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    mode = "hang"
    hits = 0

    def do_POST(self):
        type(self).hits += 1
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.mode == "hang":
            time.sleep(5)
            return
        retry_after = None
        if self.mode == "flaky" and type(self).hits < 3:
            body, status = b'{"error": "busy"}', 503
        elif self.mode == "ratelimited" and type(self).hits < 2:
            body, status, retry_after = b'{"error": "slow down"}', 429, "1"
        elif self.mode == "malformed":
            body, status = b'{"choices": [ {"text": "unterminated', 200
        else:  # "nologprobs" and the successful flaky retry: a plain completion without log-probs
            body, status = json.dumps({"choices": [{"index": 0, "text": "ok", "logprobs": None}]}).encode(), 200
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if retry_after:
            self.send_header("Retry-After", retry_after)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def broken_server():
    servers = []

    def start(mode):
        handler = type("H", (_Handler,), {"mode": mode, "hits": 0})
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}/v1", handler

    yield start
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def test_hung_server_times_out_without_hanging(broken_server):
    url, _ = broken_server("hang")
    start = time.monotonic()
    with pytest.raises(LLMError, match="did not answer within 0.5 s"):
        client(url, timeout=0.5).generate(["x"])
    assert time.monotonic() - start < 4  # well before the server's 5 s sleep ends


def test_malformed_json_is_a_clear_error(broken_server):
    url, _ = broken_server("malformed")
    with pytest.raises(LLMError, match="malformed JSON"):
        client(url).generate(["x"])


def test_missing_logprobs_is_a_clear_error(broken_server):
    url, _ = broken_server("nologprobs")
    llm = client(url)
    assert llm.generate(["x"]) == ["ok"]
    with pytest.raises(LLMError, match="no echoed token log-probs"):
        llm.score_choices(["x"], [[" a"]])


def test_retries_with_backoff_then_succeeds(broken_server):
    url, handler = broken_server("flaky")
    assert client(url, backoff=0.01, max_retries=2).generate(["x"]) == ["ok"]
    assert handler.hits == 3


def test_rate_limit_waits_for_retry_after(broken_server):
    url, handler = broken_server("ratelimited")
    start = time.monotonic()
    assert client(url, backoff=0.01, max_retries=1).generate(["x"]) == ["ok"]
    assert handler.hits == 2 and time.monotonic() - start >= 1.0  # waited the server's 1 s, not the 0.01 s backoff


def test_gives_up_after_retries(broken_server):
    url, handler = broken_server("flaky")
    with pytest.raises(LLMError, match="HTTP 503"):
        client(url, backoff=0.01, max_retries=1).generate(["x"])
    assert handler.hits == 2


def test_unreachable_server():
    with pytest.raises(LLMError, match="Cannot reach.*after 2 tries"):
        client("http://127.0.0.1:1/v1", backoff=0.01, max_retries=1).generate(["x"])


def test_empty_inputs_make_no_request():
    llm = client("http://127.0.0.1:1/v1")
    assert llm.generate([]) == [] and llm.score_choices([], []) == []
    with pytest.raises(ValueError, match="empty choice"):
        llm.score_choices(["x"], [[""]])


def test_llm_serve_command_serves_a_backend(tmp_path):
    """`aligngym llm serve` in a subprocess on a free loopback port, used through the openai: spec."""
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, ALIGNGYM_CACHE=str(tmp_path))
    proc = subprocess.Popen([sys.executable, "-m", "aligngym.cli", "llm", "serve", "--llm", "scripted:Hello there",
                             "--port", str(port), "--model-name", "demo"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/models", timeout=1).json()["data"][0]["id"] == "demo":
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert load(f"openai:demo@{url}", cache=False).generate(["Hi"], stop=[" "]) == ["Hello"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_hung_server_with_many_requests_fails_after_one_timeout(broken_server):
    url, handler = broken_server("hang")
    start = time.monotonic()
    with pytest.raises(LLMError, match="did not answer"):
        client(url, timeout=0.5, concurrency=2, batch_size=1).generate([f"p{i}" for i in range(8)])
    assert time.monotonic() - start < 4 and handler.hits <= 4  # queued requests were never sent


def test_timeout_comes_from_the_environment_unless_passed(monkeypatch):
    monkeypatch.setenv("ALIGNGYM_OPENAI_TIMEOUT", "900")
    assert OpenAILLM("m", base_url="http://127.0.0.1:1/v1").timeout == 900.0
    assert OpenAILLM("m", base_url="http://127.0.0.1:1/v1", timeout=5).timeout == 5
    monkeypatch.delenv("ALIGNGYM_OPENAI_TIMEOUT")
    assert OpenAILLM("m", base_url="http://127.0.0.1:1/v1").timeout == 60.0
