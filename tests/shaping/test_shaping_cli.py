"""`aligngym shaping curves` writes the JSON and a PNG per heuristic, and refuses unknown methods;
`aligngym shaping ppo` runs PPO primary-only, naive and BARFI."""
import json

from typer.testing import CliRunner

from aligngym.cli.shaping import app


def test_curves_command_writes_json_and_png(tmp_path):
    result = CliRunner().invoke(app, ["curves", "--seeds", "2", "--episodes", "64", "--num-envs", "32",
                                      "--method", "reinforce/primary", "--method", "reinforce/naive",
                                      "--heuristic", "bad", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "shaping_curves_ShapingGridWorld-v0.json").read_text())
    curve = data["heuristics"]["bad"]["reinforce/naive"]
    assert curve["episodes"] == [32, 64] and len(curve["mean"]) == 2 and len(curve["auc"]["per_seed"]) == 2
    assert data["verdict"]["bad"]["reinforce/naive"]["auc"]["outcome"] in ("wins", "ties", "loses")
    assert (tmp_path / "shaping_curves_ShapingGridWorld-v0_bad.png").stat().st_size > 1000


def test_curves_command_refuses_unknown_methods(tmp_path):
    result = CliRunner().invoke(app, ["curves", "--method", "reinforce/magic", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "Unknown method 'reinforce/magic'" in result.output


def test_ppo_command_runs_primary_naive_and_barfi(tmp_path):
    result = CliRunner().invoke(app, ["ppo", "--seeds", "1", "--budget", "2048", "--heuristic", "bad",
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    runs = json.loads((tmp_path / "shaping_ppo_ShapingGridWorld-v0.json").read_text())["runs"]
    assert set(runs) == {"none:ppo/primary", "bad:ppo/naive", "bad:ppo/barfi"}
    assert runs["bad:ppo/naive"]["phi1_where_aux"] == [1.0]  # frozen: a zero outer learning rate
    assert runs["bad:ppo/barfi"]["phi1_where_aux"][0] < 1.0  # one outer step already turns the bonus down
