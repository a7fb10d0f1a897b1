"""LLM players for the repeated shopping game's text face (AlignGym/ShoppingGameText-v1): the customer and the
assistant (the company's side), each answering its prompt through any `aligngym.llm` backend.

Three ways to ask (kwarg `mode`):
- "complete" (default): the prompt plus "\\n\\nChoice:" is continued for a few tokens, and the reply is "Choice:"
  and that continuation. A base model then names an option far more often than when left to write freely.
- "one_shot": one free reply of up to `max_new_tokens` (a chat model may reason first; the prompt asks it to end
  with a `Choice:` line).
- "scored": the option the model finds most likely after "Choice:" (`llm.score_choices`): never a parse failure,
  for backends that score.
The agent returns reply text; the env parses it, counts unparsable replies and falls back to a plain purchase of
the customer's pick. An empty observation means it is the other player's turn: the agent answers "" without
calling the model, so a game costs one model call per move.
"""
from __future__ import annotations

from aligngym.agents.base import Agent, AgentContext
from aligngym.agents.shopping.llm_agent import option_count
from aligngym.llm.base import LLM

MODES = ("complete", "one_shot", "scored")
MAX_NEW_TOKENS = {"complete": 4, "one_shot": 300, "scored": 1}  # one_shot: room to reason before the Choice line


class GameLLMAgent(Agent):
    def __init__(self, llm: LLM | str = "local", player: str = "assistant", temperature: float = 0.2,
                 mode: str = "complete", max_new_tokens: int = 0, seed: int = 0):
        if mode not in MODES:
            raise ValueError(f"Unknown mode {mode!r}; allowed: {', '.join(MODES)}.")
        if isinstance(llm, str):
            from aligngym.llm import load
            llm = load(llm)
        self.llm, self.player, self.temperature, self.mode = llm, player, float(temperature), mode
        self.max_new_tokens = int(max_new_tokens) or MAX_NEW_TOKENS[mode]
        self.seed = int(seed)
        self.name = "shopping.game_llm"
        self.hyperparameters = {"player": player, "temperature": self.temperature, "mode": mode,
                                "max_new_tokens": self.max_new_tokens, "llm": llm.describe()}

    def reset(self, num_envs: int = 1, seed: int | None = None) -> None:
        super().reset(num_envs, seed)
        if seed is not None:
            self.seed = int(seed)

    def act(self, obs_batch) -> list[str]:
        prompts = list(obs_batch)
        live = [i for i, p in enumerate(prompts) if p]
        replies = [""] * len(prompts)
        if live:
            for i, reply in zip(live, self._answer([prompts[i] for i in live])):
                replies[i] = reply
        return replies

    def _answer(self, prompts: list[str]) -> list[str]:
        self.seed += 1  # fresh samples on every call, reproducible from the agent's seed
        ask = dict(temperature=self.temperature, seed=self.seed)
        if self.mode == "one_shot":
            return self.llm.generate(prompts, max_new_tokens=self.max_new_tokens, **ask)
        followups = [p + "\n\nChoice:" for p in prompts]
        if self.mode == "scored":
            options = [[f" {i + 1}" for i in range(option_count(p))] for p in prompts]
            scores = self.llm.score_choices(followups, options)
            return [f"Choice:{opts[max(range(len(opts)), key=sc.__getitem__)]}" for opts, sc in zip(options, scores)]
        answers = self.llm.generate(followups, max_new_tokens=self.max_new_tokens, **ask)  # a number may follow
        # blank lines (the base model often starts "\n\n1."), so no stop at a line break
        return [f"Choice:{a}" for a in answers]


def game_llm(ctx: AgentContext, llm: str = "local", temperature: float = 0.2, mode: str = "complete",
             max_new_tokens: int = 0):
    """Factory for `shopping.game_llm?llm=local&temperature=0.2&mode=complete` on AlignGym/ShoppingGameText-v1:
    {customer, assistant}, both answering through one backend (loaded once)."""
    if set(ctx.agents) != {"customer", "assistant"}:
        raise ValueError(f"shopping.game_llm plays the customer and the assistant of AlignGym/ShoppingGameText-v1, "
                         f"not {ctx.env_id}.")
    if mode not in MODES:
        raise ValueError(f"Unknown mode {mode!r}; allowed: {', '.join(MODES)}.")
    from aligngym.llm import load

    backend = load(llm)
    return {a: GameLLMAgent(backend, a, temperature, mode, max_new_tokens, seed=ctx.seed) for a in ctx.agents}
