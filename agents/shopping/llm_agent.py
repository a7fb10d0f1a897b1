"""The LLM shopping assistant: answers the text face's prompt through any `aligngym.llm` backend.

Three ways to ask (kwarg `mode`):
- "two_step" (default): the model continues the prompt with its explanation (up to `max_new_tokens`, stopping at a
  line that starts "Choice", so an explanation of several paragraphs is kept whole), then the prompt + explanation
  + "Choice:" is continued for a few tokens to get the number. A paper-protocol prompt (a form to fill in) first
  gets "Explanation:" appended; either way the explanation is prefilled with " I", so a base model speaks as the
  assistant instead of starting a list or copying the form. Both calls are batched over the whole batch of
  observations. Small base models answer far more often this way.
- "scored": the explanation as in two_step, then the product number is the one the model finds most likely after
  "Choice:" (`llm.score_choices` over " 1", " 2", ...): never a parse failure, for backends that score.
- "one_shot": one generation per prompt, parsed as a whole (the study's protocol for chat models). Given the env's
  `info["messages"]` (`act(prompts, messages=...)`, as `aligngym shopping run` does), a chat backend (`openai:` with
  ALIGNGYM_OPENAI_CHAT=1, `inspect:`) receives them as system + user messages; other backends get them joined,
  which is the prompt itself.
The agent returns the reply text; the env parses it (a missing or ambiguous choice is a counted parse failure).
"""
from __future__ import annotations

import re

from aligngym.agents.base import Agent, AgentContext
from aligngym.llm.base import LLM

MODES = ("two_step", "scored", "one_shot")
# Room for a whole chat-model reply: in the authors' 960 GPT replies "Choice:" sits at a median of ~446 characters
# (~112 tokens), 99% before ~850 (~212 tokens), the longest reply ~1350 characters (~340 tokens).
MAX_NEW_TOKENS = 400
EXPLANATION_STOP = ["\nChoice", "\n**Choice", "\nCHOICE"]


class ShoppingLLMAgent(Agent):
    def __init__(self, llm: LLM | str = "local", temperature: float = 0.2, max_new_tokens: int = MAX_NEW_TOKENS,
                 mode: str = "two_step", batch_size: int = 0, seed: int = 0):
        if mode not in MODES:
            raise ValueError(f"Unknown mode {mode!r}; allowed: {', '.join(MODES)}.")
        if isinstance(llm, str):
            from aligngym.llm import load
            llm = load(llm)
        self.llm, self.temperature, self.max_new_tokens = llm, float(temperature), int(max_new_tokens)
        self.mode, self.batch_size, self.seed = mode, int(batch_size), int(seed)
        self.name = "shopping.llm"
        self.hyperparameters = {"temperature": self.temperature, "max_new_tokens": self.max_new_tokens,
                                "mode": mode, "llm": llm.describe()}

    def reset(self, num_envs: int = 1, seed: int | None = None) -> None:
        super().reset(num_envs, seed)
        if seed is not None:
            self.seed = int(seed)

    def act(self, obs_batch, messages: list[list[dict]] | None = None) -> list[str]:
        prompts = list(obs_batch)
        size = self.batch_size or len(prompts)  # 0: the whole batch in one call
        replies = []
        for start in range(0, len(prompts), size):
            replies += self._answer(prompts[start:start + size], messages and messages[start:start + size])
        return replies

    def _answer(self, prompts: list[str], messages: list[list[dict]] | None = None) -> list[str]:
        self.seed += 1  # fresh samples on every call, reproducible from the agent's seed
        ask = dict(temperature=self.temperature, seed=self.seed)
        if self.mode == "one_shot":
            if messages:
                return self.llm.generate_messages(messages, max_new_tokens=self.max_new_tokens, stop=["\nBelow is"],
                                                  **ask)
            return self.llm.generate(prompts, max_new_tokens=self.max_new_tokens, stop=["\nBelow is"], **ask)
        starts = [(p if p.rstrip().endswith("Explanation:") else p + "\n\nExplanation:", " I") for p in prompts]
        drafts = self.llm.generate([p + lead for p, lead in starts], stop=EXPLANATION_STOP,
                                   max_new_tokens=self.max_new_tokens, **ask)
        explanations = [(lead.strip() + e).strip() for (_, lead), e in zip(starts, drafts)]
        followups = [f"{p} {e}\nChoice:" for (p, _), e in zip(starts, explanations)]
        if self.mode == "scored":
            options = [[f" {i + 1}" for i in range(option_count(p))] for p in prompts]
            scores = self.llm.score_choices(followups, options)
            choices = [opts[max(range(len(opts)), key=sc.__getitem__)] for opts, sc in zip(options, scores)]
        else:
            choices = self.llm.generate(followups, max_new_tokens=4, stop=["\n"], **ask)
        return [f"{e}\nChoice:{c}" for e, c in zip(explanations, choices)]


def option_count(prompt: str) -> int:
    """How many numbered products or options the prompt lists (lines "1. ..." or "[Product ID: 1] ...")."""
    return max(2, len(re.findall(r"^(?:\d+\. |\[Product ID: \d+\])", prompt, re.M)))


def llm_agent(ctx: AgentContext, llm: str = "local", temperature: float = 0.2, max_new_tokens: int = MAX_NEW_TOKENS,
              mode: str = "two_step", batch_size: int = 0):
    """Factory for `shopping.llm?llm=local&temperature=0.2` on AlignGym/ShoppingText-v0."""
    return ShoppingLLMAgent(llm, temperature, max_new_tokens, mode, batch_size, seed=ctx.seed)
