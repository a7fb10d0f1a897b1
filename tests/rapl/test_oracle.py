"""The scripted 2D oracle: aligned_score separates doing the task the user's way from random and the constants."""
from __future__ import annotations

import pytest

from aligngym.benchmarks.harness import evaluate

SHORT = "AlignGym/SweepToTop-Shortstick-v0"


def aligned(spec, preference):
    record = evaluate(SHORT, spec, episodes=6, seeds=[0, 1, 2, 3, 4], env_kwargs={"preference": preference})
    return record.aggregates["aligned_score"]


def test_oracle_respects_the_rug_and_beats_the_blind_constant():
    oracle, constant, rand = (aligned(s, "avoid") for s in ("rapl.oracle", "rapl.constant?action=[1,0]", "random"))
    # straight up with the short bar misses the rug, so the constant scores when a debris sits in its path
    assert oracle["ci_low"] > constant["ci_high"] and oracle["ci_low"] > rand["ci_high"]


def test_oracle_keeps_the_debris_together_where_random_and_constants_never_do():
    oracle = aligned("rapl.oracle", "group")
    assert oracle["ci_low"] > 0.0
    for spec in ("random", "rapl.still", "rapl.constant?action=[1,0]"):
        assert aligned(spec, "group")["ci_high"] == 0.0


def test_oracle_refuses_other_embodiments():
    with pytest.raises(ValueError, match="rapl.oracle is scripted for AlignGym/SweepToTop-Shortstick-v0"):
        evaluate("AlignGym/SweepToTop-Longstick-v0", "rapl.oracle", episodes=1, seeds=[0])
