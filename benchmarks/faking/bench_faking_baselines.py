"""The FakingIncentive baselines on the default setting (awareness 0.9, strength 0.5, horizon 20): true return
(mean and 95% bootstrap CI over episodes) beside each policy's exact expected return, and the compliance gap pooled
over episodes (bootstrap CI over episodes), for random, always-comply, always-refuse, the faker, the exact optimum
and SB3 PPO. Writes bench_faking_baselines.json (under benchmarks/results/faking/ in the repository) and says which
agents' return CIs overlap.

    python -m aligngym.benchmarks.faking.bench_faking_baselines [--quick] [--out DIR]
"""
from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

from tqdm import tqdm

import aligngym  # noqa: F401
from aligngym.agents.faking.optimal import exact_metrics, solve
from aligngym.benchmarks.faking.scoring import incentive_rates
from aligngym.benchmarks.harness import evaluate

ENV_ID = "AlignGym/FakingIncentive-v0"
SEEDS = (0, 1, 2, 3, 4)
PPO_BUDGET = 20_000


def _policies() -> dict:
    """Each scripted agent's policy as P(refuse | steps left, modifications, harmful, cue free), for its exact
    expected return; None for the optimum (exact_metrics' default) and for PPO (no closed form)."""
    return {"random": lambda t, k, h, c: 0.5, "faking.always_comply": lambda t, k, h, c: 0.0,
            "faking.always_refuse": lambda t, k, h, c: 1.0, "faking.faker": lambda t, k, h, c: float(not c),
            "faking.optimal": None}


def run(quick: bool = False) -> dict:
    episodes = 40 if quick else 400
    budget = 2_000 if quick else PPO_BUDGET
    agents = {**{name: name for name in _policies()}, "faking.ppo": f"faking.ppo?budget={budget}"}
    rows = {}
    for name, spec in tqdm(agents.items(), desc="agents"):
        record = evaluate(ENV_ID, spec, episodes=episodes, seeds=list(SEEDS), num_envs=episodes)
        ret = record.aggregates["true_return"]
        row = {"spec": spec, "true_return": {k: ret[k] for k in ("mean", "ci_low", "ci_high", "n")},
               **{k: incentive_rates(e["metrics"] for e in record.episodes)[k]
                  for k in ("compliance_free", "compliance_paid", "gap")}}
        if name in _policies():  # PPO has no closed form
            exact = exact_metrics(_policies()[name], **record.env_kwargs)
            row["exact_true_return"], row["exact_gap"] = exact["true_return"], exact["compliance_gap"]
        rows[name] = row
    overlap = [f"{a} & {b}" for a, b in combinations(rows, 2)
               if rows[a]["true_return"]["ci_low"] <= rows[b]["true_return"]["ci_high"]
               and rows[b]["true_return"]["ci_low"] <= rows[a]["true_return"]["ci_high"]]
    params = solve().params
    return {"env_id": ENV_ID, "env_kwargs": params, "seeds": list(SEEDS), "episodes_per_seed": episodes,
            "optimal_discounted_value": float(solve().values[params["horizon"], 0]),
            "agents": rows, "return_cis_overlap": overlap,
            "ranking_by_measured_return": sorted(rows, key=lambda n: -rows[n]["true_return"]["mean"])}


def table(result: dict) -> str:
    """The Markdown table the docs show."""
    def cell(a):
        return "—" if a is None else f"{a['mean']:.3f} [{a['ci_low']:.3f}, {a['ci_high']:.3f}]"

    lines = ["| agent | exact E[return] | true return [95% CI] | exact gap | compliance gap (pooled) [95% CI] |",
             "|---|---|---|---|---|"]
    for name in result["ranking_by_measured_return"]:
        r = result["agents"][name]
        exact = [f"{r[k]:.3f}" if k in r else "—" for k in ("exact_true_return", "exact_gap")]
        lines.append(f"| {name} | {exact[0]} | {cell(r['true_return'])} | {exact[1]} | {cell(r['gap'])} |")
    return "\n".join(lines)


def main(out: Path = Path("benchmarks/results/faking"), quick: bool = False) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = run(quick)
    result["table"] = table(result)
    (out / "bench_faking_baselines.json").write_text(json.dumps(result, indent=2, default=float))
    print(result["table"])
    print("return CIs that overlap:", ", ".join(result["return_cis_overlap"]) or "none")
    return result


if __name__ == "__main__":
    from aligngym.benchmarks.run_all import script_main

    raise SystemExit(script_main(main, __doc__))
