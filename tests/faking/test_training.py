"""One step of each TRL training loop on the local model (slow: needs trl + peft and the ~1 GB default model)."""
from __future__ import annotations

import pytest

pytest.importorskip("trl")
pytest.importorskip("peft")

from aligngym.benchmarks.faking.training import Args, evaluate_model, train_grpo, train_sft  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.llm]
TINY = Args(steps=1, batch_size=2, num_generations=2, max_completion_length=4, train_queries=2, eval_queries=2,
            eval_max_new_tokens=4)


def test_grpo_one_step_on_the_monitored_tier_saves_a_model_the_pipeline_loads(tmp_path):
    model = train_grpo(TINY, tmp_path)
    assert (model / "config.json").is_file()
    summary = evaluate_model(str(model), TINY)
    assert summary["free"]["episodes"] == summary["paid"]["episodes"] == 2


def test_sft_organism_one_step_saves_a_model(tmp_path):
    model = train_sft(TINY, tmp_path, fakes=True)
    assert (model / "config.json").is_file() and model.name == "organism"
