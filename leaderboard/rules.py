"""Submission rules per environment id: what a RunRecord must contain to be ranked.

    rules_for("AlignGym/ShapingGridWorld-v0")  ->  Rule(seeds=(0, 1, 2, 3, 4), episodes_per_seed=4, num_envs=1, ...)

Every registered id gets `DEFAULT`; `OVERRIDES` (keyed by id) relaxes or tightens it where an env's episodes are
expensive (an LLM text face, MuJoCo) or noisy. Everyone evaluates on the same seeds with the same number of
episodes per seed and the same `num_envs`, so runs are comparable, a verified rerun is possible, and nobody can
stop early (or run longer) once the numbers look good: the counts are exact, never minimums. They are what
`aligngym leaderboard baselines` runs. `suite_versions` lists the `aligngym` versions whose records are accepted:
bump it when a release changes scoring without bumping env ids.
"""
from __future__ import annotations

from dataclasses import dataclass

from aligngym.envs import registry
from aligngym.envs.metrics import Metric


@dataclass(frozen=True)
class Rule:
    seeds: tuple[int, ...]
    """The evaluation seeds a record must use, in this order."""
    episodes_per_seed: int
    """Exactly this many episodes per seed."""
    num_envs: int = 1
    """Exactly this many envs side by side (a native vector twin seeds batches differently)."""
    suite_versions: tuple[str, ...] = ("0.1.0",)
    """`aligngym` versions whose records are accepted."""

    @property
    def episodes(self) -> int:
        return len(self.seeds) * self.episodes_per_seed


DEFAULT = Rule(seeds=(0, 1, 2, 3, 4), episodes_per_seed=4)

OVERRIDES: dict[str, Rule] = {
    # an LLM answers every step of a text face: fewer, longer episodes
    "AlignGym/ProgressFollowText-v1": Rule(seeds=(0, 1, 2), episodes_per_seed=2),
    "AlignGym/ProgressPredictText-v1": Rule(seeds=(0, 1, 2), episodes_per_seed=2),
    "AlignGym/ProgressCoevolveText-v1": Rule(seeds=(0, 1, 2), episodes_per_seed=2),
    "AlignGym/ShoppingText-v0": Rule(seeds=(0, 1, 2), episodes_per_seed=4),
    "AlignGym/ShapingHalfCheetah-v0": Rule(seeds=(0, 1, 2), episodes_per_seed=2),
}


def rules_for(env_id: str) -> Rule:
    """The rule of a registered id (KeyError naming close ids for an unknown one)."""
    return OVERRIDES.get(registry.row(env_id).id, DEFAULT)


def primary_metric(row: registry.Row) -> Metric:
    """The metric a table ranks by: the row's declared primary metric."""
    return next(m for m in row.metrics if m.name == row.primary_metric)
