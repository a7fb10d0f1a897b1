"""The README table's driver: each heuristic trains with its own env kwargs, and training one heuristic later
and merging it into the saved JSON gives the same result as training both at once (and is refused when the saved
results were made under other settings); the verdicts' error rate under no effect, and their equivalence margin."""
import json
from dataclasses import asdict

import numpy as np
import pytest

from aligngym.agents.shaping.args import make_args
from aligngym.benchmarks.shaping import scoring, table
from aligngym.benchmarks.stats import bootstrap_ci


def test_heuristics_train_with_their_own_kwargs_and_merge_into_saved_results(tmp_path, monkeypatch):
    tiny = table.Budget(8, 1, {"horizon": 20}, 8, ("reinforce/barfi",), ("good", "bad"),
                        per_heuristic={"bad": {"env_kwargs": {"horizon": 10}, "episodes": 16, "seeds": 2}},
                        args={"outer_lr": 0.05})
    monkeypatch.setitem(table.BUDGETS, "tiny", {"CartPole": tiny})
    monkeypatch.setattr(table, "plot", lambda results, out_dir: [])
    full = table.run("CartPole", "tiny", tmp_path / "full", workers=1)
    assert full["env_kwargs_by_heuristic"] == {"good": {"horizon": 20}, "bad": {"horizon": 10}}
    assert full["args"] == {"outer_lr": 0.05} and full["episodes_by_heuristic"] == {"good": 8, "bad": 16}
    assert max(full["heuristics"]["bad"]["reinforce/barfi"]["mean"]) <= 10  # episodes of at most 10 steps
    # beside the overrides, every field of the Args the runs read
    assert full["heuristics"]["bad"]["reinforce/barfi"]["resolved_args"] == asdict(make_args(outer_lr=0.05,
                                                                                           num_envs=8))

    table.run("CartPole", "tiny", tmp_path / "merged", workers=1, heuristics=("good",))
    merged = table.run("CartPole", "tiny", tmp_path / "merged", workers=1, heuristics=("bad",))
    assert merged["heuristics"] == full["heuristics"]
    assert merged["verdict"] == full["verdict"]
    saved = json.loads((tmp_path / "merged" / "shaping_table_CartPole.json").read_text())
    assert set(saved["heuristics"]) == {"good", "bad"}
    rows = table.from_saved(tmp_path / "merged")
    assert "| CartPole (8 x 1) | good (horizon 20) | barfi |" in rows
    assert "| CartPole (16 x 2) | bad (horizon 10) | barfi |" in rows
    assert saved["seeds_by_heuristic"] == {"good": [0], "bad": [0, 1]}


def test_retraining_one_method_with_new_outer_args_keeps_the_others(tmp_path, monkeypatch):
    """`--method reinforce/barfi` with BARFI's outer loop changed retrains only BARFI; the result equals a full run
    under the new args (primary-only reads no outer field). A kept method trained with other inner-learner args is
    refused."""
    monkeypatch.setattr(table, "plot", lambda results, out_dir: [])
    methods = ("reinforce/primary", "reinforce/barfi")

    def budget(args):
        monkeypatch.setitem(table.BUDGETS, "tiny", {"CartPole": table.Budget(16, 2, {"horizon": 10}, 8, methods,
                                                                             ("bad",), args=args)})

    budget({})
    table.run("CartPole", "tiny", tmp_path / "merged", workers=1)
    path = tmp_path / "merged" / "shaping_table_CartPole.json"
    old = json.loads(path.read_text())  # saved before records kept the resolved args: still read and merged
    for entry in old["heuristics"]["bad"].values():
        entry.pop("resolved_args")
    path.write_text(json.dumps(old))
    budget({"preset": "authors_cartpole"})
    merged = table.run("CartPole", "tiny", tmp_path / "merged", workers=1, methods=("reinforce/barfi",))
    full = table.run("CartPole", "tiny", tmp_path / "full", workers=1)
    assert list(merged["heuristics"]["bad"]) == list(methods)
    for m in methods:
        for key in ("mean", "auc", "final", "reward_params"):
            assert merged["heuristics"]["bad"][m].get(key) == full["heuristics"]["bad"][m].get(key)
    assert merged["heuristics"]["bad"]["reinforce/barfi"]["args"] == {"preset": "authors_cartpole"}
    assert merged["heuristics"]["bad"]["reinforce/barfi"]["resolved_args"] == asdict(make_args("authors_cartpole",
                                                                                             num_envs=8))
    assert "resolved_args" not in merged["heuristics"]["bad"]["reinforce/primary"]
    assert "| CartPole (16 x 2) | bad (horizon 10) | primary |" in table.from_saved(tmp_path / "merged")
    assert merged["retrained"][0]["methods"] == ["reinforce/barfi"]
    budget({"learning_rate": 0.01})
    with pytest.raises(ValueError, match="bad's reinforce/primary trained with args"):
        table.run("CartPole", "tiny", tmp_path / "merged", workers=1, methods=("reinforce/barfi",))


