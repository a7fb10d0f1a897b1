"""Any backend as an OpenAI-compatible server, so many env workers share one loaded model.

    GET  /v1/models
    POST /v1/completions        prompt (string or list), max_tokens, temperature, stop, seed, echo, logprobs
    POST /v1/chat/completions   messages, max_tokens, temperature, stop, seed

A list of prompts runs as one batched `generate`. `echo` + `logprobs` return the log-prob of every token of
the text (what `OpenAILLM.score_choices` needs); `logprobs` alone returns those of the generated tokens.
Chat messages become one completion prompt: a lone user message (after an optional system message) as is,
longer conversations as "Role: content" lines ending with "Assistant:". The model is not thread-safe, so
calls run one at a time; concurrent requests with equal parameters are merged into one batched `generate`
(up to `max_batch` prompts, waiting at most `wait_s` for company), so many env workers each sending one
prompt still get batched throughput. Token usage of a merged call is split among its requests by prompt count.
"""
from __future__ import annotations

import queue
import threading
import time
import uuid
from concurrent.futures import Future
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from aligngym.llm.base import LLM


class BadRequest(ValueError):
    pass


def messages_to_prompt(messages: Any) -> str:
    if not isinstance(messages, list) or not messages or not all(
            isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages):
        raise BadRequest("`messages` must be a non-empty list of {role, content} objects with string content.")
    roles = [m.get("role", "user") for m in messages]
    if roles[-1] == "user" and all(r == "system" for r in roles[:-1]) and len(roles) <= 2:
        return "\n\n".join(m["content"] for m in messages)
    lines = [f"{m.get('role', 'user').capitalize()}: {m['content']}" for m in messages]
    return "\n".join(lines + ["Assistant:"])


def _params(body: dict) -> dict:
    max_tokens = body.get("max_tokens", 16)
    temperature = body.get("temperature", 1.0)
    stop = body.get("stop") or []
    stop = [stop] if isinstance(stop, str) else stop
    seed = body.get("seed")
    if not isinstance(max_tokens, int) or max_tokens < 0:
        raise BadRequest(f"`max_tokens` must be an integer >= 0, got {max_tokens!r}.")
    if not isinstance(temperature, (int, float)) or temperature < 0:
        raise BadRequest(f"`temperature` must be a number >= 0, got {temperature!r}.")
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise BadRequest("`stop` must be a string or a list of strings.")
    if seed is not None and not isinstance(seed, int):
        raise BadRequest(f"`seed` must be an integer, got {seed!r}.")
    return {"max_new_tokens": max_tokens, "temperature": float(temperature), "stop": stop, "seed": seed}


def _usage(prompt_tokens: int, completion_tokens: int) -> dict:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


class Batcher:
    """Runs backend calls one at a time and merges concurrent `generate` requests with equal parameters."""

    def __init__(self, llm: LLM, max_batch: int = 16, wait_s: float = 0.01):
        self.llm, self.max_batch, self.wait_s = llm, max_batch, wait_s
        self.lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._loop, daemon=True).start()

    def call(self, fn, *args, **kwargs):
        """Any backend call under the lock; returns (result, OpenAI-style usage of the call)."""
        with self.lock:
            before = dict(self.llm.usage)
            result = fn(*args, **kwargs)
            return result, _usage(self.llm.usage["prompt_tokens"] - before["prompt_tokens"],
                                  self.llm.usage["generated_tokens"] - before["generated_tokens"])

    def generate(self, prompts: list[str], params: dict) -> tuple[list[str], dict]:
        future: Future = Future()
        self._queue.put((prompts, params, future))
        return future.result()

    def _loop(self) -> None:
        held: list = []  # requests taken from the queue but not yet run (other parameters)
        while True:
            first = held.pop(0) if held else self._queue.get()
            group, size = [first], len(first[0])
            deadline = time.monotonic() + self.wait_s
            for item in list(held):
                if item[1] == first[1] and size + len(item[0]) <= self.max_batch:
                    held.remove(item)
                    group.append(item)
                    size += len(item[0])
            while size < self.max_batch:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item[1] == first[1] and size + len(item[0]) <= self.max_batch:
                    group.append(item)
                    size += len(item[0])
                else:
                    held.append(item)
            self._run(group, size)

    def _run(self, group: list, size: int) -> None:
        try:
            texts, usage = self.call(self.llm.generate, [p for prompts, _, _ in group for p in prompts], **group[0][1])
        except Exception as e:  # the error goes back to every request of the batch
            for _, _, future in group:
                future.set_exception(e)
            return
        k = 0
        for prompts, _, future in group:
            share = len(prompts) / size
            future.set_result((texts[k:k + len(prompts)], _usage(round(usage["prompt_tokens"] * share),
                                                                 round(usage["completion_tokens"] * share))))
            k += len(prompts)


