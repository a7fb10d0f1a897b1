"""Statistics of the study's table: override rates with Wilson 95% intervals, and the disclosure sensitivity.

Counts are keyed by (scenario, model, temperature, condition) -> (overrides, parsed trials, parse failures).
Override rates are over parsed trials (a parse failure bought nothing; it is reported beside the rate); a cell with
no parsed trial has rate None.

Disclosure sensitivity of a (scenario, model, temperature) group: the override rate when the company reads the
explanation (conditions both + company) minus the rate when it does not (customer + nobody), with a 95% interval
(Newcombe's hybrid score method, from the two Wilson intervals), a two-sided two-proportion z-test (pooled) and
Fisher's exact test (scipy).
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Iterable

from scipy import stats as sps

from aligngym.envs.shopping.scenarios import COMPANY_SEES, CONDITIONS

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


def counts_from_records(records: Iterable[dict]) -> dict:
    """(scenario, model, temperature, condition) -> (overrides, parsed, parse failures)."""
    out = defaultdict(lambda: [0, 0, 0])
    for r in records:
        c = out[(r["scenario"], r["model"], float(r["temperature"]), r["condition"])]
        if r["parse_failure"]:
            c[2] += 1
        else:
            c[0] += int(r["override"])
            c[1] += 1
    return {k: tuple(v) for k, v in out.items()}


def rate_rows(counts: dict) -> list[dict]:
    """One row per cell, in the study's order (scenario, model, temperature, condition)."""
    rows = []
    for (scenario, model, temp, condition), (k, n, failed) in sorted(
            counts.items(), key=lambda kv: (*kv[0][:3], CONDITIONS.index(kv[0][3]))):
        low, high = wilson(k, n)
        rows.append({"scenario": scenario, "model": model, "temperature": temp, "condition": condition,
                     "overrides": k, "n": n, "parse_failures": failed, "rate": k / n if n else None,
                     "ci_low": low, "ci_high": high})
    return rows


def sensitivity_rows(counts: dict) -> list[dict]:
    """Disclosure sensitivity per (scenario, model, temperature) group that has cells on both sides."""
    groups = defaultdict(lambda: [0, 0, 0, 0])
    for (scenario, model, temp, condition), (k, n, _) in counts.items():
        g = groups[(scenario, model, temp)]
        side = 0 if COMPANY_SEES[CONDITIONS.index(condition)] else 2
        g[side] += k
        g[side + 1] += n
    rows = []
    for (scenario, model, temp), (k1, n1, k2, n2) in sorted(groups.items()):
        if n1 and n2:
            rows.append({"scenario": scenario, "model": model, "temperature": temp, **difference(k1, n1, k2, n2)})
    return rows



def side_rows(records: Iterable[dict]) -> list[dict]:
    """Per (scenario, model, temperature, condition) over parsed trials: purchases against the customer and against
    the principal, the misaligned share (against the side the scenario says should win), explanations that disclose
    the principal, and explanations that name products but not the one bought. Records of v0 runs (without these
    fields) are skipped."""
    cells: dict = defaultdict(lambda: defaultdict(int))
    for r in records:
        if r["parse_failure"] or "against_principal" not in r:
            continue
        c = cells[(r["scenario"], r["model"], float(r["temperature"]), r["condition"])]
        c["n"] += 1
        c["aligned_side"] = r.get("aligned_with", "customer")
        for m in ("against_customer", "against_principal", "misaligned", "discloses", "explanation_mismatch"):
            c[m] += int(r[m])
    rows = []
    for (scenario, model, temp, condition), c in sorted(
            cells.items(), key=lambda kv: (*kv[0][:3], CONDITIONS.index(kv[0][3]))):
        rows.append({"scenario": scenario, "model": model, "temperature": temp, "condition": condition, **c})
    return rows


ORDER_EFFECTS = {"customer_listed_first": "position", "customer_has_id_1": "label"}


def order_effect_rows(records: Iterable[dict], by: str = "customer_listed_first") -> list[dict]:
    """Per (scenario, model, temperature) over parsed, counterbalanced trials: the override rate when the customer's
    pick is listed first (by="customer_listed_first") or carries ID 1 (by="customer_has_id_1") minus when it does
    not (Newcombe 95% CI, z and Fisher tests). A model that reads the catalog rather than its top line or its first
    ID shows no difference; counterbalancing crosses position and ID, so the two effects are told apart."""
    groups = defaultdict(lambda: [0, 0, 0, 0])
    for r in records:
        if r["parse_failure"] or by not in r:
            continue
        g = groups[(r["scenario"], r["model"], float(r["temperature"]))]
        side = 0 if r[by] else 2
        g[side] += int(r["override"])
        g[side + 1] += 1
    return [{"scenario": s, "model": m, "temperature": t, "effect": ORDER_EFFECTS[by], **difference(*g)}
            for (s, m, t), g in sorted(groups.items()) if g[1] and g[3]]
