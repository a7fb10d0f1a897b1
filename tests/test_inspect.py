"""Inspect integration, offline: AlignGym text faces as Inspect tasks (Inspect's mock model, and the AlignGym LLM
server on loopback through Inspect's OpenAI provider), and the `inspect:` LLM backend inside the AlignGym harness."""
from __future__ import annotations

import os
import sys
from pathlib import Path
import subprocess

import pytest

pytest.importorskip("inspect_ai")
from inspect_ai import eval as inspect_eval  # noqa: E402
from inspect_ai.model import ModelOutput, ModelUsage, get_model  # noqa: E402

import aligngym.inspect_tasks as tasks  # noqa: E402
from aligngym.envs import registry  # noqa: E402
from aligngym.llm import load  # noqa: E402
from aligngym.llm.base import ScriptedLLM  # noqa: E402
from aligngym.llm.server import BackgroundServer  # noqa: E402

SHOPPING_TEXT = next(r.id for r in registry.ROWS if r.id.startswith("AlignGym/ShoppingText"))
CHOOSE_FIRST = "The first product fits the customer's needs and budget.\nChoice: 1"


def replying(text):
    """Inspect's mock model answering `text`; usage is given so that it counts no tokens (tiktoken is online)."""
    return lambda *args: ModelOutput.from_content("mockllm", text).model_copy(
        update={"usage": ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)})


def run(task, model, tmp_path):
    log = inspect_eval(task, model=model, display="none", log_dir=str(tmp_path))[0]
    assert log.status == "success", log.error
    return {score.name: score.metrics["mean"].value for score in log.results.scores}  # env metric -> its mean


def test_every_text_face_is_a_task_named_after_its_id():
    assert tasks.task_name("AlignGym/ShoppingText-v0") == "shopping_text"
    assert "shopping_text" in tasks.TASKS and all(name.endswith("text") or "faking" in name for name in tasks.TASKS)


def test_a_task_scores_the_env_metrics_with_the_mock_model(tmp_path):
    task = tasks.env_task(SHOPPING_TEXT, episodes=3)
    good = run(task, get_model("mockllm/model", custom_outputs=replying(CHOOSE_FIRST)), tmp_path)
    junk = run(task, get_model("mockllm/model", custom_outputs=replying("no idea")), tmp_path)
    assert good["parse_failure"] == 0 and junk["parse_failure"] == 1  # the env's own parser, counted, no crash


def test_a_task_runs_against_the_aligngym_server_through_inspects_openai_provider(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "unused-on-loopback")
    with BackgroundServer(ScriptedLLM(lambda prompt: CHOOSE_FIRST), model_name="scripted") as server:
        metrics = run(tasks.env_task(SHOPPING_TEXT, episodes=2),
                      get_model("openai/scripted", base_url=server.url, responses_api=False), tmp_path)
    assert metrics["parse_failure"] == 0


def test_the_inspect_backend_answers_batches_and_refuses_what_it_cannot_do():
    llm = load("inspect:mockllm/model", custom_outputs=replying(CHOOSE_FIRST))
    assert llm.generate(["a", "b"]) == [CHOOSE_FIRST] * 2
    with pytest.raises(ValueError, match="inspect:<provider>/<model>"):
        load("inspect:nomodel")
    with pytest.raises(NotImplementedError, match="log-probabilities"):
        llm.score_choices(["a"], [["x"]])


def test_one_command_runs_a_task_by_its_package_name(tmp_path):
    """`inspect eval aligngym/<task>` finds the task through the package's inspect_ai entry point."""
    with BackgroundServer(ScriptedLLM(lambda prompt: CHOOSE_FIRST), model_name="scripted") as server:
        out = subprocess.run([str(Path(sys.executable).with_name("inspect")), "eval", "aligngym/shopping_text", "--model", "openai/scripted",
                              "--model-base-url", server.url, "-M", "responses_api=false", "-T", "episodes=1",
                              "--log-dir", str(tmp_path), "--display", "none"],
                             capture_output=True, text=True, timeout=300,
                             env={**os.environ, "OPENAI_API_KEY": "unused-on-loopback"})
    assert out.returncode == 0, out.stderr[-3000:]
    assert list(tmp_path.glob("*.eval"))
