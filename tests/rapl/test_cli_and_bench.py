"""`aligngym rapl ...` and the benchmark's bookkeeping."""
from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from aligngym.benchmarks.rapl.bench_rapl_queries import summarise
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
