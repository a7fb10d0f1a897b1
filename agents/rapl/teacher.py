"""The simulated end user: answers preference queries over videos from their hidden preference cost.

A query shows three videos; the user ranks them as a triplet (o+, o0, o-) (RAPL's protocol), says they are all
equally good (an "equal" triplet), or skips. The user's knobs are B-Pref's (Lee et al. 2021):

- `beta` rationality: -1 ranks perfectly; otherwise the ranking is drawn from a Plackett-Luce model (Bradley-Terry
  for pairs) with weights exp(beta * R), R the (discounted) sum of negative costs;
- `gamma` myopia: step t of T counts gamma^(T-1-t), so early steps fade;
- `eps_mistake`: with this probability the ranking is reversed;
- `eps_skip`: skip when all three videos are in the worst eps_skip of the pool's utility range;
- `eps_equal`: "equal" when the three utilities lie within eps_equal of that range.

B-Pref sets its skip and equal thresholds as a fraction of a scale of segment returns; rewards here are negative
costs, so the scale is the pool's utility range. Presets are B-Pref's (oracle, mistake, noisy, skip, myopic,
equal) and RAPL's noise-free, band-filtered teacher (`rapl`): it picks o+ from the best band of the pool, o0 from
a middle band and o- from a bad band, and builds equal triplets from the best band. RAPL's own bands are absolute
costs of its Franka task (o+ <= 0.05, o0 in (0.05, 0.08], o- in (0.15, 0.2), equal < 0.08, ranked by the last
step: preset `rapl_franka`); `rapl` uses the same idea on the pool's cost ranks (quantiles, ties in random order)
of the mean cost, so it fits any cost scale, even a pool where many videos tie at zero cost; `rapl_last` ranks by
the last step's cost, as RAPL's Franka teacher, on quantiles (the absolute bands leave the pools here nearly empty).
A user ranks its preferred demonstrations by the same utility as its answers.
Every answered or skipped triplet spends one query of the user's budget.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import NamedTuple, Sequence

import numpy as np

from aligngym.agents.rapl.episodes import Episode


@dataclass(frozen=True)
class TeacherArgs:
    beta: float = -1.0
    """rationality: -1 = perfectly rational, else the Plackett-Luce inverse temperature on utilities"""
    gamma: float = 1.0
    """myopia: weight gamma^(T-1-t) on step t"""
    eps_mistake: float = 0.0
    """probability of reversing a ranking"""
    eps_skip: float = 0.0
    """skip a query whose three videos all lie in this worst fraction of the pool's utility range"""
    eps_equal: float = 0.0
    """answer "equal" when the three utilities lie within this fraction of the pool's range"""
    score: str = "sum"
    """utility of a video: "sum" of negative costs (B-Pref) or the negative "last" cost (RAPL's Franka teacher)"""
    bands: tuple[float, ...] | None = None
    """RAPL's band filter (pos_max, neu_lo, neu_hi, neg_lo, neg_hi, equal_max) on the episode cost, or None"""
    band_units: str = "quantile"
    """"quantile": bands are quantiles of the pool's costs; "absolute": raw costs"""


PRESETS: dict[str, TeacherArgs] = {
    "oracle": TeacherArgs(),
    "mistake": TeacherArgs(eps_mistake=0.1),
    "noisy": TeacherArgs(beta=1.0),
    "skip": TeacherArgs(eps_skip=0.1),
    "myopic": TeacherArgs(gamma=0.9),
    "equal": TeacherArgs(eps_equal=0.1),
    "rapl": TeacherArgs(bands=(0.15, 0.3, 0.5, 0.7, 0.9, 0.15)),
    "rapl_last": TeacherArgs(score="last", bands=(0.15, 0.3, 0.5, 0.7, 0.9, 0.15)),
    "rapl_franka": TeacherArgs(score="last", bands=(0.05, 0.05, 0.08, 0.15, 0.2, 0.08), band_units="absolute"),
}


class Triplet(NamedTuple):
    """Indices of three episodes, best first; `equal` marks "all equally good" (then the order means nothing)."""

    pos: int
    neu: int
    neg: int
    equal: bool = False


class QueryBudgetExhausted(RuntimeError):
    pass


