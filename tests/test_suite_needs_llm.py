"""`Job.needs_llm`: only agents that load a language model in this process count as LLM jobs."""
from __future__ import annotations

import pytest

from aligngym.benchmarks.suite import Job


@pytest.mark.parametrize("agent, needs", [
    ("shopping.game_llm?llm=scripted:Choice: 1", False),  # a scripted stand-in loads nothing (it used to count)
    ("faking.llm?llm=openai:m@http://127.0.0.1:8000/v1", False),  # served elsewhere
    ("shopping.llm?llm=local&temperature=0.2", True),
    ("faking.llm?llm=hf:Qwen/Qwen2.5-0.5B-Instruct", True),
    ("faking.llm", True),  # the factory's default llm is "local"
    ("random", False),
    ("faking.faker_text", False),
    ("no_such_module:llm_factory", False),  # an unknown agent: the job itself reports the error
])
def test_needs_llm_looks_at_the_llm_spec_kind(agent, needs):
    assert Job("AlignGym/FakingText-v0", agent, 1).needs_llm is needs
