"""The bad-input battery (docs/reliability.md): one case per kind of bad input. Each must be refused with one clear
line naming what is wrong and what is allowed — exit code 2 from the CLI, a ValueError/TypeError/RuntimeError from
the API — and nothing written before the error may be lost or altered. Env kwargs are covered for every registered
id by `test_every_declared_kwarg_refuses_a_wrong_type` below; the leaderboard's own battery is in tests/leaderboard."""
from __future__ import annotations

import json
import math

import gymnasium as gym
import numpy as np
import pettingzoo
import pytest
from typer.testing import CliRunner

import aligngym  # noqa: F401
from aligngym.agents.base import CallableAgent
from aligngym.benchmarks.harness import evaluate
from aligngym.benchmarks.record import RunRecord
from aligngym.benchmarks.suite import Job, run_jobs, suite_jobs
from aligngym.cli import app
from aligngym.envs import checks, registry
from aligngym.envs.checked_init import RefusesUnknownKwargs
from aligngym.llm import load

SINGLE = [r for r in registry.ROWS if not r.multi_agent]
MULTI = [r for r in registry.ROWS if r.multi_agent]
NUMERIC = next(r for r in SINGLE if r.vector_entry_point)  # a cheap numeric id with a native twin
BOX = next((r for r in SINGLE if isinstance(gym.make(r.id).action_space, gym.spaces.Box)), None)


def cli(*args):
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


# --- the CLI: exit code 2 and one line naming the problem --------------------------------------------------------
CLI_CASES = {
    "unknown env id": (["evaluate", "AlignGym/NoSuchEnv-v0"], "Unknown environment id"),
    "unknown agent name": (["evaluate", NUMERIC.id, "--agent", "randon"], "Did you mean: random"),
    "agent module that does not import": (["evaluate", NUMERIC.id, "--agent", "no_such_mod:f"], "cannot import"),
    "agent kwarg it does not take": (["evaluate", NUMERIC.id, "--agent", "random?temperature=1"], "allowed kwargs"),
    "zero episodes": (["evaluate", NUMERIC.id, "--episodes", "0"], "episodes must be >= 1"),
    "negative episodes": (["evaluate", NUMERIC.id, "--episodes", "-3"], "episodes must be >= 1"),
    "zero num_envs": (["evaluate", NUMERIC.id, "--num-envs", "0"], "num_envs must be >= 1"),
    "negative seed": (["evaluate", NUMERIC.id, "--seeds", "-1"], "seeds must be integers >= 0"),
    "env kwarg without =": (["evaluate", NUMERIC.id, "-k", "horizon"], "takes KEY=VALUE"),
    "env kwarg the env does not take": (["evaluate", NUMERIC.id, "-k", "no_such=1"], "allowed kwargs"),
    "plain and NAME=SPEC agents mixed": (["evaluate", NUMERIC.id, "--agent", "random", "--agent", "a=random"],
                                         "Mixing plain specs"),
    "unknown suite": (["run", "nosuite", "--out", "{tmp}/s"], "Unknown suite"),
    "unknown suite family": (["run", "quick", "--family", "nofamily", "--out", "{tmp}/s"], "Unknown family"),
    "unknown suite backend": (["run", "quick", "--backend", "cluster", "--out", "{tmp}/s"], "Unknown backend"),
    "zero suite episodes": (["run", "quick", "--episodes", "0", "--out", "{tmp}/s"], "episodes must be >= 1"),
    "unknown family in list": (["list", "--family", "nofamily"], "Unknown family"),
    "validate a file that is not JSON": (["validate", "{tmp}/notjson.json"], "not valid JSON"),
    "validate JSON that is not a record": (["validate", "{tmp}/list.json"], "Not a valid RunRecord"),
    "out is a directory": (["evaluate", NUMERIC.id, "--out", "{tmp}"], "is a directory"),
    "out under a file": (["evaluate", NUMERIC.id, "--out", "{tmp}/notjson.json/r.json"], "cannot be written"),
    "out holds a file that is not a record": (["evaluate", NUMERIC.id, "--out", "{tmp}/list.json"],
                                              "Not a valid RunRecord"),
    "shaping curves with zero seeds": (["shaping", "curves", "--seeds", "0"], "--seeds must be >= 1"),
    "progress table with zero episodes": (["progress", "table", "--episodes", "0"], "must be >= 1"),
    "shopping conditions with zero episodes": (["shopping", "conditions", "--episodes", "0"], "episodes must be >= 1"),
    "faking run with zero episodes": (["faking", "run", "--episodes", "0"], "episodes must be >= 1"),
    "rapl curve with a zero budget": (["rapl", "curve", "--budget", "0"], "must be >= 1"),
    "progress plot on another family's record": (["progress", "plot", "{tmp}/other_family.json"],
                                                 "takes a progress trace"),
    "LLM spec of an unknown kind": (["llm", "generate", "hi", "--llm", "gpt:4"], "Unknown LLM spec"),
    "LLM path: spec to a missing folder": (["llm", "generate", "hi", "--llm", "path:/no/such/model"], "no config.json"),
    "openai: spec with a malformed URL": (["llm", "generate", "hi", "--llm", "openai:m@ftp://x"], "expected 'openai:"),
}


