"""Agents for the questionnaire (text) face: an LLM examinee and a position-biased answerer.

LLM examinee: the observation already carries the population's answers to related elicitation items (this
century and earlier ones), so the model is conditioned in context. It answers by `score_choices` over the option
numbers (mode "score", default: always a valid option; on `answer="probability"` envs the softmax of those
log-probabilities is the answer distribution, as ProgressGym measures) or by generating a reply parsed with
`aligngym.llm.parsing.parse_choice` (mode "generate"); an unparsable reply becomes `NO_ANSWER`, which the env counts
as a parse failure (metric `parse_failure`) and scores as a uniform answer. All prompts of a batch go in one call.

Optional LoRA (`lora=true`): before answering, fine-tune LoRA adapters (peft) on the elicitation items in the prompt
(the block of the question's dimension, once per block and survey year: all 33 items over a timestep), with the
population's majority answer as the target. Needs a CUDA GPU, `pip install peft`,
and a Hugging Face backend (`llm=local`, `hf:<id>` or `path:<dir>`) exposing `.model` and `.tokenizer`; otherwise
the factory refuses with a message.
"""
from __future__ import annotations

import re

import numpy as np

from aligngym.agents.base import Agent, AgentContext
from aligngym.envs.progress.text import MAX_OPTIONS, NO_ANSWER
from aligngym.llm.parsing import parse_choice

_OPTION = re.compile(r"^(\d)\) ", re.M)
_SHARES = re.compile(r"Question: (?P<q>.*?)\n(?P<opts>(?:\d\) .*\n)+)Shares by year: (?P<shares>.*)")


def count_options(text: str) -> int:
    """Options of the question being asked (the block after the last "Question:")."""
    last = text.rsplit("Question:", 1)[-1]
    return max(1, len(_OPTION.findall(last)))


def _pad(p: np.ndarray) -> np.ndarray:
    """A distribution over the shown options as the probability channel's action (zeros past them)."""
    out = np.zeros(MAX_OPTIONS)
    out[:len(p)] = p
    return out


class FirstOptionAgent(Agent):
    """Always picks the first-listed option: pure position bias. Order-debiased measurement reads it as neutral."""

    name = "progress.first_option"

    def act(self, obs_batch):
        return np.zeros(len(obs_batch), dtype=np.int64)


class RandomAnswerAgent(Agent):
    """The text face's random baseline: a uniformly random one of the shown options (as a one-hot distribution on
    the probability channel), never an out-of-range index. Chance in expectation, below chance per episode (it
    measures sampling noise); the generic `random` samples all of Discrete(5) and fails to parse about half the time."""

    name = "progress.random_answer"

    def __init__(self, probability: bool):
        self.probability = probability
        self.rng = np.random.default_rng(0)

    def reset(self, num_envs: int = 1, seed: int | None = None) -> None:
        super().reset(num_envs, seed)
        self.rng = np.random.default_rng(seed)

    def act(self, obs_batch):
        choices = np.array([self.rng.integers(count_options(t)) for t in obs_batch], dtype=np.int64)
        return np.eye(MAX_OPTIONS, dtype=np.float32)[choices] if self.probability else choices


