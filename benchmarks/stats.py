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
    1-D values give two floats; (n, m) values (e.g. seeds x points of a learning curve) give two arrays of m."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return math.nan, math.nan
    if values.ndim == 1:
        (low,), (high,) = _ci_rows(values[None], level, seed)
        return float(low), float(high)
    means = values[_resamples(len(values), seed)].mean(axis=1)
    tail = (1 - level) / 2
    return tuple(np.quantile(means, [tail, 1 - tail], axis=0))


def _ci_rows(rows: np.ndarray, level: float = 0.95, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap CIs of the mean of each row of a (metrics, n) array, all rows resampled with the same draws and
    the quantiles taken in one call."""
    idx = _resamples(rows.shape[1], seed)
    means = np.stack([row[idx].mean(axis=1) for row in rows])  # row by row: a 3-D mean rounds differently
    tail = (1 - level) / 2
    return tuple(np.quantile(means, [tail, 1 - tail], axis=1))


@functools.lru_cache(maxsize=8)
def _resamples(n: int, seed: int) -> np.ndarray:
    """The bootstrap's index draws for n values: the same for every metric of a record, so drawn once."""
    idx = np.random.default_rng(seed).integers(0, n, (BOOTSTRAP_RESAMPLES, n))
    idx.flags.writeable = False
    return idx


def aggregate(values, higher_is_better: bool | None) -> dict:
    return aggregate_many({"x": values}, {"x": higher_is_better})["x"]


def aggregate_many(columns: dict[str, list], higher_is_better: dict[str, bool | None]) -> dict[str, dict]:
    """`aggregate` for several metrics at once (missing and NaN values dropped per metric): metrics with the same
    number of values share the resample draws and one quantile call. The numbers are exactly those of one
    `bootstrap_ci` call per metric."""
    clean = {name: np.asarray([x for x in values if x is not None and not math.isnan(x)], dtype=float)
             for name, values in columns.items()}
    by_n: dict[int, list[str]] = {}
    for name, v in clean.items():
        by_n.setdefault(len(v), []).append(name)
    out = {}
    for n, names in by_n.items():
        if n == 0:
            lows = highs = [math.nan] * len(names)
        else:
            lows, highs = _ci_rows(np.stack([clean[name] for name in names]))
        for name, low, high in zip(names, lows, highs):
            out[name] = _aggregate_row(clean[name], float(low), float(high), higher_is_better.get(name))
    return {name: out[name] for name in columns}


def _aggregate_row(v: np.ndarray, low: float, high: float, higher_is_better: bool | None) -> dict:
    return {"mean": float(v.mean()) if len(v) else math.nan, "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            "iqm": iqm(v), "ci_low": low, "ci_high": high, "n": int(len(v)), "higher_is_better": higher_is_better}


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
