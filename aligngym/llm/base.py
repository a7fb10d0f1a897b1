"""The protocol every LLM backend implements, batched by design.

    llm.generate(prompts, max_new_tokens=64, temperature=0.0, stop=None, seed=None) -> list[str]
    llm.score_choices(prompts, choices) -> list[list[float]]   # sum of token log-probs of each choice
    llm.usage -> {"prompt_tokens": int, "generated_tokens": int, "calls": int, "cache_hits": int}
    llm.describe() -> {"backend", "model", "revision", ...}     # recorded into RunRecords

`ScriptedLLM` is a deterministic stand-in for tests and examples: it answers from a Python function.
Backends from `aligngym.llm.load` carry a response cache (`llm.cache`, see cache.py); `usage["cache_hits"]`
counts answers served from it (their tokens are not counted again).
"""
from __future__ import annotations

import re
from typing import Any, Callable, Sequence


class LLMError(RuntimeError):
    """A backend could not answer (server unreachable, timed out, malformed reply, missing feature)."""


class LLM:
    """Base class for backends. Subclasses implement `_generate` and `_score_choices`."""

    backend = "base"
    model = "unknown"
    revision = ""
    cache = None  # a ResponseCache, or None for no caching

    def __init__(self) -> None:
        self.usage = {"prompt_tokens": 0, "generated_tokens": 0, "calls": 0, "cache_hits": 0}

    supports_messages = False  # True where `generate_messages` sends chat messages as such (`_generate` gets lists)

    def generate_messages(self, conversations: Sequence[Sequence[dict]], max_new_tokens: int = 64,
                          temperature: float = 0.0, stop: Sequence[str] | None = None,
                          seed: int | None = None) -> list[str]:
        """One reply per conversation (a list of {role, content} messages). A backend with a chat API sends the
        messages as they are; any other gets their contents joined by a blank line, as one prompt."""
        conversations = [[{"role": str(m["role"]), "content": str(m["content"])} for m in c] for c in conversations]
        if not self.supports_messages:
            return self.generate(["\n\n".join(m["content"] for m in c) for c in conversations], max_new_tokens,
                                 temperature, stop, seed)
        return self.generate(conversations, max_new_tokens, temperature, stop, seed)

    def generate(self, prompts: Sequence[str], max_new_tokens: int = 64, temperature: float = 0.0,
                 stop: Sequence[str] | None = None, seed: int | None = None) -> list[str]:
        """One completion per prompt string (or, from `generate_messages` on a backend that supports messages,
        per list of chat messages: `_generate` then receives those lists)."""
        prompts = list(prompts)
        if not prompts:
            return []
        if max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}.")
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}.")
        stop = list(stop or [])
        self.usage["calls"] += 1
        if self.cache is None or (temperature > 0 and seed is None):  # unseeded sampling is never cached
            outs = self._generate(prompts, max_new_tokens, temperature, stop, seed)
        elif temperature > 0:  # a seeded batch's samples depend on the whole batch: cache the call
            call = ("generate-batch", prompts, max_new_tokens, temperature, stop, seed)
            outs = self._cached([call], lambda _: [self._generate(prompts, max_new_tokens, temperature, stop,
                                                                  seed)])[0]
        else:  # greedy: each prompt's answer is independent of its batch
            keys = [("generate", p, max_new_tokens, stop) for p in prompts]
            outs = self._cached(keys, lambda miss: self._generate([k[1] for k in miss], max_new_tokens, 0.0,
                                                                 stop, None))
        return [truncate_at_stop(o, stop) for o in outs]

    def score_choices(self, prompts: Sequence[str], choices: Sequence[Sequence[str]]) -> list[list[float]]:
        prompts, choices = list(prompts), [list(c) for c in choices]
        if len(prompts) != len(choices):
            raise ValueError(f"score_choices got {len(prompts)} prompts but {len(choices)} choice lists.")
        if not prompts:
            return []
        for c in choices:
            if not c:
                raise ValueError("score_choices: every prompt needs at least one choice.")
        self.usage["calls"] += 1
        if self.cache is None:
            return self._score_choices(prompts, choices)
        keys = [("score", p, c) for p, c in zip(prompts, choices)]
        return self._cached(keys, lambda miss: self._score_choices([k[1] for k in miss], [k[2] for k in miss]))

    def describe(self) -> dict[str, Any]:
        return {"backend": self.backend, "model": self.model, "revision": self.revision, "usage": dict(self.usage)}

    def cache_identity(self) -> dict[str, Any]:
        """What, besides prompt and parameters, decides an answer (backends add e.g. chat mode or URL)."""
        return {"backend": self.backend, "model": self.model, "revision": self.revision}

    def _cached(self, keys: list[tuple], compute: Callable[[list[tuple]], list]) -> list:
        """Answers for `keys` from the cache, computing the misses (deduplicated) in one call."""
        from aligngym.llm.cache import make_key

        ident = self.cache_identity()
        hashes = [make_key(ident, k) for k in keys]
        found = self.cache.get_many(list(dict.fromkeys(hashes)))
        self.usage["cache_hits"] += sum(h in found for h in hashes)
        missing = {h: k for h, k in zip(hashes, keys) if h not in found}
        if missing:
            values = compute(list(missing.values()))
            found.update(zip(missing, values))
            self.cache.put_many(zip(missing, values))
        return [found[h] for h in hashes]

    def token_logprobs(self, texts: Sequence[str]) -> list[list[tuple[str, float | None, int]]]:
        """Each text's tokens as (token text, log-prob given the text before it or None for the first,
        character offset). Backs `echo` + `logprobs` in `aligngym llm serve`."""
        raise NotImplementedError(f"The {self.backend} backend does not provide token log-probs.")

    def _generate(self, prompts, max_new_tokens, temperature, stop, seed) -> list[str]:
        raise NotImplementedError

    def _score_choices(self, prompts, choices) -> list[list[float]]:
        raise NotImplementedError


