"""The README table's driver: each heuristic trains with its own env kwargs, and training one heuristic later
and merging it into the saved JSON gives the same result as training both at once."""
import json

from aligngym.benchmarks.shaping import table


def test_heuristics_train_with_their_own_kwargs_and_merge_into_saved_results(tmp_path, monkeypatch):
    tiny = table.Budget(8, 1, {"horizon": 20}, 8, ("reinforce/barfi",), ("good", "bad"),
                        per_heuristic={"bad": {"env_kwargs": {"horizon": 10}, "episodes": 16}},
                        args={"outer_lr": 0.05})
    monkeypatch.setitem(table.BUDGETS, "tiny", {"CartPole": tiny})
    monkeypatch.setattr(table, "plot", lambda results, out_dir: [])
    full = table.run("CartPole", "tiny", tmp_path / "full", workers=1)
    assert full["env_kwargs_by_heuristic"] == {"good": {"horizon": 20}, "bad": {"horizon": 10}}
    assert full["args"] == {"outer_lr": 0.05} and full["episodes_by_heuristic"] == {"good": 8, "bad": 16}
    assert max(full["heuristics"]["bad"]["reinforce/barfi"]["mean"]) <= 10  # episodes of at most 10 steps

    table.run("CartPole", "tiny", tmp_path / "merged", workers=1, heuristics=("good",))
    merged = table.run("CartPole", "tiny", tmp_path / "merged", workers=1, heuristics=("bad",))
    assert merged["heuristics"] == full["heuristics"]
    assert merged["verdict"] == full["verdict"]
    saved = json.loads((tmp_path / "merged" / "shaping_table_CartPole.json").read_text())
    assert set(saved["heuristics"]) == {"good", "bad"}
    rows = table.from_saved(tmp_path / "merged")
    assert "| CartPole (8 x 1) | good (horizon 20) | barfi |" in rows
    assert "| CartPole (16 x 1) | bad (horizon 10) | barfi |" in rows
