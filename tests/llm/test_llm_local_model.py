"""The offline default model (Gemma-3-270M base, converted once into the user cache)."""
import pytest

from aligngym.llm import load
from aligngym.llm.server import BackgroundServer

pytestmark = pytest.mark.llm

PROMPTS = ["The capital of France is", "Once upon a time", "def fibonacci(n):", "1, 2, 3, 4,",
           "The opposite of hot is"]


@pytest.fixture(scope="module")
def llm():
    return load("local", cache=False, progress=False)


def test_greedy_is_deterministic_and_batch_independent(llm):
    batched = llm.generate(PROMPTS, max_new_tokens=10)
    assert batched == llm.generate(PROMPTS, max_new_tokens=10)
    assert batched == [llm.generate([p], max_new_tokens=10)[0] for p in PROMPTS]
    assert "5" in batched[3]  # the base model continues a count


def test_seeded_sampling_is_reproducible(llm):
    a = llm.generate(PROMPTS[:2], max_new_tokens=8, temperature=1.0, seed=7)
    assert a == llm.generate(PROMPTS[:2], max_new_tokens=8, temperature=1.0, seed=7)
    others = [llm.generate(PROMPTS[:2], max_new_tokens=8, temperature=1.0, seed=s) for s in (8, 9)]
    assert any(o != a for o in others)


def test_shared_prefixes_are_prefilled_once_with_the_same_greedy_text(llm, monkeypatch):
    plain = load("local", cache=False, progress=False, share_prefixes=False)  # the one-prefill-per-row path
    story = "The story so far: a knight rode into the village and"
    batch = [PROMPTS[0], PROMPTS[1], PROMPTS[0], story + " the dragon", story, PROMPTS[0], story + " a dog barked"]
    prefill, shapes = llm._prefill_shared, []  # the (rows, width) of each batch's prefilled cache, or None

    def spy(*args):
        out = prefill(*args)
        shapes.append(out and tuple(out[0].layers[0].keys.shape[i] for i in (0, 2)))
        return out

    monkeypatch.setattr(llm, "_prefill_shared", spy)
    assert llm.generate(batch, max_new_tokens=8) == plain.generate(batch, max_new_tokens=8)
    assert shapes[0][0] == len(batch)
    assert llm.generate(PROMPTS, max_new_tokens=8) == plain.generate(PROMPTS, max_new_tokens=8)
    assert shapes[1] is None  # nothing shared: the plain path
    repeats = [story, "Zebras are", story, "Zebras are"]  # sorted by tokens, story comes first; by length, last
    assert llm.generate(repeats, max_new_tokens=8) == plain.generate(repeats, max_new_tokens=8)
    assert shapes[2] == (4, len(llm._encode_prompt(story)) - 1)  # all of story but its last token, once


def test_seeded_samples_of_a_repeated_prompt_are_reproducible_and_independent(llm):
    batch = [PROMPTS[1]] * 4 + [PROMPTS[0]]
    a = llm.generate(batch, max_new_tokens=8, temperature=0.6, seed=3)
    assert a == llm.generate(batch, max_new_tokens=8, temperature=0.6, seed=3)
    assert len(set(a[:4])) > 1  # one prefill, yet each row samples its own continuation


def test_stop_strings_and_token_accounting(llm):
    before = dict(llm.usage)
    out = llm.generate(["Count: 1, 2, 3,"], max_new_tokens=20, stop=[","])
    assert "," not in out[0] and out[0].strip() == "4"
    assert llm.usage["generated_tokens"] - before["generated_tokens"] < 20  # stopped early
    assert llm.usage["prompt_tokens"] > before["prompt_tokens"]


def test_score_choices_prefers_the_right_continuation(llm):
    scores = llm.score_choices(["The capital of France is", "Two plus two equals"],
                               [[" Paris", " banana"], [" four", " seven", " purple"]])
    assert scores[0][0] > scores[0][1] and max(scores[1]) == scores[1][0]
    assert all(s < 0 for row in scores for s in row)


def test_score_choices_batched_equals_pair_by_pair(llm):
    prompts = ["Q: Is the sky blue?\nA:", "The opposite of hot is", "x"]
    choices = [[" Yes", " No"], [" cold", " warm", " very cold indeed"], [" y"]]
    batched = llm.score_choices(prompts, choices)
    single = [[llm.score_choices([p], [[c]])[0][0] for c in cs] for p, cs in zip(prompts, choices)]
    for row_b, row_s in zip(batched, single):
        assert row_b == pytest.approx(row_s, abs=1e-3)


def test_choice_without_tokens_is_refused(llm):
    with pytest.raises(ValueError, match="tokenizes to no tokens"):
        llm.score_choices(["Hello"], [[" world", ""]])


def test_empty_prompt_is_answered(llm):
    assert len(llm.generate(["", "Hi"], max_new_tokens=3)) == 2


def test_path_spec_loads_the_converted_folder(llm):
    other = load(f"path:{llm.source}", cache=False)
    assert other.backend == "transformers" and not other.chat  # a base model: completion prompts
    assert load("local", progress=False).lm is llm.lm  # the weights are loaded once per process
    assert load("local", progress=False, reuse=False).lm is not llm.lm  # a private copy, e.g. for LoRA
    assert other.generate(PROMPTS[:1], max_new_tokens=6) == llm.generate(PROMPTS[:1], max_new_tokens=6)


def test_the_default_model_never_asks_a_hub(llm):
    """With hub access allowed but the hub unreachable (a dead endpoint), the default spec loads and answers."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "0"}
    code = ("from aligngym.llm import load; "
            "print(repr(load('local', cache=False, progress=False).generate(['Hello'], max_new_tokens=2)[0]))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "127.0.0.1:9" not in out.stderr


def test_a_models_generation_defaults_do_not_change_decoding(llm, tmp_path):
    """A folder whose generation_config.json asks for top-k, a repetition penalty and a suppressed token decodes
    like the plain model: `temperature` alone decides the distribution."""
    import json
    from pathlib import Path

    for f in Path(llm.source).iterdir():
        if f.name != "generation_config.json":
            (tmp_path / f.name).symlink_to(f)
    gen = json.loads((Path(llm.source) / "generation_config.json").read_text())
    prompts = ["The capital of France is", "1, 1, 1, 1, 1,"]
    expected = llm.generate(prompts, max_new_tokens=6)
    suppressed = llm.tokenizer(expected[0], add_special_tokens=False)["input_ids"][0]  # the greedy first token
    gen.update(top_k=2, repetition_penalty=5.0, no_repeat_ngram_size=1, suppress_tokens=[suppressed])
    (tmp_path / "generation_config.json").write_text(json.dumps(gen))
    other = load(f"path:{tmp_path}", cache=False)
    assert other.generate(prompts, max_new_tokens=6) == expected


def test_served_local_model_scores_like_the_local_backend(llm):
    prompts, choices = ["The capital of France is"], [[" Paris", " banana"]]
    with BackgroundServer(llm, model_name="local") as srv:
        remote = load(f"openai:local@{srv.url}", cache=False)
        assert remote.score_choices(prompts, choices)[0] == pytest.approx(llm.score_choices(prompts, choices)[0],
                                                                          abs=1e-3)
        assert remote.generate(PROMPTS[:2], max_new_tokens=8) == llm.generate(PROMPTS[:2], max_new_tokens=8)