class SimulatedUser:
    """Answers triplet queries about a pool of episodes from their hidden costs, within a query budget."""

    def __init__(self, preset: str = "oracle", budget: int = 300, seed: int = 0, **overrides):
        if preset not in PRESETS:
            raise ValueError(f"Unknown teacher preset {preset!r}; allowed: {', '.join(PRESETS)}.")
        if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
            raise ValueError(f"The query budget must be an int >= 1; got {budget!r}.")
        unknown = set(overrides) - set(TeacherArgs.__dataclass_fields__)
        if unknown:
            raise ValueError(f"Unknown teacher knob(s) {', '.join(sorted(unknown))}; "
                             f"allowed: {', '.join(TeacherArgs.__dataclass_fields__)}.")
        self.preset, self.args = preset, replace(PRESETS[preset], **overrides)
        if self.args.score not in ("sum", "last") or self.args.band_units not in ("quantile", "absolute"):
            raise ValueError("score must be 'sum' or 'last' and band_units 'quantile' or 'absolute'.")
        self.budget, self.queries_used = int(budget), 0
        self.rng = np.random.default_rng(seed)

    def describe(self) -> dict:
        return {"preset": self.preset, "budget": self.budget, "queries_used": self.queries_used, **asdict(self.args)}

    def utility(self, episode: Episode) -> float:
        cost = episode.preference_cost
        if self.args.score == "last":
            return -float(cost[-1])
        weights = self.args.gamma ** np.arange(len(cost) - 1, -1, -1)
        return -float(np.sum(weights * cost))

    def _spend(self) -> None:
        if self.queries_used >= self.budget:
            raise QueryBudgetExhausted(f"The user's query budget of {self.budget} is spent.")
        self.queries_used += 1

    def rank(self, utilities: np.ndarray, idx: Sequence[int], span: float) -> Triplet | None:
        """One B-Pref-style answer about the episodes `idx` (None: skipped). `span` is the pool's utility range."""
        self._spend()
        u = utilities[list(idx)]
        a = self.args
        if a.eps_skip > 0 and u.max() < utilities.min() + a.eps_skip * span:
            return None
        if a.eps_equal > 0 and u.max() - u.min() < a.eps_equal * span:
            return Triplet(*idx, equal=True)
        if a.beta < 0:
            order = list(np.argsort(-u, kind="stable"))
        else:  # Plackett-Luce: pick the best by softmax(beta * u), then the next among the rest
            order, left = [], [0, 1, 2]
            while left:
                w = np.exp(a.beta * (u[left] - u[left].max()))
                order.append(left.pop(int(self.rng.choice(len(left), p=w / w.sum()))))
        if self.rng.random() < a.eps_mistake:
            order = order[::-1]
        return Triplet(*(int(idx[i]) for i in order))

    def label(self, episodes: Sequence[Episode], n_queries: int) -> list[Triplet]:
        """Spends `n_queries` queries on triplets drawn from `episodes` and returns the answered ones. A request
        beyond the budget left raises QueryBudgetExhausted before any query is spent."""
        if isinstance(n_queries, bool) or not isinstance(n_queries, (int, np.integer)) or n_queries < 1:
            raise ValueError(f"n_queries must be an int >= 1; got {n_queries!r}.")
        if n_queries > self.budget - self.queries_used:
            raise QueryBudgetExhausted(f"{n_queries} queries asked but {self.budget - self.queries_used} of the user's "
                                       f"budget of {self.budget} are left; nothing was spent.")
        if len(episodes) < 3:
            raise ValueError(f"Preference queries need at least 3 episodes; got {len(episodes)}.")
        if self.args.bands is not None:
            return self._label_bands(episodes, n_queries)
        utilities = np.array([self.utility(e) for e in episodes])
        span = float(utilities.max() - utilities.min()) or 1.0
        answers = [self.rank(utilities, self.rng.choice(len(episodes), 3, replace=False), span)
                   for _ in range(n_queries)]
        return [t for t in answers if t is not None]

    def _label_bands(self, episodes: Sequence[Episode], n_queries: int) -> list[Triplet]:
        """RAPL's teacher: half ranked triplets from the pos/neu/neg bands, half equal triplets from the best band."""
        cost = -np.array([self.utility(e) for e in episodes])
        if self.args.score == "sum":
            cost = cost / np.array([len(e) for e in episodes])  # the mean cost: comparable across lengths
        b = np.asarray(self.args.bands, dtype=float)
        if self.args.band_units == "quantile":  # bands on ranks (ties in random order), so tied costs still split
            order = np.lexsort((self.rng.random(len(cost)), cost))
            cost = np.empty(len(cost))
            cost[order] = np.arange(len(order)) / max(len(order) - 1, 1)
        pos = np.flatnonzero(cost <= b[0])
        neu = np.flatnonzero((cost > b[1]) & (cost <= b[2]))
        neg = np.flatnonzero((cost > b[3]) & (cost < b[4]))
        good = np.flatnonzero(cost < b[5])
        if min(len(pos), len(neu), len(neg)) == 0 or len(good) < 3:
            raise ValueError(f"The pool of {len(episodes)} episodes has too few in RAPL's cost bands "
                             f"(pos {len(pos)}, neutral {len(neu)}, neg {len(neg)}, equal {len(good)}); collect more "
                             "varied episodes or use quantile bands.")
        triplets = []
        for q in range(n_queries):
            self._spend()
            if q % 2 == 0:
                triplets.append(Triplet(int(self.rng.choice(pos)), int(self.rng.choice(neu)), int(self.rng.choice(neg))))
            else:
                triplets.append(Triplet(*(int(i) for i in self.rng.choice(good, 3, replace=False)), equal=True))
        return triplets
