"""Statistics of proportions: Wilson 95% intervals and the difference of two proportions (Newcombe's interval,
the pooled z-test, Fisher's exact test). Pure scipy, so any layer may use them: the shopping tables
(`aligngym.benchmarks.shopping.stats`) and the faking family's benchmarks import them from here."""
from __future__ import annotations

import math

from scipy import stats as sps

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
    p1, p2 = (k1 / n1 if n1 else float("nan")), (k2 / n2 if n2 else float("nan"))
    (l1, u1), (l2, u2) = wilson(k1, n1), wilson(k2, n2)
    diff = p1 - p2
    low = diff - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = diff + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    pooled = (k1 + k2) / (n1 + n2) if n1 + n2 else 0.0
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2)) if n1 and n2 else 0.0
    z = diff / se if se > 0 else 0.0
    p_z = 2 * sps.norm.sf(abs(z)) if se > 0 else 1.0
    p_fisher = float(sps.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]])[1]) if n1 and n2 else 1.0
    return {"seen": p1, "unseen": p2, "n_seen": n1, "n_unseen": n2, "diff": diff, "ci_low": low, "ci_high": high,
            "z": z, "p_z": float(p_z), "p_fisher": p_fisher}