def test_verdicts_keep_their_error_rate_at_five_seeds_under_no_effect():
    """The null simulation: 2000 draws of 5 paired differences with no real effect (and no margin to hide behind).
    The percentile bootstrap called ~15% of them wins or losses; the Student-t interval must stay near 5%."""
    rng = np.random.default_rng(1)
    outcomes = [scoring.paired_verdict(rng.normal(size=5), baseline_mean=0.0)["outcome"] for _ in range(2000)]
    assert np.mean([o in ("wins", "loses") for o in outcomes]) < 0.065
    boot = [bootstrap_ci(rng.normal(size=5)) for _ in range(500)]  # the old rule, for the record
    assert np.mean([low > 0 or high < 0 for low, high in boot]) > 0.1


def test_certain_but_tiny_differences_tie_within_the_margin():
    tiny = scoring.paired_verdict(np.array([0.30, 0.32, 0.35, 0.31, 0.33]), baseline_mean=84.7)  # +0.4%
    assert tiny["outcome"] == "ties (within margin)" and tiny["ci_low"] > 0
    assert scoring.paired_verdict(np.array([3.0, 2.5, 3.5, 2.8, 3.1]), 84.7)["outcome"] == "wins"
    assert scoring.paired_verdict(-np.array([3.0, 2.5, 3.5, 2.8, 3.1]), 84.7)["outcome"] == "loses"
    assert scoring.paired_verdict(np.zeros(5), 84.7)["outcome"] == "ties"  # identical runs (e.g. pbrs, Phi = 0)
    assert scoring.paired_verdict(np.array([5.0, 1.0]), 84.7, enough=False)["outcome"] == "too few seeds"


def test_a_heuristic_filled_a_method_at_a_time_equals_a_full_run_and_lists_what_is_missing(tmp_path, monkeypatch):
    methods = ("reinforce/primary", "reinforce/naive", "reinforce/barfi")
    monkeypatch.setitem(table.BUDGETS, "tiny", {"CartPole": table.Budget(16, 2, {"horizon": 10}, 8, methods,
                                                                         ("bad",))})
    monkeypatch.setattr(table, "plot", lambda results, out_dir: [])
    full = table.run("CartPole", "tiny", tmp_path / "full", workers=1)
    table.run("CartPole", "tiny", tmp_path / "parts", workers=1, methods=("reinforce/barfi",))
    rows = table.from_saved(tmp_path / "parts")
    assert "| barfi |" in rows and "- (primary-only not run yet)" in rows
    assert "Not run yet (the budget plans them; `--heuristic H --method M` adds them): CartPole bad primary, " \
           "CartPole bad naive." in rows
    table.run("CartPole", "tiny", tmp_path / "parts", workers=1, methods=("reinforce/primary",))
    merged = table.run("CartPole", "tiny", tmp_path / "parts", workers=1, methods=("reinforce/naive",))
    assert list(merged["heuristics"]["bad"]) == list(methods)  # the budget's order
    assert merged["heuristics"] == full["heuristics"] and merged["verdict"] == full["verdict"]
    assert "Not run yet" not in table.from_saved(tmp_path / "parts")


def test_merging_into_results_from_other_settings_is_refused(tmp_path, monkeypatch):
    tiny = table.Budget(8, 1, {"horizon": 10}, 8, ("reinforce/primary",), ("good", "bad"))
    monkeypatch.setitem(table.BUDGETS, "tiny", {"CartPole": tiny})
    monkeypatch.setattr(table, "plot", lambda results, out_dir: [])
    table.run("CartPole", "tiny", tmp_path, workers=1, heuristics=("good",))
    saved = json.loads((tmp_path / "shaping_table_CartPole.json").read_text())
    assert saved["provenance_by_heuristic"]["good"]["seeding"] == "SeedSequence"
    assert {"git_hash", "started_at"} <= set(saved["provenance_by_heuristic"]["good"])
    path = tmp_path / "shaping_table_CartPole.json"
    for change, message in ((lambda r: r["seeds_by_heuristic"].update(good=[0, 1]), "good's seeds"),
                            (lambda r: r.update(num_envs=16), "num_envs"),
                            (lambda r: r.pop("provenance"), "old env seeding"),
                            (lambda r: r["heuristics"]["good"].update({"reinforce/naive": {}}), "good's methods")):
        broken = json.loads(json.dumps(saved))
        change(broken)
        path.write_text(json.dumps(broken))
        with pytest.raises(ValueError, match=f"Refusing to merge into saved results made with .*{message}"):
            table.run("CartPole", "tiny", tmp_path, workers=1, heuristics=("bad",))