class LLMExaminee(Agent):
    name = "progress.llm"

    def __init__(self, llm, mode: str = "score", max_new_tokens: int = 6, lora: bool = False,
                 probability: bool = False):
        if mode not in ("score", "generate"):
            raise ValueError(f"mode must be 'score' or 'generate', got {mode!r}.")
        self.llm, self.mode, self.max_new_tokens, self.lora = llm, mode, max_new_tokens, lora
        self.probability = probability
        self.parse_failures = 0
        self.hyperparameters = {"llm": llm.describe(), "mode": mode, "max_new_tokens": max_new_tokens, "lora": lora,
                                "probability": probability}
        if lora:
            from dataclasses import asdict

            from aligngym.agents.progress.lora import ARGS
            self.hyperparameters["lora_args"] = asdict(ARGS)
        self._tuned_on: set[str] = set()

    def reset(self, num_envs: int = 1, seed: int | None = None) -> None:
        super().reset(num_envs, seed)
        # every episode draws its own value history: train on it from the base model (the keys of what was trained
        # on, "year ..." and the first question, recur in every episode, so without this only episode 1 trained)
        if self._tuned_on and hasattr(self.llm, "lm"):
            from aligngym.agents.progress.lora import reset_adapters
            reset_adapters(self.llm.lm)
        self._tuned_on.clear()

    def act(self, obs_batch):
        texts = list(obs_batch)
        n_opts = [count_options(t) for t in texts]
        if self.lora:
            self._maybe_finetune(texts)
        if self.mode == "score":
            scores = self.llm.score_choices(texts, [[f" {i + 1}" for i in range(n)] for n in n_opts])
            if self.probability:  # the answer distribution: softmax of the option numbers' log-probabilities
                return np.stack([_pad(np.exp(s - np.max(s)) / np.exp(s - np.max(s)).sum()) for s in
                                 map(np.asarray, scores)])
            return np.array([int(np.argmax(s)) for s in scores], dtype=np.int64)
        replies = self.llm.generate(texts, max_new_tokens=self.max_new_tokens, temperature=0.0, stop=["\n"])
        actions = []
        for reply, n in zip(replies, n_opts):
            choice = parse_choice(reply, n)
            self.parse_failures += choice is None
            if self.probability:  # no NO_ANSWER on this channel: an unparsable reply answers uniformly
                actions.append(_pad(np.full(n, 1.0 / n) if choice is None else np.eye(n)[choice - 1]))
            else:
                actions.append(NO_ANSWER if choice is None else choice - 1)
        return np.stack(actions) if self.probability else np.array(actions, dtype=np.int64)

    def _maybe_finetune(self, texts):
        """One LoRA pass per survey year and elicitation block, on the majority answers of the in-context
        elicitation items: a question shows the block of its own dimension, so over a timestep's questionnaire
        every elicitation item is trained on, each once."""
        from aligngym.agents.progress.lora import finetune

        for text in texts:
            blocks = list(_SHARES.finditer(text))
            key = (text.split("\n", 1)[0], blocks[0].group("q") if blocks else "")
            if key in self._tuned_on:
                continue
            self._tuned_on.add(key)
            examples = []
            for m in blocks:
                latest = m.group("shares").split(" | ")[-1]
                shares = [float(x) for x in re.findall(r"\d\) (\d+)%", latest)]
                if shares:
                    prompt = f"Question: {m.group('q')}\n{m.group('opts')}Answer:"
                    examples.append((prompt, f" {int(np.argmax(shares)) + 1}"))
            finetune(self.llm, examples)


def first_option(ctx: AgentContext) -> Agent:
    return FirstOptionAgent()


def random_answer(ctx: AgentContext) -> Agent:
    return RandomAnswerAgent(probability=ctx.env_kwargs.get("answer") == "probability")


def llm_examinee(ctx: AgentContext, llm="local", mode: str = "score", max_new_tokens: int = 6,
                 lora: bool = False) -> Agent:
    """`llm`: a spec string for `aligngym.llm.load` ("local", "hf:<id>", "path:<dir>", "openai:<model>@<url>")
    or an LLM object (e.g. `aligngym.llm.ScriptedLLM` in tests)."""
    if isinstance(llm, str):
        from aligngym.llm import load
        llm = load(llm, cache=False, reuse=False) if lora else load(llm)  # LoRA changes the model: no cache
    if lora:
        from aligngym.agents.progress.lora import check_available
        check_available(llm)
    return LLMExaminee(llm, mode=mode, max_new_tokens=max_new_tokens, lora=lora,
                       probability=ctx.env_kwargs.get("answer") == "probability")
