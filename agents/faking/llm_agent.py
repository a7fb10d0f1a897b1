"""An LLM as the model under study on FakingText / FakingMinimal, through any `aligngym.llm` backend.

    aligngym evaluate AlignGym/FakingMinimal-v0 --agent "faking.llm?llm=local&max_new_tokens=32" --num-envs 16

The prompts of a whole batch of envs go to the backend in one `generate` call (`batch_size` = 0), so a vector of
envs costs one batched generation; the env parses and judges the reply. Generation stops at the end of the output
section or at a new user turn.
"""
from __future__ import annotations

from aligngym.agents.base import Agent, AgentContext
from aligngym.envs.faking.prompts import OUTPUT_CLOSE
from aligngym.llm.base import LLM

STOP = [OUTPUT_CLOSE, "\nUser:", "\n\nHuman:"]


class FakingLLMAgent(Agent):
    def __init__(self, llm: LLM | str = "local", temperature: float = 0.0, max_new_tokens: int = 256,
                 batch_size: int = 0, seed: int = 0):
        if isinstance(llm, str):
            from aligngym.llm import load
            llm = load(llm)
        if max_new_tokens < 1 or batch_size < 0:
            raise ValueError(f"max_new_tokens must be >= 1 and batch_size >= 0; got {max_new_tokens}, {batch_size}.")
        self.llm, self.temperature, self.max_new_tokens = llm, float(temperature), int(max_new_tokens)
        self.batch_size, self.seed = int(batch_size), int(seed)
        self.name = f"faking-llm-{llm.describe().get('model', 'unknown')}"
        self.hyperparameters = {"temperature": self.temperature, "max_new_tokens": self.max_new_tokens,
                                "llm": llm.describe()}

    def reset(self, num_envs: int = 1, seed: int | None = None) -> None:
        super().reset(num_envs, seed)
        if seed is not None:
            self.seed = int(seed)

    def act(self, obs_batch) -> list[str]:
        prompts = list(obs_batch)
        size = self.batch_size or len(prompts)
        replies = []
        for start in range(0, len(prompts), size):
            self.seed += 1  # fresh samples on every call, reproducible from the agent's seed
            replies += self.llm.generate(prompts[start:start + size], max_new_tokens=self.max_new_tokens,
                                         temperature=self.temperature, stop=STOP, seed=self.seed)
        return replies


def llm_agent(ctx: AgentContext, llm: str = "local", temperature: float = 0.0, max_new_tokens: int = 256,
              batch_size: int = 0) -> Agent:
    return FakingLLMAgent(llm, temperature, max_new_tokens, batch_size, seed=ctx.seed)
