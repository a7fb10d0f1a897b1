"""The property the shaping family exists to show, at a small budget on GridWorld (REINFORCE inner learner):
with the farmable bad heuristic the naive sum falls below primary-only while BARFI recovers to at least
primary-only (by learning to turn the heuristic down where it pays); with the good heuristic, shaping
learns faster than primary-only. Fixed seeds; each claim has a margin and can fail if a method breaks."""
import pytest

from aligngym.benchmarks.shaping.scoring import learning_curves

pytestmark = pytest.mark.slow  # ~1 min of training; `pytest -m slow`


def test_bad_heuristic_naive_falls_below_primary_and_barfi_recovers():
    results = learning_curves(methods=("reinforce/primary", "reinforce/naive", "reinforce/barfi"),
                              heuristics=("bad",), seeds=range(3), episodes=1500)
    runs = results["heuristics"]["bad"]
    final = {m: r["final"]["mean"] for m, r in runs.items()}  # mean primary return over the last fifth
    assert final["reinforce/naive"] < final["reinforce/primary"] - 20, final
    assert final["reinforce/barfi"] >= final["reinforce/primary"] - 5, final
    assert runs["reinforce/barfi"]["final_success"]["mean"] > 0.7
    # BARFI got there by down-weighting the auxiliary reward where it is paid (it starts at phi1 = 1); every
    # seed's last batch was paid some (phi1_where_aux is null, not 0, when none was)
    phi1 = runs["reinforce/barfi"]["reward_params"]["phi1_where_aux"]
    assert None not in phi1["per_seed"] and phi1["mean"] < 0.9


def test_good_heuristic_shaping_learns_faster_than_primary_only():
    results = learning_curves(methods=("reinforce/primary", "reinforce/naive"), heuristics=("good",),
                              seeds=range(5), episodes=1000)
    auc = results["verdict"]["good"]["reinforce/naive"]["auc"]  # mean primary return over training
    assert auc["outcome"] == "wins", auc
