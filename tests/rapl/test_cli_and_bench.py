"""`aligngym rapl ...` and the benchmark's bookkeeping."""
from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

import json
from dataclasses import asdict

import pytest

from aligngym.benchmarks.rapl.bench_rapl_policies import PolicyArgs, merge_runs
from aligngym.benchmarks.rapl.bench_rapl_policies import summarise as summarise_policies
from aligngym.benchmarks.rapl.bench_rapl_queries import merge_baselines, summarise
from aligngym.cli import app

runner = CliRunner()


def test_curve_refuses_bad_input_before_any_work():
    result = runner.invoke(app, ["rapl", "curve", "--preference", "tidy"])
    assert result.exit_code == 2 and "allowed: avoid, group" in result.output
    result = runner.invoke(app, ["rapl", "curve", "--teacher", "grumpy"])
    assert result.exit_code == 2 and "oracle" in result.output
    result = runner.invoke(app, ["rapl", "curve", "--budget", "0"])
    assert result.exit_code == 2 and "--budget" in result.output


def test_frames_writes_a_strip(tmp_path):
    out = tmp_path / "strip.png"
    result = runner.invoke(app, ["rapl", "frames", "SweepToTop-Longstick-Pixels-Ego-TestColor-v0", "--steps", "10",
                                 "--every", "5", "--env-kwarg", "resolution=32", "--out", str(out)])
    assert result.exit_code == 0, result.output
    from matplotlib import image
    assert image.imread(out).shape[:2] == (32, 32 * 3)
    bad = runner.invoke(app, ["rapl", "frames", "SweepToTop-Longstick-Pixels-Ego-TestColor-v0",
                              "--env-kwarg", "preference=tidy", "--out", str(out)])
    assert bad.exit_code == 2 and "preference" in bad.output


def test_summary_compares_rapl_with_rlhf_at_equal_and_double_queries():
    def scores(w):
        return {"rho_within": w, "rho_across": w}
    runs = [{"gt": scores(1.0), "untuned_ot": scores(0.0), "rapl": {10: scores(0.5 + s), 20: scores(0.6 + s)},
             "rlhf": {10: scores(0.2), 20: scores(0.3)},
             "cross": {"rapl": scores(0.1), "rlhf": scores(0.1), "gt": scores(1.0)}} for s in (0.0, 0.1, 0.2)]
    table = summarise(runs, (10, 20))["rho_within"]
    assert np.isclose(table["rapl_minus_rlhf_same_q"][10]["mean"], 0.4)
    assert np.isclose(table["rapl_minus_rlhf_double_q"][10]["mean"], 0.3)
    assert 20 not in table["rapl_minus_rlhf_double_q"]
    assert table["rapl"][20]["ci"][0] <= 0.7 <= table["rapl"][20]["ci"][1]


def test_tcc_baseline_folds_into_a_finished_run_only_with_the_same_videos(tmp_path):
    def scores(w):
        return {"rho_within": w, "rho_across": w}
    args = {"seeds": [0, 1], "train_env": "AlignGym/SweepToTop-Gripper-v0", "budgets": [10]}
    finished = {"args": args, "preferences": {"group": {"runs": [
        {"seed": s, "gt": scores(1.0), "untuned_ot": scores(0.1 * s), "rapl": {"10": scores(0.5)},
         "rlhf": {"10": scores(0.3)}, "cross": {"rapl": scores(0.2), "rlhf": scores(0.2), "gt": scores(1.0)}}
        for s in (0, 1)]}}}
    path = tmp_path / "bench_rapl_queries.json"
    path.write_text(json.dumps(finished))
    baselines = {"args": {**args, "budgets": [], "tcc_steps": 5}, "duration_s": 1.0, "preferences": {"group": {"runs": [
        {"seed": s, "gt": scores(1.0), "untuned_ot": scores(0.1 * s), "tcc": scores(0.2),
         "cross": {"tcc": scores(0.0), "gt": scores(1.0)}} for s in (0, 1)]}}}
    merged = merge_baselines(path, baselines)["preferences"]["group"]["summary"]["rho_within"]
    assert merged["tcc"]["mean"] == pytest.approx(0.2)
    assert merged["rapl_minus_tcc"][10]["mean"] == pytest.approx(0.3)
    assert "tcc" in merged["cross_embodiment"] and (tmp_path / "rapl_queries_group.png").exists()
    baselines["preferences"]["group"]["runs"][1]["untuned_ot"] = scores(0.5)  # another backbone
    with pytest.raises(ValueError, match="seed 1.*not the same"):
        merge_baselines(path, baselines)
    with pytest.raises(ValueError, match="train_env differ"):
        merge_baselines(path, {**baselines, "args": {**baselines["args"], "train_env": "AlignGym/Other-v0"}})


