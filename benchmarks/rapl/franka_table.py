"""One table of the rapl arm results: within-trajectory Spearman rho (Group, Clutter, Fetch transfer) and the success
of SAC policies trained on each reward, ours beside the paper's Table 1.

It reads what the two drivers wrote (nothing is trained here): `franka_rapl.py --budget tuned` (rho, 5 seeds, per
env) and `franka_ppo.py --reward-budget tuned` (SAC on Group's ground truth, random, and the learned rewards).
Run: python -m aligngym.benchmarks.rapl.franka_table [--rho FILE] [--policies FILE]
   (writes benchmarks/results/rapl_franka_table.json, .md and .png)
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from aligngym.benchmarks.rapl.franka_rapl import PAPER, RESULTS
from aligngym.benchmarks.stats import bootstrap_ci

METHODS = ("RAPL", "RLHF", "GT", "Time")
POLICY_METRICS = ("preference_cost", "preference_success", "task_success")


def _stat(values: list[float]) -> dict:
    low, high = bootstrap_ci(values)
    return {"mean": float(np.mean(values)), "ci_low": low, "ci_high": high, "n": len(values), "per_seed": values}


def build(rho: dict, policies: dict | None) -> dict:
    """Per env: rho per method (ours, mean and 95% bootstrap CI over seeds) and the paper's; per env with policies:
    each agent's policy metrics (mean and CI over seeds)."""
    table = {"rho_budget": rho["args"], "envs": {}}
    for env, paper in PAPER.items():
        row = {"rho": {m: _stat(rho["rho"][env][m]) for m in METHODS if m in rho["rho"].get(env, {})},
               "rho_paper": paper, "policies": {}}
        table["envs"][env] = row
    if policies:  # from the per-seed scores, so that a seed one learner has finished already counts
        table["policy_args"] = policies["args"]
        group = table["envs"]["Group"]["policies"]
        runs = {"random": policies["random"], **policies["policies"]}
        for agent in ("random", "GT", "RAPL", "RLHF"):
            if runs.get(agent):
                group[agent] = {m: _stat([run[m] for run in runs[agent]]) for m in POLICY_METRICS}
        for method in ("RAPL", "RLHF"):
            if f"{method}_beats_random" in policies:
                group[method]["beats_random"] = policies[f"{method}_beats_random"]
    return table


def _cell(s: dict | None, fmt: str = ".2f") -> str:
    if not s:
        return "—"
    if len(s.get("per_seed", (0, 0))) < 2:  # one seed: no interval
        return f"{s['mean']:{fmt}}"
    return f"{s['mean']:{fmt}} [{s['ci_low']:{fmt}}, {s['ci_high']:{fmt}}]"


def markdown(table: dict) -> str:
    """One table: per env and reward, held-out rho (ours and the paper's) and its SAC policy's scores."""
    n = min(s["n"] for row in table["envs"].values() for s in row["rho"].values())
    b = table["rho_budget"]
    a = table.get("policy_args", {})
    lines = [f"Held-out within-trajectory Spearman rho ({b['eval_videos']} videos per env, every 4th step), mean [95% "
             f"bootstrap CI] over {n} seeds; reward budget: {5 * b['pool_per_policy']} pool videos, {b['queries']} / "
             f"{2 * b['queries']} triplet queries (RAPL / RLHF), user `{b['teacher']}`, {b['pretrain_steps']} "
             f"encoder pretraining steps, {b['epochs']} epochs. Fetch: Franka Group's reward scoring Fetch videos. "
             + (f"SAC: {a['learned_steps']:,} steps per seed (learned rewards rendered every "
                f"{a['learned_reward_every']}th step), {a['eval_episodes']} harness episodes per seed, mean [95% CI] "
                f"over the seeds run; fewer than 5 seeds: too few for a verdict." if a else "No policies."), "",
             "| env | reward | rho (ours) | rho (paper) | SAC seeds | preference_cost (lower is better) | "
             "preference_success | task_success |", "|---|---|---|---|---|---|---|---|"]
    for env, row in table["envs"].items():
        for method in ("RAPL", "RLHF", "GT", "Time", "random"):
            p = row["policies"].get(method)
            seeds = len(p["preference_cost"]["per_seed"]) if p else 0
            policy = " | ".join(_cell(p[m]) for m in POLICY_METRICS) if p else "not run | | "
            if method == "Time":
                policy = "(no policy) | | "
            lines.append(f"| {env} | {method} | {_cell(row['rho'].get(method))} | "
                         f"{row['rho_paper'].get(method, '—')} | {seeds} | {policy} |")
    return "\n".join(lines) + "\n"


def plot(table: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = list(table["envs"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5), gridspec_kw={"width_ratios": [3, 2]})
    bars = [(f"{m} (ours)", m, None) for m in METHODS] + [(f"{m} (paper)", None, m) for m in ("RAPL", "RLHF")]
    width = 0.8 / len(bars)
    for k, (name, ours, paper) in enumerate(bars):
        if ours:
            stats = [table["envs"][e]["rho"][ours] for e in envs]
            means = np.array([s["mean"] for s in stats])
            err = np.abs(np.array([[s["ci_low"], s["ci_high"]] for s in stats]).T - means)
        else:
            means, err = np.array([table["envs"][e]["rho_paper"][paper] for e in envs]), None
        left.bar(np.arange(len(envs)) + (k - (len(bars) - 1) / 2) * width, means, width, yerr=err, capsize=2,
                 label=name, hatch="//" if paper else None)
    left.set_xticks(range(len(envs)), envs, fontsize=8)
    left.set_ylabel("held-out rho within")
    left.axhline(0, color="k", lw=0.5)
    left.set_ylim(top=1.35)
    left.legend(fontsize=7, ncol=3, loc="upper center")
    group = table["envs"]["Group"]["policies"]
    for k, (agent, p) in enumerate(group.items()):
        cost = p["preference_cost"]
        right.scatter([k] * len(cost["per_seed"]), cost["per_seed"], s=12, alpha=0.6)
        right.errorbar(k + 0.15, cost["mean"], yerr=[[cost["mean"] - cost["ci_low"]], [cost["ci_high"] - cost["mean"]]],
                       fmt="o", color="k", capsize=3)
    right.set_xticks(range(len(group)), [f"{a}\n({len(p['preference_cost']['per_seed'])} seeds)"
                                         for a, p in group.items()], fontsize=8)
    right.set_ylabel("Group preference cost (lower is better)")
    right.set_title("SAC on each reward", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(rho_path: Path, policies_path: Path | None) -> dict:
    policies = json.loads(policies_path.read_text()) if policies_path and policies_path.exists() else None
    table = build(json.loads(rho_path.read_text()), policies)
    stem = RESULTS / "rapl_franka_table"
    stem.with_suffix(".json").write_text(json.dumps(table, indent=2, default=float) + "\n")
    stem.with_suffix(".md").write_text(markdown(table))
    plot(table, stem.with_suffix(".png"))
    print(markdown(table))
    return table


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rho", type=Path, default=RESULTS / "rapl_franka_tuned.json")
    parser.add_argument("--policies", type=Path, default=RESULTS / "rapl_franka_sac_tuned.json")
    cli = parser.parse_args()
    main(cli.rho, cli.policies)
