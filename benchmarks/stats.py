"""Aggregates for per-episode metrics (mean, std, interquartile mean and a 95% bootstrap CI), and statistics of
proportions (Wilson 95% intervals; the difference of two proportions with Newcombe's interval, the pooled z-test and
Fisher's exact test), shared by the families' tables."""
from __future__ import annotations

import functools
import math

import numpy as np

BOOTSTRAP_RESAMPLES = 2000


def iqm(values: np.ndarray) -> float:
    """Mean of the middle 50% (as in rliable): robust to a few outlying episodes. The same partition as
    scipy.stats.trim_mean(values, 0.25), without its ~1 ms of argument handling per call."""
    n = len(values)
    if not n:
        return math.nan
    cut = int(0.25 * n)
    return float(np.partition(values, (cut, n - cut - 1))[cut:n - cut].mean())


def bootstrap_ci(values, level: float = 0.95, seed: int = 0):
    """Percentile bootstrap CI of the mean over axis 0; fixed seed so a record's CI is reproducible.
    1-D values give two floats; (n, ...) values (e.g. seeds x points of a learning curve) give two arrays."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return math.nan, math.nan
    _, low, high = _mean_and_ci(values.reshape(len(values), -1), level, seed)
    if values.ndim == 1:
        return float(low[0]), float(high[0])
    return low.reshape(values.shape[1:]), high.reshape(values.shape[1:])


def _mean_and_ci(values: np.ndarray, level: float = 0.95, seed: int = 0):
    """The mean of each column of an (n, m) array and its percentile bootstrap CI. Every column is resampled with
    the same draws, by one matrix-vector product each, so a column gets the same numbers alone or among others.
    Both are computed on the deviations from the column's first value: a constant column's mean and CI are then
    exactly that value."""
    origin = values[0]
    deviations = values - origin
    total = deviations[0].copy()
    for row in deviations[1:]:  # row by row: numpy's mean rounds differently with the array's shape
        total += row
    means = origin + total / len(values)
    weights = _resample_weights(len(values), seed)
    resampled = np.stack([weights @ column for column in deviations.T], axis=1) + origin
    tail = (1 - level) / 2
    low, high = np.quantile(resampled, [tail, 1 - tail], axis=0)
    return means, low, high


@functools.lru_cache(maxsize=8)
def _resample_weights(n: int, seed: int) -> np.ndarray:
    """The bootstrap's draws for n values as a (resamples, n) matrix of weights (times drawn / n), so one product
    gives every resample's mean: no resamples x n copy of the values. Drawn once per n, shared by every metric."""
    draws = np.random.default_rng(seed).integers(0, n, (BOOTSTRAP_RESAMPLES, n))
    counts = np.zeros((BOOTSTRAP_RESAMPLES, n))
    np.add.at(counts, (np.arange(BOOTSTRAP_RESAMPLES)[:, None], draws), 1)
    weights = counts / n
    weights.flags.writeable = False
    return weights


def aggregate(values, higher_is_better: bool | None) -> dict:
    return aggregate_many({"x": values}, {"x": higher_is_better})["x"]


def aggregate_many(columns: dict[str, list], higher_is_better: dict[str, bool | None]) -> dict[str, dict]:
    """`aggregate` for several metrics at once (missing and NaN values dropped per metric). Metrics with the same
    number of values share the resample weights and one quantile call; each metric's numbers are exactly those
    it gets alone."""
    clean = {name: np.asarray([x for x in values if x is not None and not math.isnan(x)], dtype=float)
             for name, values in columns.items()}
    by_n: dict[int, list[str]] = {}
    for name, v in clean.items():
        by_n.setdefault(len(v), []).append(name)
    out = {}
    for n, names in by_n.items():
        if n == 0:
            means = lows = highs = [math.nan] * len(names)
        else:
            means, lows, highs = _mean_and_ci(np.stack([clean[name] for name in names], axis=1))
        for name, mean, low, high in zip(names, means, lows, highs):
            v = clean[name]
            out[name] = {"mean": float(mean), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0, "iqm": iqm(v),
                         "ci_low": float(low), "ci_high": float(high), "n": int(len(v)),
                         "higher_is_better": higher_is_better.get(name)}
    return {name: out[name] for name in columns}


def format_cell(a: dict | None, fmt: str = ".4g") -> str:
    """An aggregate as the tables show it, "mean [ci_low, ci_high]"; "—" where there is no number."""
    if not a or a.get("mean") is None or (isinstance(a["mean"], float) and math.isnan(a["mean"])):
        return "—"
    return f"{a['mean']:{fmt}} [{a['ci_low']:{fmt}}, {a['ci_high']:{fmt}}]"


Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials ((0, 1) when n = 0)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def difference(k1: int, n1: int, k2: int, n2: int) -> dict:
    """p1 - p2 with Newcombe's 95% interval, the pooled two-proportion z-test and Fisher's exact test."""
    from scipy import stats  # here, not at the top: the per-episode aggregates above do not pay for importing it

    p1, p2 = (k1 / n1 if n1 else float("nan")), (k2 / n2 if n2 else float("nan"))
    (l1, u1), (l2, u2) = wilson(k1, n1), wilson(k2, n2)
    diff = p1 - p2
    low = diff - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = diff + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    pooled = (k1 + k2) / (n1 + n2) if n1 + n2 else 0.0
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2)) if n1 and n2 else 0.0
    z = diff / se if se > 0 else 0.0
    p_z = 2 * stats.norm.sf(abs(z)) if se > 0 else 1.0
    p_fisher = float(stats.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]])[1]) if n1 and n2 else 1.0
    return {"seen": p1, "unseen": p2, "n_seen": n1, "n_unseen": n2, "diff": diff, "ci_low": low, "ci_high": high,
            "z": z, "p_z": float(p_z), "p_fisher": p_fisher}
