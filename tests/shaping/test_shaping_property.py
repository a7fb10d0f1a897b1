"""The property the shaping family exists to show, at a small budget on GridWorld (REINFORCE inner learner):
with the farmable bad heuristic the naive sum falls below primary-only while BARFI recovers to at least
primary-only (by learning to turn the heuristic down where it pays); with the good heuristic, BARFI turns it
up and shaping costs nothing at the end. Fixed seeds; each claim has a margin and can fail if a method breaks."""
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


def test_good_heuristic_is_kept_and_does_not_hurt():
    """The good heuristic's speed-up on GridWorld is too small to test (AUC +0.2 on 85.0 at 5 seeds x 2000 episodes:
    a tie): what must hold is that BARFI raises its weight where it pays and that shaping costs nothing at the end."""
    results = learning_curves(methods=("reinforce/primary", "reinforce/naive", "reinforce/barfi"),
                              heuristics=("good",), seeds=range(3), episodes=1000)
    runs = results["heuristics"]["good"]
    final = {m: r["final"]["mean"] for m, r in runs.items()}
    assert min(final["reinforce/naive"], final["reinforce/barfi"]) >= final["reinforce/primary"] - 1, final
    phi1 = runs["reinforce/barfi"]["reward_params"]["phi1_where_aux"]
    assert None not in phi1["per_seed"] and phi1["mean"] > 1.2, phi1
