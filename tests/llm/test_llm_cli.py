"""`aligngym llm generate/score` with a scripted backend, and their error handling."""
from typer.testing import CliRunner

from aligngym.cli.llm import app

runner = CliRunner()


def test_generate_prints_replies_and_backend():
    result = runner.invoke(app, ["generate", "Say hi", "Again", "--llm", "scripted:Hi!", "--no-cache"])
    assert result.exit_code == 0, result.output
    assert result.output.count("Hi!") >= 2 and '"backend": "scripted"' in result.output


def test_score_orders_choices_best_first():
    result = runner.invoke(app, ["score", "Answer:", "--choice", " No", "--choice", "Hi", "--llm", "scripted:Hi"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert "'Hi'" in lines[0] and "' No'" in lines[1]


def test_unknown_spec_is_refused_with_the_known_forms():
    result = runner.invoke(app, ["generate", "x", "--llm", "gpt5"])
    assert result.exit_code == 2 and "Unknown LLM spec" in result.output and "openai:" in result.output


def test_cache_command_lists_and_clears(tmp_path, monkeypatch):
    from aligngym.llm.cache import ResponseCache

    monkeypatch.setenv("ALIGNGYM_CACHE", str(tmp_path))
    ResponseCache.default().put_many([("k1", "v1"), ("k2", "v2")])
    result = runner.invoke(app, ["cache"])
    assert result.exit_code == 0 and "2 cached responses" in result.output and "llm_responses.sqlite" in result.output
    result = runner.invoke(app, ["cache", "--clear"])
    assert result.exit_code == 0 and "0 cached responses" in result.output