@pytest.mark.parametrize("kind", sorted(CLI_CASES))
def test_cli_refuses(kind, tmp_path):
    (tmp_path / "notjson.json").write_text("{nope")
    (tmp_path / "list.json").write_text("[1, 2]")
    if "another family" in kind:
        not_progress = next(r for r in SINGLE if r.family != "progress" and r.vector_entry_point)
        evaluate(not_progress.id, "random", episodes=1, out=tmp_path / "other_family.json")
    args, message = CLI_CASES[kind]
    code, output = cli(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert code == 2, (kind, code, output)
    assert message in output and "Traceback" not in output, output
    assert (tmp_path / "notjson.json").read_text() == "{nope" and (tmp_path / "list.json").read_text() == "[1, 2]"


# --- the API -----------------------------------------------------------------------------------------------------
def _finished_record(tmp_path):
    out = tmp_path / "r.json"
    evaluate(NUMERIC.id, "random", episodes=2, out=out)
    return out


def test_another_runs_finished_record_is_refused_and_kept(tmp_path):
    out = _finished_record(tmp_path)
    before = out.read_text()
    for kwargs in ({"episodes": 3}, {"seeds": [1]}, {"num_envs": 2}):
        with pytest.raises(ValueError, match="another run"):
            evaluate(NUMERIC.id, "random", out=out, **{"episodes": 2, **kwargs})
    with pytest.raises(ValueError, match="another run"):
        evaluate(NUMERIC.id, CallableAgent(lambda o: np.zeros(len(o), np.int64)), episodes=2, out=out)
    assert out.read_text() == before


def test_another_runs_journal_is_refused_and_kept(tmp_path):
    out = tmp_path / "j.json"
    journal = tmp_path / "j.json.partial.jsonl"
    journal.write_text(json.dumps({"run_identity": "someone-else", "settings": {"episodes_per_seed": 9}}) + "\n")
    with pytest.raises(ValueError, match="unfinished run of other settings"):
        evaluate(NUMERIC.id, "random", episodes=2, out=out)
    assert journal.read_text().startswith('{"run_identity": "someone-else"')


def test_a_crash_mid_journal_line_reruns_only_that_batch(tmp_path):
    out = tmp_path / "c.json"
    whole = evaluate(NUMERIC.id, "random", episodes=4)
    evaluate(NUMERIC.id, "random", episodes=4, out=out)
    record = RunRecord.load(out)
    identity = record.extra["run_identity"]
    out.unlink()
    lines = [json.dumps({"run_identity": identity, "settings": record.extra["run_settings"]}),
             json.dumps({"episodes": record.episodes[:1], "duration_s": 0.1}), '{"episodes": [{"seed_ind']
    (tmp_path / "c.json.partial.jsonl").write_text("\n".join(lines))
    resumed = evaluate(NUMERIC.id, "random", episodes=4, out=out)
    assert [e["metrics"] for e in resumed.episodes] == [e["metrics"] for e in whole.episodes]


def test_an_outer_time_limit_that_cuts_episodes_is_said_in_the_record():
    gym.register("AlignGymTest/Cut-v0", entry_point=NUMERIC.entry_point, max_episode_steps=1, kwargs=NUMERIC.kwargs)
    try:
        record = evaluate("AlignGymTest/Cut-v0", "random", episodes=2)
    finally:
        del gym.registry["AlignGymTest/Cut-v0"]
    assert record.extra["episodes_without_env_metrics"] == 2


def test_unknown_pettingzoo_agent_name_is_refused():
    with pytest.raises(ValueError, match="no agent named"):
        evaluate(MULTI[0].id, {"nobody": "random"}, episodes=1)


def test_a_multi_agent_id_under_gym_make_points_to_pettingzoo():
    with pytest.raises(TypeError, match="pettingzoo.make"):
        gym.make(MULTI[0].id)


def test_unknown_kwarg_under_make_vec_names_the_allowed_ones():
    with pytest.raises(TypeError, match="allowed kwargs"):
        gym.make_vec(NUMERIC.id, num_envs=2, vectorization_mode="vector_entry_point", no_such=1)


def test_out_of_range_and_nan_actions_are_refused():
    env = gym.make(NUMERIC.id).unwrapped
    env.reset(seed=0)
    bad = env.action_space.n + 3 if isinstance(env.action_space, gym.spaces.Discrete) else np.full(
        env.action_space.shape, np.nan, np.float32)
    with pytest.raises(ValueError):
        env.step(bad)


@pytest.mark.skipif(BOX is None, reason="no Box-action env registered")
def test_nan_box_action_is_refused():
    env = gym.make(BOX.id).unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError):
        env.step(np.full(env.action_space.shape, np.nan, np.float32))


