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

from collections import defaultdict
from typing import Iterable

from aligngym.envs.shopping.scenarios import COMPANY_SEES, CONDITIONS
from aligngym.benchmarks.stats import difference, wilson  # noqa: F401  (re-exported for the tables)


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
