"""Aggregates for per-episode metrics: mean, std, interquartile mean and a 95% bootstrap CI."""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

BOOTSTRAP_RESAMPLES = 2000


def iqm(values: np.ndarray) -> float:
    """Mean of the middle 50% (as in rliable): robust to a few outlying episodes."""
    return float(stats.trim_mean(values, 0.25)) if len(values) else math.nan


def bootstrap_ci(values, level: float = 0.95, seed: int = 0):
    """Percentile bootstrap CI of the mean over axis 0; fixed seed so a record's CI is reproducible.
    1-D values give two floats; (n, m) values (e.g. seeds x points of a learning curve) give two arrays of m."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (BOOTSTRAP_RESAMPLES, len(values)))].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, tail, axis=0), np.quantile(means, 1 - tail, axis=0)
    return (float(low), float(high)) if values.ndim == 1 else (low, high)


def aggregate(values, higher_is_better: bool | None) -> dict:
    v = np.asarray([x for x in values if x is not None and not math.isnan(x)], dtype=float)
    low, high = bootstrap_ci(v)
    return {"mean": float(v.mean()) if len(v) else math.nan, "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            "iqm": iqm(v), "ci_low": low, "ci_high": high, "n": int(len(v)), "higher_is_better": higher_is_better}


def format_cell(a: dict | None, fmt: str = ".4g") -> str:
    """An aggregate as the tables show it, "mean [ci_low, ci_high]"; "—" where there is no number."""
    if not a or a.get("mean") is None or (isinstance(a["mean"], float) and math.isnan(a["mean"])):
        return "—"
    return f"{a['mean']:{fmt}} [{a['ci_low']:{fmt}}, {a['ci_high']:{fmt}}]"