def test_policy_summary_pairs_seeds_per_budget_finds_where_gt_beats_random_and_merges_seed_runs(tmp_path):
    def row(cost):
        return {"preference_cost": cost, "preference_success": 0.0, "eval_score": 0.0, "aligned_score": 0.0}

    def run(s, rapl_done=True):  # GT learns between 10 and 20 steps; seed 2 stopped before PPO on RAPL
        early = {"gt": row(1.2 + 0.01 * s), "rlhf": row(0.9), **({"rapl": row(0.7 + s)} if rapl_done else {})}
        late = {"gt": row(0.5 + 0.01 * s), "rlhf": row(0.9), **({"rapl": row(0.6 + s)} if rapl_done else {})}
        return {"seed": s, "random": row(1.2 - 0.01 * s), "budgets": {"10": early, "20": late}}
    runs = [run(s) for s in range(3)]
    summary = summarise_policies(runs)
    late = summary["per_budget"]["20"]
    assert late["paired"]["rapl-rlhf"]["preference_cost"]["mean"] == pytest.approx(-0.3 + 1.0)
    assert late["paired"]["gt-random"]["preference_cost"]["mean"] == pytest.approx(0.5 - 1.2 + 0.02)
    assert "too few seeds (3 < 5)" in summary["note"] and summary["gt_beats_random_from"] is None
    five = summarise_policies([run(s) for s in range(5)])
    assert five["note"] == "" and five["gt_beats_random_from"] == 20  # at 10 steps GT's CI overlaps random's
    partial = summarise_policies(runs[:2] + [run(2, rapl_done=False)])
    assert partial["per_budget"]["20"]["per_reward"]["rapl"]["preference_cost"]["n"] == 2  # only the seeds that ran
    assert partial["per_budget"]["20"]["per_reward"]["rlhf"]["preference_cost"]["n"] == 3
    assert partial["per_budget"]["20"]["paired"]["rapl-rlhf"]["preference_cost"]["n"] == 2
    assert "too few seeds (4 < 5) for rapl at 10/20 steps" in summarise_policies([run(s) for s in range(4)]
                                                                               + [run(4, rapl_done=False)])["note"]
    paths = []
    for part, seeds in enumerate(([0, 1], [2, 1])):  # seed 1 in both: kept once
        path = tmp_path / f"part{part}.json"
        path.write_text(json.dumps({"args": {**asdict(PolicyArgs()), "seeds": seeds}, "ppo": {"n_envs": 4},
                                    "duration_s": 1.0, "runs": [runs[s] for s in seeds]}))
        paths.append(path)
    merged = merge_runs(paths, tmp_path / "merged")
    assert merged["args"]["seeds"] == [0, 1, 2] and "too few seeds (3 < 5)" in merged["note"]
    assert (tmp_path / "merged" / "rapl_policies.png").exists()
    for name in ("gt", "rlhf"):  # one process per reward for the same seeds: a seed's rewards are united
        only = [{**r, "budgets": {b: {name: rows[name]} for b, rows in r["budgets"].items()}} for r in runs]
        (tmp_path / f"{name}.json").write_text(json.dumps({"args": {**asdict(PolicyArgs()), "rewards": [name]},
                                                           "ppo": {"n_envs": 4}, "duration_s": 1.0, "runs": only}))
    united = merge_runs([tmp_path / "gt.json", tmp_path / "rlhf.json"], tmp_path / "united")
    assert set(united["summary"]["per_budget"]["20"]["per_reward"]) == {"random", "gt", "rlhf"}
    assert united["args"]["rewards"] == ["gt", "rlhf"]
    other = json.loads(paths[1].read_text())
    paths[1].write_text(json.dumps({**other, "args": {**other["args"], "budgets": [5]}}))  # scored at other budgets
    assert merge_runs(paths, tmp_path / "merged")["args"]["budgets"] == sorted({5, *PolicyArgs().budgets})
    paths[1].write_text(json.dumps({**other, "args": {**other["args"], "queries": 7}}))
    with pytest.raises(ValueError, match="differ in more than their seeds"):
        merge_runs(paths, tmp_path / "merged")
