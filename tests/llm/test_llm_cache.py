"""The on-disk response cache: what is served from it and what never is."""
import pytest

from aligngym.llm import ScriptedLLM, load
from aligngym.llm.cache import ResponseCache, cache_enabled


class CountingLLM(ScriptedLLM):
    """Replies with the prompt reversed plus a counter, so a recomputation is visible."""

    def __init__(self, cache_path):
        self.computed = 0
        super().__init__(lambda p: p[::-1], model="counting")
        self.cache = ResponseCache(cache_path)

    def _generate(self, prompts, max_new_tokens, temperature, stop, seed):
        self.computed += len(prompts)
        return [f"{p[::-1]}#{self.computed}" for p in prompts]


@pytest.fixture
def llm(tmp_path):
    return CountingLLM(tmp_path / "cache.sqlite")


def test_greedy_answers_are_cached_per_prompt(llm, tmp_path):
    first = llm.generate(["abc", "de"])
    assert llm.computed == 2
    again = llm.generate(["de", "abc", "new"])  # only the new prompt is computed
    assert again[:2] == [first[1], first[0]] and llm.computed == 3
    assert llm.usage["cache_hits"] == 2
    other = CountingLLM(tmp_path / "cache.sqlite")  # another process, same file
    assert other.generate(["abc"]) == [first[0]] and other.computed == 0


def test_parameters_are_part_of_the_key(llm):
    llm.generate(["abc"], max_new_tokens=5)
    llm.generate(["abc"], max_new_tokens=6)
    llm.generate(["abc"], max_new_tokens=6, stop=["x"])
    assert llm.computed == 3


def test_unseeded_sampling_is_never_cached(llm):
    a = llm.generate(["abc"], temperature=0.7)
    b = llm.generate(["abc"], temperature=0.7)
    assert a != b and llm.computed == 2 and llm.usage["cache_hits"] == 0


def test_seeded_sampling_is_cached_per_call(llm):
    a = llm.generate(["abc", "de"], temperature=0.7, seed=1)
    assert llm.generate(["abc", "de"], temperature=0.7, seed=1) == a and llm.computed == 2
    llm.generate(["abc", "de"], temperature=0.7, seed=2)
    llm.generate(["abc"], temperature=0.7, seed=1)  # a different batch samples differently
    assert llm.computed == 5


def test_scores_are_cached(llm):
    calls = []
    llm.score = lambda p, c: calls.append((p, c)) or float(len(c))
    assert llm.score_choices(["p"], [["a", "bb"]]) == [[1.0, 2.0]]
    assert llm.score_choices(["p", "q"], [["a", "bb"], ["a"]]) == [[1.0, 2.0], [1.0]]
    assert len(calls) == 3


def test_opt_out(monkeypatch):
    monkeypatch.setenv("ALIGNGYM_LLM_CACHE", "0")
    assert not cache_enabled() and cache_enabled(True)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert load("openai:m").cache is None
    monkeypatch.setenv("ALIGNGYM_LLM_CACHE", "1")
    assert cache_enabled() and not cache_enabled(False)


def test_cache_lives_under_aligngym_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("ALIGNGYM_CACHE", str(tmp_path))
    monkeypatch.setenv("ALIGNGYM_LLM_CACHE", "1")
    llm = load("openai:m@http://127.0.0.1:9/v1")
    assert llm.cache.path == tmp_path / "llm_responses.sqlite"
