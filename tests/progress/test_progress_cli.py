"""`aligngym progress run / plot / table` and the vector speed benchmark (run small; no timing assertions)."""
import json

from typer.testing import CliRunner

from aligngym.benchmarks.harness import evaluate
from aligngym.cli import app

runner = CliRunner()


def test_run_then_plot_a_trace(tmp_path):
    trace = tmp_path / "trace.json"
    result = runner.invoke(app, ["progress", "run", "AlignGym/ProgressCoevolve-v1", "--agent", "progress.static",
                                 "-k", "influence=0.5", "--out", str(trace)])
    assert result.exit_code == 0, result.output
    data = json.loads(trace.read_text())
    assert len(data["human"]) == 9 and len(data["similarity"]) == 8 and data["metrics"]["lock_in"] > 0.1
    result = runner.invoke(app, ["progress", "plot", str(trace), "--out", str(tmp_path / "p.png")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_replays_a_run_record(tmp_path):
    record = tmp_path / "record.json"
    evaluate("AlignGym/ProgressPredict-v1", "progress.extrapolative1", episodes=2, env_kwargs={"k": 2}, out=record)
    result = runner.invoke(app, ["progress", "plot", str(record)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "record.png").stat().st_size > 10_000


def test_plot_refuses_other_files(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"hello": 1}))
    result = runner.invoke(app, ["progress", "plot", str(bad)])
    assert result.exit_code == 2 and "neither a progress trace" in result.output


def test_table_reruns_every_baseline_on_every_challenge(tmp_path):
    result = runner.invoke(app, ["progress", "table", "--episodes", "3", "--seeds", "2", "--ppo-budget", "256",
                                 "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = json.loads((tmp_path / "table.json").read_text())
    assert {r["challenge"] for r in rows} == {"Follow", "Predict", "Coevolve"}
    assert len(rows) == 3 * (9 + 2)
    oracle = [r for r in rows if r["agent"].startswith("progress.oracle")]
    assert all(r["metrics"]["rmse"]["mean"] < 1e-6 for r in oracle if r["challenge"] != "Coevolve")
    assert "| progress.memoriser | " in (tmp_path / "table.md").read_text()
    assert (tmp_path / "table.png").read_bytes()[:4] == b"\x89PNG"


def test_speed_benchmark_writes_ratios(tmp_path):
    from aligngym.benchmarks.progress.bench_progress_vector import main

    result = main(tmp_path, quick=True)
    saved = json.loads((tmp_path / "bench_progress_vector.json").read_text())
    assert saved["num_envs"] == 256 and set(saved["twins"]) == {f"AlignGym/Progress{c}-v1" for c in
                                                                 ("Follow", "Predict", "Coevolve")}
    assert all(t["speedup_vs_sync"] > 1 and t["single_vs_halfcheetah"] > 0 for t in result["twins"].values())


def test_stored_table_benchmark_writes_json_and_markdown_ranked_by_the_primary(tmp_path):
    from aligngym.benchmarks.progress.bench_progress_table import main

    summary = main(tmp_path, quick=True)
    saved = json.loads((tmp_path / "progress" / "table.json").read_text())
    assert {r["seeds"] for r in saved["rows"]} == {2}  # the questionnaire faces too
    assert "| progress.first_option |" in (tmp_path / "progress" / "table.md").read_text()
    ranking = summary["ranking_by_primary"]
    assert ranking["AlignGym/ProgressCoevolve-v1"][0].startswith("progress.oracle")
    assert ranking["AlignGym/ProgressPredict-v1"][-1].startswith("random")
