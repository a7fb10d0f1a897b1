"""The shaping plots say how many seeds each heuristic's curves average."""
import matplotlib

from aligngym.benchmarks.shaping import scoring

matplotlib.use("Agg")


def test_curve_titles_count_each_heuristics_own_seeds(tmp_path, monkeypatch):
    """A table gives the bad heuristic 10 seeds and the good one 5: each plot's title says its own count."""
    from matplotlib.figure import Figure

    run = {"episodes": [16, 32], "mean": [1.0, 2.0], "ci_low": [0.5, 1.5], "ci_high": [1.5, 2.5]}
    results = {"env_id": "AlignGym/ShapingCartPole-v1", "seeds": list(range(5)),
               "seeds_by_heuristic": {"good": list(range(5)), "bad": list(range(10))},
               "heuristics": {"good": {"reinforce/primary": run}, "bad": {"reinforce/primary": run}}}
    titles = {}
    monkeypatch.setattr(Figure, "savefig", lambda fig, path, **kw: titles.update({path.name: fig._suptitle.get_text()}))
    scoring.plot(results, tmp_path)
    assert titles["shaping_curves_ShapingCartPole-v1_good.png"].startswith("ShapingCartPole-v1: 5 seeds")
    assert titles["shaping_curves_ShapingCartPole-v1_bad.png"].startswith("ShapingCartPole-v1: 10 seeds")
