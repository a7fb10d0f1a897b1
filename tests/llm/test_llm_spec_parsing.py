"""Spec strings, `load` errors and the reply-parsing helpers (no model needed)."""
import pytest

from aligngym.llm import ScriptedLLM, load, parse_choice, parse_spec, parse_tagged, parse_yes_no
from aligngym.llm.spec import Spec


@pytest.mark.parametrize("spec, expected", [
    ("local", Spec("local", "gemma-3-270m")),
    ("hf:Qwen/Qwen2.5-0.5B-Instruct", Spec("hf", "Qwen/Qwen2.5-0.5B-Instruct")),
    ("path:/models/x", Spec("path", "/models/x")),
    ("openai:llama3@http://127.0.0.1:8000/v1", Spec("openai", "llama3", "http://127.0.0.1:8000/v1")),
    ("openai:gpt-4o-mini", Spec("openai", "gpt-4o-mini", "")),
    ("  local ", Spec("local", "gemma-3-270m")),
])
def test_parse_spec_accepts_the_documented_forms(spec, expected):
    assert parse_spec(spec) == expected


@pytest.mark.parametrize("spec", ["", "gpt4", "foo:bar", "hf:", "path:", "openai:", "openai:m@ftp://x", None])
def test_bad_specs_name_the_accepted_forms(spec):
    with pytest.raises(ValueError, match="spec"):
        parse_spec(spec)


def test_load_unknown_spec_is_a_clear_error():
    with pytest.raises(ValueError, match="hf:<model id>"):
        load("gemma")


def test_path_spec_without_a_model_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        load(f"path:{tmp_path}")


def test_openai_spec_needs_a_url(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ValueError, match="OPENAI_BASE_URL"):
        load("openai:some-model")


def test_openai_spec_takes_url_from_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/")
    llm = load("openai:some-model", cache=False)
    assert llm.base_url == "http://127.0.0.1:9/v1" and llm.describe()["model"] == "some-model"


def test_scripted_spec_gets_its_own_usage_counters():
    a = load("scripted:Yes")
    assert a.generate(["anything", "else"]) == ["Yes", "Yes"]
    assert a.usage["calls"] == 1 and load("scripted:Yes").usage["calls"] == 0
    assert a.cache is None  # scripted answers are never cached on disk


def test_empty_prompt_list_and_bad_arguments():
    llm = ScriptedLLM(lambda p: "x")
    assert llm.generate([]) == [] and llm.score_choices([], []) == []
    assert llm.usage["calls"] == 0
    with pytest.raises(ValueError, match="max_new_tokens"):
        llm.generate(["a"], max_new_tokens=0)
    with pytest.raises(ValueError, match="temperature"):
        llm.generate(["a"], temperature=-1)
    with pytest.raises(ValueError, match="2 prompts but 1"):
        llm.score_choices(["a", "b"], [["x"]])
    with pytest.raises(ValueError, match="at least one choice"):
        llm.score_choices(["a"], [[]])


def test_stop_strings_cut_the_earliest_match():
    llm = ScriptedLLM(lambda p: "Answer: 2.\nHuman: next")
    assert llm.generate(["q"], stop=["\nHuman:", "."]) == ["Answer: 2"]
    assert llm.generate(["q"], stop=["", "zzz"]) == ["Answer: 2.\nHuman: next"]


@pytest.mark.parametrize("text, n, expected", [
    ("I pick option 2.", 3, 2),
    ("Choice: 3\nI considered 1 and 2", 3, 3),
    ("2", 2, 2),
    ("1 or 2?", 2, None),          # two different options: ambiguous
    ("7", 3, None),                # out of range
    ("I think 2.5 is best", 3, None),
    ("", 3, None),
    (None, 3, None),
    ("option 2, yes option 2", 3, 2),
])
def test_parse_choice(text, n, expected):
    assert parse_choice(text, n) == expected


def test_parse_tagged_and_yes_no_on_odd_text():
    assert parse_tagged("<scratchpad>think</scratchpad><output> Yes </output>", "output") == "Yes"
    assert parse_tagged("<OUTPUT>unclosed to the end", "output") == "unclosed to the end"
    assert parse_tagged("no tags here", "output") is None
    assert parse_tagged(12, "output") is None
    assert parse_yes_no("  Yes, definitely") is True
    assert parse_yes_no("**No**.") is False
    assert parse_yes_no("Nobody knows") is None
    assert parse_yes_no("") is None and parse_yes_no(None) is None