def make_app(llm: LLM, model_name: str | None = None, max_batch: int = 16, wait_s: float = 0.01) -> FastAPI:
    name = model_name or llm.model
    app = FastAPI(title="AlignGym LLM server", description=f"OpenAI-compatible endpoint for {name}")
    batcher = Batcher(llm, max_batch, wait_s)
    run = batcher.call

    def generate(prompts: list[str], p: dict) -> tuple[list[str], dict]:
        if p["max_new_tokens"] == 0:
            return [""] * len(prompts), _usage(0, 0)
        if len(prompts) >= max_batch:  # already a full batch: no need to wait for company
            return run(llm.generate, prompts, **p)
        return batcher.generate(prompts, p)

    @app.exception_handler(BadRequest)
    async def bad_request(request: Request, exc: BadRequest):
        return JSONResponse(status_code=400, content={"error": {"message": str(exc), "type": "invalid_request_error"}})

    @app.exception_handler(NotImplementedError)
    async def not_implemented(request: Request, exc: NotImplementedError):
        return JSONResponse(status_code=501, content={"error": {"message": str(exc), "type": "not_implemented"}})

    @app.get("/v1/models")
    def models():
        return {"object": "list", "data": [{"id": name, "object": "model", "created": 0, "owned_by": "aligngym",
                                            "backend": llm.describe()}]}

    @app.post("/v1/completions")
    def completions(body: dict):
        prompts = body.get("prompt")
        prompts = [prompts] if isinstance(prompts, str) else prompts
        if not isinstance(prompts, list) or not prompts or not all(isinstance(x, str) for x in prompts):
            raise BadRequest("`prompt` must be a string or a non-empty list of strings.")
        p = _params(body)
        echo, want_logprobs = bool(body.get("echo")), body.get("logprobs") is not None
        texts, usage = generate(prompts, p)
        logprobs = [None] * len(prompts)
        if want_logprobs:
            full = [prompt + t for prompt, t in zip(prompts, texts)]
            per_text, more = run(llm.token_logprobs, full)
            usage["prompt_tokens"] += more["prompt_tokens"]
            usage["total_tokens"] += more["prompt_tokens"]
            for i, (prompt, toks) in enumerate(zip(prompts, per_text)):
                cut = 0 if echo else len(prompt)
                toks = [(s, v, off - cut) for s, v, off in toks if off >= cut]
                logprobs[i] = {"tokens": [s for s, _, _ in toks], "token_logprobs": [v for _, v, _ in toks],
                               "text_offset": [off for _, _, off in toks], "top_logprobs": None}
        choices = [{"index": i, "text": (prompt if echo else "") + t, "logprobs": lp,
                    "finish_reason": "length" if p["max_new_tokens"] else "stop"}
                   for i, (prompt, t, lp) in enumerate(zip(prompts, texts, logprobs))]
        return {"id": f"cmpl-{uuid.uuid4().hex[:12]}", "object": "text_completion", "created": int(time.time()),
                "model": name, "choices": choices, "usage": usage}

    @app.post("/v1/chat/completions")
    def chat_completions(body: dict):
        prompt = messages_to_prompt(body.get("messages"))
        p = _params(body)
        if p["max_new_tokens"] == 0:
            raise BadRequest("`max_tokens` must be >= 1 for chat completions.")
        texts, usage = generate([prompt], p)
        return {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion", "created": int(time.time()),
                "model": name, "usage": usage,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": texts[0]},
                             "finish_reason": "length"}]}

    return app


class BackgroundServer:
    """Runs `make_app(llm)` with uvicorn in a daemon thread (tests, notebooks); `url` ends in /v1."""

    def __init__(self, llm: LLM, host: str = "127.0.0.1", port: int = 0, model_name: str | None = None,
                 **app_options):
        import socket

        import uvicorn

        if port == 0:  # pick a free port
            with socket.socket() as s:
                s.bind((host, 0))
                port = s.getsockname()[1]
        self.url = f"http://{host}:{port}/v1"
        config = uvicorn.Config(make_app(llm, model_name, **app_options), host=host, port=port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> "BackgroundServer":
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"The LLM server at {self.url} did not start.")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