def truncate_at_stop(text: str, stop: Sequence[str] | None) -> str:
    cut = len(text)
    for s in stop or []:
        i = text.find(s)
        if s and i >= 0:
            cut = min(cut, i)
    return text[:cut]


class ScriptedLLM(LLM):
    """Answers with `reply(prompt) -> str`; scores a choice by `score(prompt, choice) -> float`
    (default: 0 for the choice `reply` starts with, -5 otherwise). For tests and examples only."""

    backend = "scripted"

    def __init__(self, reply: Callable[[str], str], score: Callable[[str, str], float] | None = None,
                 model: str = "scripted"):
        super().__init__()
        self.reply, self.score, self.model = reply, score, model

    def _generate(self, prompts, max_new_tokens, temperature, stop, seed):
        outs = [self.reply(p) for p in prompts]
        self.usage["prompt_tokens"] += sum(len(p.split()) for p in prompts)
        self.usage["generated_tokens"] += sum(len(o.split()) for o in outs)
        return outs

    def token_logprobs(self, texts):
        """Words (with their leading space) as tokens; a word's log-prob is the score of it as a choice
        after the text before it, so scoring through `aligngym llm serve` matches `score_choices` for
        one-word choices."""
        out = []
        for text in texts:
            words = [(m.group(), m.start()) for m in re.finditer(r"\s*\S+|\s+$", text)]
            out.append([(w, None if i == 0 else self._score_choices([text[:off]], [[w]])[0][0], off)
                        for i, (w, off) in enumerate(words)])
        return out

    def _score_choices(self, prompts, choices):
        if self.score:
            return [[float(self.score(p, c)) for c in cs] for p, cs in zip(prompts, choices)]
        return [[0.0 if self.reply(p).strip().startswith(c.strip()) else -5.0 for c in cs]
                for p, cs in zip(prompts, choices)]
