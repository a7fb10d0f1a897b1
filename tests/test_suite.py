"""Suites: jobs run on every backend with identical records; a failing job is reported and the rest still run;
an interrupted suite resumes."""
from __future__ import annotations

import json

import pytest

from aligngym.benchmarks.suite import Job, quick_jobs, run_jobs, run_suite, suite_jobs

# two cheap jobs from the quick suite (one single-agent, one PettingZoo where registered) and one that fails
CHEAP = [j for j in quick_jobs() if not j.needs_llm and j.agent == "random"]
JOBS = [Job(j.env_id, "random", 3) for j in CHEAP[:1] + CHEAP[-1:]] + [Job(CHEAP[0].env_id, "no_such_agent", 1)]


def episodes_of(entries):
    return [json.loads(open(e["record"]).read())["episodes"] if "error" not in e else e["error"] for e in entries]


@pytest.fixture(scope="module")
def local_entries(tmp_path_factory):
    return run_jobs(JOBS, tmp_path_factory.mktemp("local"), backend="local")


def test_a_failing_job_is_reported_and_the_rest_still_run(local_entries):
    assert [("error" in e) for e in local_entries] == [False, False, True]
    assert "Unknown agent" in local_entries[2]["error"]


@pytest.mark.parametrize("backend", ["process", "ray"])
def test_backends_reproduce_the_local_records_episode_by_episode(local_entries, backend, tmp_path):
    if backend == "ray":
        pytest.importorskip("ray")
    entries = run_jobs(JOBS, tmp_path, backend=backend)
    assert [e.get("agent") for e in entries] == [e.get("agent") for e in local_entries]
    assert episodes_of(entries)[:2] == episodes_of(local_entries)[:2]
    assert "error" in entries[2]


def test_resume_keeps_finished_records(tmp_path):
    first = run_jobs(JOBS[:1], tmp_path, resume=True)
    stamp = (tmp_path / f"{JOBS[0].slug}.json").stat().st_mtime_ns
    again = run_jobs(JOBS[:1], tmp_path, resume=True)
    assert (tmp_path / f"{JOBS[0].slug}.json").stat().st_mtime_ns == stamp
    assert episodes_of(again) == episodes_of(first)


def test_suite_writes_results_and_report_and_refuses_bad_names(tmp_path):
    results = run_suite(tmp_path, "quick", families=[family_of(CHEAP[0].env_id)], episodes=1)
    assert results and all("error" not in r for r in results if "llm" not in r["agent"])
    assert (tmp_path / "report.md").exists() and json.loads((tmp_path / "results.json").read_text())["suite"] == "quick"
    for bad, message in ((("nope",), "Unknown suite"),):
        with pytest.raises(ValueError, match=message):
            suite_jobs(*bad)
    with pytest.raises(ValueError, match="Unknown family"):
        suite_jobs("quick", ["nofamily"])
    with pytest.raises(ValueError, match="Unknown backend"):
        run_jobs(JOBS[:1], tmp_path, backend="cluster")
    assert len(suite_jobs("full")) == len(suite_jobs("quick"))
    assert all(j.seeds == (0, 1, 2, 3, 4) for j in suite_jobs("full"))


def family_of(env_id):
    from aligngym.envs import registry
    return registry.row(env_id).family


def test_llm_jobs_run_on_workers_through_one_endpoint(tmp_path):
    """With an endpoint, LLM jobs name it in their spec and run on the workers (no model load per worker)."""
    from aligngym.llm.base import ScriptedLLM
    from aligngym.llm.server import BackgroundServer

    llm_jobs = [j for j in quick_jobs() if j.needs_llm][:1]
    if not llm_jobs:
        pytest.skip("no LLM job in the quick suite")
    job = Job(llm_jobs[0].env_id, llm_jobs[0].agent, 2)
    with BackgroundServer(ScriptedLLM(lambda prompt: "Choice: 1"), model_name="local") as server:
        (entry,) = run_jobs([job], tmp_path, backend="process", llm_url=server.url)
    assert "error" not in entry, entry.get("error")
    assert entry["agent"] == job.agent.replace("llm=local", f"llm=openai:local@{server.url}")


def die(ctx):
    """An agent factory whose process dies (as one killed or out of memory would)."""
    import os
    os._exit(1)


def test_a_worker_that_dies_fails_only_its_own_job(tmp_path):
    jobs = [Job(JOBS[0].env_id, "random", 2), Job(JOBS[0].env_id, "test_suite:die", 1),
            Job(JOBS[1].env_id, "random", 2)]
    entries = run_jobs(jobs, tmp_path, backend="process")
    assert "worker failed" in entries[1]["error"]
    assert "error" not in entries[0] and "error" not in entries[2]
