"""OpenAI-compatible HTTP backend (vLLM, llama.cpp server, Ollama, hosted APIs, `aligngym llm serve`).

- Base URL and key: arguments, else `$OPENAI_BASE_URL` / `$OPENAI_API_KEY` (a key is optional for local servers).
- `generate` uses /completions (prompts sent in arrays of `batch_size`, so the server can batch them), or
  /chat/completions with one user message per prompt when `chat=True` (or `$ALIGNGYM_OPENAI_CHAT=1`); in chat mode
  `generate_messages` sends each conversation's messages (system + user) as they are.
- `score_choices` uses /completions with `echo=True, logprobs=1, max_tokens=0` on prompt+choice and sums the
  log-probs of the tokens that overlap the choice's characters; a server that returns no echoed log-probs
  gets a clear `LLMError`.
- Up to `concurrency` requests in flight; each request has `timeout` seconds (connect, read, write); connection
  errors, 429 and 5xx are retried `max_retries` times with exponential backoff (`backoff` * 2**attempt), or
  after the server's Retry-After seconds (at most `timeout`).
  A timeout is not retried, so a hung server costs the caller at most `timeout` seconds per request.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from aligngym.llm.base import LLM, LLMError


class OpenAILLM(LLM):
    backend = "openai"

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None, chat: bool | None = None,
                 timeout: float | None = None, max_retries: int = 2, backoff: float = 0.5, concurrency: int = 8,
                 batch_size: int = 16):
        super().__init__()
        base_url = base_url or os.environ.get("OPENAI_BASE_URL")
        if not base_url:
            raise ValueError(f"openai:{model} needs a server URL: use the spec 'openai:{model}@http://host:port/v1' "
                             "or set OPENAI_BASE_URL.")
        self.model, self.base_url = model, base_url.rstrip("/")
        self.chat = chat if chat is not None else os.environ.get("ALIGNGYM_OPENAI_CHAT", "0") == "1"
        if timeout is None:  # slow servers (a large model, a CPU) need more than 60 s; the CLIs pass no options
            timeout = float(os.environ.get("ALIGNGYM_OPENAI_TIMEOUT", "60"))
        self.timeout, self.max_retries, self.backoff = timeout, max_retries, backoff
        self.concurrency, self.batch_size = max(1, concurrency), max(1, batch_size)
        key = api_key or os.environ.get("OPENAI_API_KEY")
        self._client = httpx.Client(timeout=httpx.Timeout(timeout),
                                    headers={"Authorization": f"Bearer {key}"} if key else {},
                                    limits=httpx.Limits(max_connections=self.concurrency))

    @property
    def supports_messages(self) -> bool:  # `generate_messages` sends system + user messages to /chat/completions
        return self.chat

    def describe(self):
        return {**super().describe(), "base_url": self.base_url, "chat": self.chat}

    def cache_identity(self):
        return {**super().cache_identity(), "base_url": self.base_url, "chat": self.chat}

    def close(self) -> None:
        self._client.close()

    # ---- transport ------------------------------------------------------------------------------------------

    def _post(self, path: str, body: dict) -> dict:
        url = f"{self.base_url}{path}"
        for attempt in range(self.max_retries + 1):
            try:
                r = self._client.post(url, json=body)
            except httpx.TimeoutException as e:
                raise LLMError(f"{url} did not answer within {self.timeout} s ({type(e).__name__}).") from e
            except httpx.TransportError as e:
                if attempt == self.max_retries:
                    raise LLMError(f"Cannot reach {url}: {e} (after {attempt + 1} tries).") from e
            else:
                if r.status_code < 400:
                    try:
                        data = r.json()
                    except ValueError as e:
                        raise LLMError(f"{url} returned malformed JSON: {r.text[:200]!r}") from e
                    if not isinstance(data, dict):
                        raise LLMError(f"{url} returned JSON that is not an object: {r.text[:200]!r}")
                    return data
                if r.status_code != 429 and r.status_code < 500 or attempt == self.max_retries:
                    raise LLMError(f"{url} answered HTTP {r.status_code}: {r.text[:300]}")
                if r.headers.get("retry-after", "").isdigit():  # the server says when; wait at most `timeout`
                    time.sleep(min(float(r.headers["retry-after"]), self.timeout))
                    continue
            time.sleep(self.backoff * 2 ** attempt)
        raise AssertionError("unreachable")

    def _map(self, fn, items: list) -> list:
        if len(items) == 1 or self.concurrency == 1:
            return [fn(x) for x in items]
        pool = ThreadPoolExecutor(max_workers=min(self.concurrency, len(items)))
        try:
            return list(pool.map(fn, items))
        finally:  # after a failure, requests not yet sent are dropped rather than each waiting out a timeout
            pool.shutdown(wait=True, cancel_futures=True)

    def _count(self, data: dict) -> None:
        usage = data.get("usage") or {}
        self.usage["prompt_tokens"] += int(usage.get("prompt_tokens") or 0)
        self.usage["generated_tokens"] += int(usage.get("completion_tokens") or 0)

    @staticmethod
    def _choices(data: dict, n: int, url: str) -> list[dict]:
        """The `choices` of a reply, ordered by `index`; LLMError when there are not n of them."""
        choices = data.get("choices")
        if not isinstance(choices, list) or len(choices) != n or not all(isinstance(c, dict) for c in choices):
            raise LLMError(f"{url} returned {len(choices) if isinstance(choices, list) else 'no'} choices, "
                           f"expected {n}: {str(data)[:200]}")
        return sorted(choices, key=lambda c: c.get("index", 0))

    # ---- the protocol ---------------------------------------------------------------------------------------

    def _generate(self, prompts, max_new_tokens, temperature, stop, seed):
        params: dict[str, Any] = {"model": self.model, "max_tokens": max_new_tokens, "temperature": temperature}
        if stop:
            params["stop"] = stop[:4]  # the OpenAI API takes at most 4; the base class truncates at all of them
        if seed is not None:
            params["seed"] = seed
        if self.chat:
            def one(prompt: str | list[dict]) -> str:  # a prompt string, or messages from `generate_messages`
                messages = prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]
                data = self._post("/chat/completions", {**params, "messages": messages})
                self._count(data)
                message = self._choices(data, 1, self.base_url + "/chat/completions")[0].get("message") or {}
                if not isinstance(message.get("content"), str):
                    raise LLMError(f"{self.base_url}/chat/completions returned no message content: {str(data)[:200]}")
                return message["content"]
            return self._map(one, prompts)

        def batch(chunk: list[str]) -> list[str]:
            data = self._post("/completions", {**params, "prompt": chunk})
            self._count(data)
            texts = [c.get("text") for c in self._choices(data, len(chunk), self.base_url + "/completions")]
            if not all(isinstance(t, str) for t in texts):
                raise LLMError(f"{self.base_url}/completions returned choices without text: {str(data)[:200]}")
            return texts
        chunks = [prompts[i:i + self.batch_size] for i in range(0, len(prompts), self.batch_size)]
        return [t for texts in self._map(batch, chunks) for t in texts]

    def _score_choices(self, prompts, choices):
        for cs in choices:
            if any(not c for c in cs):
                raise ValueError("score_choices: empty choice strings cannot be scored (no tokens).")
        pairs = [(p, c) for p, cs in zip(prompts, choices) for c in cs]
        url = self.base_url + "/completions"

        def batch(chunk: list[tuple[str, str]]) -> list[float]:
            data = self._post("/completions", {"model": self.model, "prompt": [p + c for p, c in chunk],
                                               "max_tokens": 0, "temperature": 0, "echo": True, "logprobs": 1})
            self._count(data)
            return [_choice_logprob(choice.get("logprobs"), len(p), len(p) + len(c), url)
                    for (p, c), choice in zip(chunk, self._choices(data, len(chunk), url))]
        chunks = [pairs[i:i + self.batch_size] for i in range(0, len(pairs), self.batch_size)]
        flat = [s for scores in self._map(batch, chunks) for s in scores]
        out, k = [], 0
        for cs in choices:
            out.append(flat[k:k + len(cs)])
            k += len(cs)
        return out


def _choice_logprob(logprobs: Any, start: int, end: int, url: str) -> float:
    """Sum of the echoed log-probs of the tokens overlapping characters [start, end)."""
    if not isinstance(logprobs, dict) or not isinstance(logprobs.get("token_logprobs"), list):
        raise LLMError(f"{url} returned no echoed token log-probs; score_choices over HTTP needs a /completions "
                       "endpoint that supports echo=True with logprobs (e.g. vLLM or `aligngym llm serve`).")
    tokens, values = logprobs.get("tokens") or [], logprobs["token_logprobs"]
    offsets = logprobs.get("text_offset")
    if not isinstance(offsets, list):  # rebuild offsets from the token strings
        offsets, pos = [], 0
        for t in tokens:
            offsets.append(pos)
            pos += len(t)
    if not (len(tokens) == len(values) == len(offsets)):
        raise LLMError(f"{url} returned log-probs with mismatched lengths.")
    total, n = 0.0, 0
    for tok, value, off in zip(tokens, values, offsets):
        if off < end and off + max(len(tok), 1) > start:
            if value is None:
                raise LLMError(f"{url} returned no log-prob for choice token {tok!r}.")
            total, n = total + float(value), n + 1
    if n == 0:
        raise LLMError(f"{url} echoed no tokens for the choice text at characters {start}..{end}.")
    return total