def test_pbrs_rows_without_a_state_potential_get_no_verdict():
    """On the action-agreement envs Phi does not depend on the state, so pbrs is primary-only: not a finding."""
    row = {"auc": {"mean": 1.0, "ci_low": 1.0, "ci_high": 1.0}, "final": {"mean": 1.0, "ci_low": 1.0, "ci_high": 1.0},
           "final_success": {"mean": 1.0, "ci_low": 1.0, "ci_high": 1.0}}
    tie = {"auc": {"outcome": "ties"}, "final": {"outcome": "ties"}}
    results = {"episodes": 16, "num_envs": 16, "seeds": [0], "env_kwargs": {},
               "heuristics": {"bad": {"reinforce/primary": row, "reinforce/pbrs": row}},
               "verdict": {"bad": {"reinforce/pbrs": tie}}}
    assert "| pbrs | 1.0 [1.0, 1.0] | 1.0 [1.0, 1.0] | 1.00 [1.00, 1.00] | n/a (no state potential) |" in \
        table.markdown({"CartPole": results})
    assert "| pbrs | 1.0 [1.0, 1.0] | 1.0 [1.0, 1.0] | 1.00 [1.00, 1.00] | ties / ties |" in \
        table.markdown({"GridWorld": results})


def test_mountaincar_diagnosis_traces_each_outer_step(monkeypatch):
    """The MountainCar diagnosis: one trace row per batch with the share of outer steps that saw a goal, the J part
    and the L2 pull (the authors' loop pulls phi's hidden weights; without a goal its J part is 0 and phi, started at 0,
    stays 0), and the naive sum without a trace."""
    from aligngym.benchmarks.shaping import mountaincar_diagnosis as diagnosis

    monkeypatch.setattr(diagnosis, "SETTINGS", {"bad": ("bad", {"horizon": 40}, 32)})
    barfi = diagnosis._seed_run(("authors_mountaincar", "bad", 0))
    assert len(barfi["grad_l2"]) == len(barfi["episodes"]) == 2 and min(barfi["grad_l2"]) > 0
    assert barfi["groups_with_goal"] == [0.0, 0.0] and barfi["grad_j"] == [0.0, 0.0]  # no goal in 40 steps
    assert barfi["params"]["phi1_where_aux"] == [0.0, 0.0]  # started at primary-only: the pull keeps the output 0
    naive = diagnosis._seed_run(("naive, aux_scale 0.01", "bad", 0))
    assert all(np.isnan(naive["params"]["phi2"])) and max(naive["aux_return"]) <= 0.4  # 40 steps x 0.01


def test_cartpole_normaliser_traces_each_update():
    """The CartPole normaliser diagnosis on a tiny budget: one trace row per inner update, the learner's own update
    restored afterwards, and with the floor the advantages used are never larger than the batch std's unit RMS."""
    from aligngym.agents.shaping.reinforce import Reinforce
    from aligngym.benchmarks.shaping import cartpole_normaliser as diagnosis

    update = Reinforce.update
    _, curve, trace = diagnosis._run(("floor 0.05", "barfi", 0, 32))
    assert Reinforce.update is update
    assert len(curve) == len(trace) == 2
    assert all(t["step"] > 0 and t["scale"] > 0 and t["used"] <= 1.0 + 1e-6 for t in trace)
    assert diagnosis.late(trace, "step") == pytest.approx(trace[-1]["step"])


def test_cartpole_plateau_merges_runs_and_pairs_them_with_primary(tmp_path):
    """The plateau diagnosis on a tiny budget: a second call adds its method beside the saved ones (primary-only
    first), pairs it with primary-only on the same seeds, records the gradient norm; other seeds are refused."""
    from aligngym.benchmarks.shaping import cartpole_plateau as plateau

    plateau.main(tmp_path, ["floor 0.05"], ["naive, aux x 0.001"], seeds=2, episodes=16, workers=1)
    results = plateau.main(tmp_path, ["floor 0.05"], ["primary"], seeds=2, episodes=16, workers=1)
    runs = results["runs"]["floor 0.05"]
    assert list(runs) == ["primary", "naive, aux x 0.001"]
    assert "final_minus_primary" in runs["naive, aux x 0.001"] and "final_minus_primary" not in runs["primary"]
    assert all(g > 0 for g in runs["primary"]["grad_other"])
    assert "| floor 0.05 | naive, aux x 0.001 |" in (tmp_path / "shaping_cartpole_plateau.md").read_text()
    with pytest.raises(ValueError, match="2 seeds x 16 episodes"):
        plateau.main(tmp_path, ["floor 0.05"], ["primary"], seeds=3, episodes=16, workers=1)


