"""`inspect:<provider>/<model>`: any model provider Inspect supports, as an AlignGym LLM backend
(`pip install 'aligngym[inspect]'`), e.g. `--llm inspect:anthropic/claude-3-5-haiku-latest` or, offline,
`inspect:mockllm/model`. A batch of prompts is sent concurrently. Inspect's generate API returns text only, so
`score_choices` is not available through it: agents that measure option log-probabilities need a local or
`openai:` backend.
"""
from __future__ import annotations

import asyncio

from aligngym.llm.base import LLM


class InspectLLM(LLM):
    backend = "inspect"
    supports_messages = True  # `generate_messages` passes system + user messages to the provider as chat messages

    def __init__(self, model: str, **model_args):
        super().__init__()
        try:
            from inspect_ai.model import get_model
        except ImportError:
            raise ValueError("The inspect: backend needs Inspect: pip install 'aligngym[inspect]'.") from None
        self.model = model
        self._model = get_model(model, **model_args)

    def _generate(self, prompts, max_new_tokens, temperature, stop, seed):
        from inspect_ai.model import GenerateConfig

        config = GenerateConfig(max_tokens=max_new_tokens, temperature=temperature, seed=seed,
                                stop_seqs=list(stop) if stop else None)

        async def all_prompts():
            return await asyncio.gather(*(self._model.generate(_chat_input(p), config=config) for p in prompts))

        outputs = asyncio.run(all_prompts())
        for out in outputs:
            if out.usage is not None:
                self.usage["prompt_tokens"] += out.usage.input_tokens
                self.usage["generated_tokens"] += out.usage.output_tokens
        return [out.completion for out in outputs]

    def _score_choices(self, prompts, choices):
        raise NotImplementedError("Inspect's generate API gives no option log-probabilities; use a 'local', "
                                  "'hf:', 'path:' or 'openai:' backend for agents that score choices.")


def _chat_input(prompt):
    """A prompt string as it is; messages from `generate_messages` as Inspect's chat messages."""
    if isinstance(prompt, str):
        return prompt
    from inspect_ai.model import ChatMessageAssistant, ChatMessageSystem, ChatMessageUser

    kinds = {"system": ChatMessageSystem, "user": ChatMessageUser, "assistant": ChatMessageAssistant}
    return [kinds[m["role"]](content=m["content"]) for m in prompt]