def test_unknown_render_mode_is_refused_naming_the_allowed_ones():
    with pytest.raises(ValueError, match="render_mode must be"):
        gym.make(NUMERIC.id, render_mode="holographic")


@pytest.mark.parametrize("spec,message", [("", "Empty LLM spec"), ("inspect:nomodel", "inspect:<provider>/<model>"),
                                          ("hf:", "names no model")])
def test_bad_llm_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        load(spec)


def test_suite_with_a_failing_job_keeps_the_others(tmp_path):
    entries = run_jobs([Job(NUMERIC.id, "random", 1), Job(NUMERIC.id, "nope", 1)], tmp_path)
    assert "error" not in entries[0] and "Unknown agent" in entries[1]["error"]
    with pytest.raises(ValueError, match="Unknown suite"):
        suite_jobs("nope")


# --- the declarative argument checks ----------------------------------------------------------------------------
def test_argument_rules_name_the_argument_and_what_is_allowed():
    cases = [(checks.Int(1), "abc", "an integer >= 1"), (checks.Int(1), True, "an integer"),
             (checks.Int(1, 5), 9, r"an integer in \[1, 5\]"), (checks.Float(0, 1), math.inf, "a finite number"),
             (checks.Float(0, 1), "abc", "a finite number"), (checks.Float(0), -1.0, "a finite number >= 0"),
             (checks.Bool(), 1, "True or False"), (checks.Choice(("a", "b")), "c", "one of 'a', 'b'"),
             (checks.Choice(("a",)), [1], "one of"), (checks.Str(), 3, "a string")]
    for rule, value, allowed in cases:
        with pytest.raises(checks.ArgumentError, match=f"horizon must be {allowed}"):
            rule("horizon", value)
    checks.Opt(checks.Int(1))("horizon", None)

    class Toy(RefusesUnknownKwargs):
        ARGS = {"horizon": checks.Int(1)}

        def __init__(self, horizon=3):
            self.horizon = horizon

    with pytest.raises(checks.ArgumentError, match="Toy: horizon must be an integer >= 1, got 'abc'"):
        Toy(horizon="abc")
    with pytest.raises(TypeError, match="does not take horizn .did you mean horizon.."):
        Toy(horizn=2)
    assert Toy(horizon=2).horizon == 2


def _declared_args(row):
    target = row.load()
    return getattr(target, "ARGS", {}) if isinstance(target, type) else {}


def _bad_values(rule):
    """Values a rule must refuse: a string for numbers and flags, a non-option for choices, inf for floats."""
    if isinstance(rule, checks.Opt):
        return [v for v in _bad_values(rule.rule) if v is not None]
    if isinstance(rule, checks.Float):
        return ["abc", math.inf]
    if isinstance(rule, checks.Int):
        return ["abc", True]
    if isinstance(rule, checks.Bool):
        return ["abc"]
    if isinstance(rule, checks.Choice):
        return ["<not an option>"]
    if isinstance(rule, checks.Str):
        return [3]
    return []


@pytest.mark.parametrize("row", registry.ROWS, ids=[r.id.split("/")[-1] for r in registry.ROWS])
def test_every_declared_kwarg_refuses_a_wrong_type(row):
    """Every constructor argument of every registered env is declared in its ARGS, and each declared argument
    refuses a value of the wrong type (or a non-finite number) with a message that names it."""
    import inspect

    target = row.load()
    params = [n for n, p in inspect.signature(target.__init__).parameters.items()
              if n not in ("self", "render_mode") and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    declared = _declared_args(row)
    assert set(params) <= set(declared), f"{row.id}: kwargs without a declared rule: {sorted(set(params) - set(declared))}"
    make = (lambda **kw: pettingzoo.make("parallel", row.id, **kw)) if row.multi_agent else (
        lambda **kw: gym.make(row.id, **kw))
    for name, rule in declared.items():
        for value in _bad_values(rule):
            with pytest.raises((ValueError, TypeError), match=name):
                make(**{name: value})