def test_cartpole_plateau_barfi_variants_train_barfi_with_their_outer_loop(monkeypatch):
    """Each BARFI variant of the plateau diagnosis trains BARFI under the table's learner with its own outer-loop
    fields over the preset's (and a valid Args)."""
    from aligngym.agents.shaping.args import make_args
    from aligngym.benchmarks.shaping import cartpole_plateau as plateau

    seen = {}
    monkeypatch.setattr(plateau, "traced_train", lambda mode, seed, episodes, overrides, env_kwargs: seen.update(
        mode=mode, overrides=overrides, env=env_kwargs) or ([], []))
    for method, field, value in (("barfi, random outer steps", "outer_random", "walk"),
                                 ("barfi, one outer step per batch", "outer_episodes", 0),
                                 ("barfi, adam", "outer_optimizer", "adam"),
                                 ("barfi, random drift", "outer_random", "drift"),
                                 ("barfi, random drift, bad_reference", "outer_random", "drift")):
        plateau._run(("floor 0.05", method, 0, 16))
        assert seen["mode"] == "barfi" and seen["overrides"][field] == value
        assert seen["env"].get("heuristic", "bad") == ("bad_reference" if "bad_reference" in method else "bad")
        assert seen["overrides"]["advantage_floor"] == plateau.CARTPOLE_LEARNER["advantage_floor"]
        args = make_args(plateau.PRESET, **seen["overrides"])
        assert getattr(args, field) == value != getattr(make_args(plateau.PRESET), field)


def test_recovered_share_is_barfis_part_of_naives_loss():
    """(barfi - naive) / (primary - naive) over seeds: 0.9 when BARFI wins back 9 of naive's 10 points, with a CI
    inside the per-seed range; nothing to report where naive does not lose."""
    final = lambda values: {"final": {"per_seed": values}}  # noqa: E731
    results = {"heuristics": {"bad": {"reinforce/primary": final([10.0, 10.0, 10.0, 10.0]),
                                      "reinforce/naive": final([0.0, 0.0, 0.0, 0.0]),
                                      "reinforce/barfi": final([9.0, 8.0, 10.0, 9.0])}},
               "verdict": {"bad": {"reinforce/naive": {"final": {"outcome": "loses"}}}}}
    share = table.recovered_share(results, "bad")
    assert share["share"] == pytest.approx(0.9)
    assert 0.8 <= share["ci_low"] <= 0.9 <= share["ci_high"] <= 1.0
    results["verdict"]["bad"]["reinforce/naive"]["final"]["outcome"] = "ties"
    assert table.recovered_share(results, "bad") is None


def test_mountaincar_diagnosis_pairs_runs_with_the_table_only_on_the_same_policy():
    """A diagnosis run made on another policy than the table's (the MLP runs saved before the tile-coded policy)
    gets no verdict against the table's seeds; one on the table's policy does."""
    from aligngym.benchmarks.shaping import mountaincar_diagnosis as diagnosis

    success = {"per_seed": [1.0, 0.0]}
    table = {"args": {"preset": "authors_mountaincar", **diagnosis.MOUNTAINCAR_LEARNER},
             "heuristics": {"bad": {m: {"final_success": success} for m in ("reinforce/primary", "reinforce/naive")}}}
    n = 20  # batches
    run = {"config": "c", "heuristic": "bad", "success": [1.0] * n, "aux_return": [0.0] * n,
           "params": {"phi1_where_aux": [0.0] * n, "phi2": [0.0] * n, "gamma": [0.99] * n},
           "groups_with_goal": [1.0] * n, "j_over_l2_median": [1.0] * n}
    runs = [{**run, "seed": s} for s in (0, 1)]
    row = lambda rs: diagnosis.markdown(rs, table, {}).splitlines()[-1].split(" | ")  # noqa: E731
    assert row(runs)[4:6] == ["-", "-"]  # saved without a learner: the MLP policy
    paired = row([{**r, "learner": dict(diagnosis.MOUNTAINCAR_LEARNER)} for r in runs])
    assert "ties" in paired[4] or "wins" in paired[4] or "loses" in paired[4]
    assert paired[5] != "-"
