"""One table of the rapl arm results: within-trajectory Spearman rho (Group, Clutter, Fetch transfer) and the success
of SAC policies trained on each reward, per env, ours beside the paper's Table 1.

It reads what the two drivers wrote (nothing is trained here): `franka_rapl.py --budget tuned` (rho, 5 seeds, per
env) and, per env, `franka_ppo.py --env E`'s runs: the ground-truth stage (random and SAC on GT) and the learned
rewards (`--reward-budget tuned`), each file merged over the seeds run (`--merge-into`). Each policy cell says how many
seeds it has; a verdict against random (non-overlapping 95% bootstrap CIs on preference_cost, random on the same
seeds; "worse than random" when random's CI lies wholly below) is given only with >= 5 seeds, else "too few seeds";
the paired difference to random (seed by seed) is shown beside it. `reward_hacking` condenses the drivers'
diagnostic: how the learned reward rates its own policy's rollouts against the held-out videos of the scripted pool
policies. Ablations (`ABLATIONS`: a learned-reward run with one setting changed, e.g. `--normalise-reward`) get lines of
their own, labelled as such, below their env's main rows, which they never change.
Run: python -m aligngym.benchmarks.rapl.franka_table [--rho FILE]
   (writes benchmarks/results/rapl_franka_table.json, .md and .png)
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from aligngym.benchmarks.rapl.franka_ppo import beats, seeds_run
from aligngym.benchmarks.rapl.franka_rapl import PAPER, RESULTS
from aligngym.benchmarks.stats import bootstrap_ci

METHODS = ("RAPL", "RLHF", "GT", "Time")
POLICY_METRICS = ("preference_cost", "preference_success", "task_success")
MIN_SEEDS = 5  # fewer: no verdict
POLICY_FILES = {"Group": ("rapl_franka_sac.json", "rapl_franka_sac_tuned.json"),
                "Clutter": ("rapl_franka_sac_clutter.json", "rapl_franka_sac_tuned_clutter.json"),
                "Kuka (ours: Fetch)": ("rapl_franka_sac_fetch.json", "rapl_franka_sac_tuned_fetch.json")}
"""per env (`PAPER`'s labels): the ground-truth run (random, GT), then the learned-reward run (RAPL, RLHF)"""
ABLATIONS = {"Group": {"normalised reward": "rapl_franka_sac_normalised.json"}}
"""per env: ablation label -> a learned-reward run with that one change (`franka_ppo.py --normalise-reward`)"""


def _stat(values: list[float]) -> dict:
    low, high = bootstrap_ci(values)
    return {"mean": float(np.mean(values)), "ci_low": low, "ci_high": high, "n": len(values), "per_seed": values}


def _policies(runs: list[dict]) -> dict:
    """Per agent: its policy metrics over its seeds (mean, CI, per seed), the seeds, and its verdict against random
    on the same seeds; agents from the first run that has them (the learned run repeats the GT stage it reused)."""
    scores = {}
    for run in runs:
        seeds = seeds_run(run)
        for agent, values in {"random": run["random"], **run["policies"]}.items():
            if values and agent not in scores:
                scores[agent] = dict(zip(seeds[agent], values))
    out = {}
    for agent in ("random", "GT", "RAPL", "RLHF"):
        if agent not in scores:
            continue
        seeds = sorted(scores[agent])
        out[agent] = {m: _stat([scores[agent][s][m] for s in seeds]) for m in POLICY_METRICS}
        out[agent]["seeds"] = seeds
        if agent != "random":
            random = {m: _stat([scores["random"][s][m] for s in seeds]) for m in POLICY_METRICS}
            out[agent]["random_on_these_seeds"] = random["preference_cost"]
            out[agent]["minus_random_paired"] = _stat([scores[agent][s]["preference_cost"] -
                                                       scores["random"][s]["preference_cost"] for s in seeds])
            out[agent]["verdict"] = (f"too few seeds ({len(seeds)} < {MIN_SEEDS})" if len(seeds) < MIN_SEEDS else
                                     "beats random" if beats(out[agent], random) else
                                     "worse than random" if beats(random, out[agent]) else "does not beat random")
    return out


def _hacking(run: dict) -> dict:
    """Per learned reward, per seed: the learned reward per step of its policy's rollouts, their hidden cost and task
    return, the best scripted pool policy by that reward (and its hidden cost), and how many of the pool policies
    the reward rates below the policy."""
    out = {}
    for method, per_seed in run.get("reward_hacking", {}).items():
        rows = []
        for seed, h in zip(seeds_run(run)[method], per_seed):
            pool = {k: v for k, v in h.items() if isinstance(v, dict) and k != "policy"}
            best = max(pool, key=lambda k: pool[k]["learned_reward"])
            rows.append({"seed": seed, **{k: h["policy"][k] for k in ("learned_reward", "preference_cost",
                                                                      "task_return")},
                         "best_pool_policy": best, "best_pool_reward": pool[best]["learned_reward"],
                         "best_pool_cost": pool[best]["preference_cost"],
                         "pool_policies_rated_below": h["policy_rank_among_pool_policies"], "pool_policies": len(pool)})
        out[method] = rows
    return out


def _ablated(policies: dict, main: dict) -> dict:
    """An ablation run's RAPL / RLHF policies, each with its preference cost minus the main run's policy of the same
    reward, paired by seed over the seeds both have (`minus_main_paired`)."""
    out = {}
    for method in ("RAPL", "RLHF"):
        if method not in policies:
            continue
        out[method] = p = policies[method]
        if method in main:
            theirs = dict(zip(main[method]["seeds"], main[method]["preference_cost"]["per_seed"]))
            paired = [c - theirs[s] for s, c in zip(p["seeds"], p["preference_cost"]["per_seed"]) if s in theirs]
            if paired:
                p["minus_main_paired"] = _stat(paired)
    return out


def build(rho: dict, runs: dict[str, list[dict]], ablations: dict[str, dict[str, dict]] | None = None) -> dict:
    """Per env: rho per method (ours, mean and 95% bootstrap CI over seeds) and the paper's; the policies of the
    env's SAC runs (`runs[env]`: GT run, then learned run) with seeds and verdicts, and the reward-hacking rows;
    `ablations[env][label]`: an ablation's learned-reward run, its RAPL / RLHF policies kept apart from the main
    ones (verdicts against the same random seeds)."""
    table = {"rho_budget": rho["args"], "envs": {}}
    for env, paper in PAPER.items():
        env_runs = runs.get(env, [])
        table["envs"][env] = {"rho": {m: _stat(rho["rho"][env][m]) for m in METHODS if m in rho["rho"].get(env, {})},
                              "rho_paper": paper, "policies": _policies(env_runs),
                              "reward_hacking": {k: v for r in env_runs for k, v in _hacking(r).items()},
                              "ablations": {label: {"policies": _ablated(_policies([run]), _policies(env_runs)),
                                                    "reward_hacking": _hacking(run)}
                                            for label, run in (ablations or {}).get(env, {}).items()}}
        if env_runs:
            table["envs"][env]["policy_args"] = env_runs[-1]["args"]
    return table


def _cell(s: dict | None, fmt: str = ".2f") -> str:
    if not s:
        return "—"
    if len(s.get("per_seed", (0, 0))) < 2:  # one seed: no interval
        return f"{s['mean']:{fmt}}"
    return f"{s['mean']:{fmt}} [{s['ci_low']:{fmt}}, {s['ci_high']:{fmt}}]"


def markdown(table: dict) -> str:
    """One table: per env and reward, held-out rho (ours and the paper's) and its SAC policy's scores and verdict;
    then the reward-hacking rows."""
    n = min(s["n"] for row in table["envs"].values() for s in row["rho"].values())
    b = table["rho_budget"]
    a = next((row["policy_args"] for row in table["envs"].values() if "policy_args" in row), {})
    lines = [f"Held-out within-trajectory Spearman rho ({b['eval_videos']} videos per env, every 4th step), mean [95% "
             f"bootstrap CI] over {n} seeds; reward budget: {5 * b['pool_per_policy']} pool videos, {b['queries']} / "
             f"{2 * b['queries']} triplet queries (RAPL / RLHF), user `{b['teacher']}`, {b['pretrain_steps']} "
             f"encoder pretraining steps, {b['epochs']} epochs. Fetch: Franka Group's reward scoring Fetch videos, "
             "and SAC on Fetch with that reward. "
             + (f"SAC: {a['learned_steps']:,} steps per seed (learned rewards rendered every "
                f"{a['learned_reward_every']}th step), {a['eval_episodes']} harness episodes per seed, mean [95% CI] "
                f"over the seeds run; vs random: non-overlapping CIs on preference_cost, random on the same seeds, "
                f"only with >= {MIN_SEEDS} seeds." if a else "No policies."), "",
             "| env | reward | rho (ours) | rho (paper) | SAC seeds | preference_cost (lower is better) | "
             "preference_success | task_success | cost minus random (paired) | vs random |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for env, row in table["envs"].items():
        for method in ("RAPL", "RLHF", "GT", "Time", "random"):
            p = row["policies"].get(method)
            policy = "not run | | | | "
            if p:
                policy = " | ".join([*(_cell(p[m]) for m in POLICY_METRICS), _cell(p.get("minus_random_paired")),
                                     p.get("verdict", "—")])
            if method == "Time":
                policy = "(no policy) | | | | "
            lines.append(f"| {env} | {method} | {_cell(row['rho'].get(method))} | "
                         f"{row['rho_paper'].get(method, '—')} | {len(p['seeds']) if p else 0} | {policy} |")
        for label, ablation in row["ablations"].items():
            for method, p in ablation["policies"].items():
                versus_main = (f"; minus the main {method} row, paired: {_cell(p['minus_main_paired'])}"
                               if "minus_main_paired" in p else "")
                policy = " | ".join([*(_cell(p[m]) for m in POLICY_METRICS), _cell(p["minus_random_paired"]),
                                     p["verdict"] + versus_main])
                lines.append(f"| {env} | {method}, ablation: {label} | (same rewards) | — | {len(p['seeds'])} | "
                             f"{policy} |")
    hacking = [(env, method, r) for env, row in table["envs"].items()
               for method, rows in row["reward_hacking"].items() for r in rows]
    hacking += [(env, f"{method}, ablation: {label}", r) for env, row in table["envs"].items()
                for label, ablation in row["ablations"].items()
                for method, rows in ablation["reward_hacking"].items() for r in rows]
    if hacking:
        lines += ["", ("Reward hacking: each learned-reward policy's 5 rollouts scored by its own learned reward "
                       "(per-step mean) beside the held-out videos of the scripted pool policies."), "",
                  ("| env | reward | seed | policy: learned reward / hidden cost / task return | best pool policy by "
                   "that reward: name, learned reward / hidden cost | pool policies rated below the policy |"),
                  "|---|---|---|---|---|---|"]
        for env, method, r in hacking:
            lines.append(f"| {env} | {method} | {r['seed']} | {r['learned_reward']:.2f} / {r['preference_cost']:.2f} "
                         f"/ {r['task_return']:.1f} | {r['best_pool_policy']}, {r['best_pool_reward']:.2f} / "
                         f"{r['best_pool_cost']:.2f} | {r['pool_policies_rated_below']} of {r['pool_policies']} |")
    return "\n".join(lines) + "\n"


def plot(table: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = list(table["envs"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [3, 3]})
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
    ticks = []
    for e, env in enumerate(envs):
        for k, (agent, p) in enumerate(table["envs"][env]["policies"].items()):
            x, cost = e * 5 + k, p["preference_cost"]
            right.scatter([x] * len(cost["per_seed"]), cost["per_seed"], s=10, alpha=0.6, color=f"C{k}")
            right.errorbar(x + 0.2, cost["mean"], yerr=[[cost["mean"] - cost["ci_low"]],
                                                        [cost["ci_high"] - cost["mean"]]], fmt="o", color="k",
                           capsize=2, ms=3)
            ticks.append((x, f"{agent} ({len(p['seeds'])})"))
        right.text(e * 5 + 1.5, 1.0, "Fetch" if "Fetch" in env else env, ha="center",
                   transform=right.get_xaxis_transform(), va="bottom", fontsize=8)
    right.set_xlim(-0.7, 5 * len(envs) - 1.3)  # every env's slot, run or not
    right.set_xticks([t[0] for t in ticks], [t[1] for t in ticks], fontsize=6, rotation=90)
    right.set_ylabel("preference cost (lower is better)")
    right.set_title("SAC on each reward (seeds)", fontsize=9, pad=14)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(rho_path: Path, results: Path = RESULTS) -> dict:
    runs = {env: [json.loads((results / f).read_text()) for f in files if (results / f).exists()]
            for env, files in POLICY_FILES.items()}
    ablations = {env: {label: json.loads((results / f).read_text()) for label, f in files.items()
                       if (results / f).exists()} for env, files in ABLATIONS.items()}
    table = build(json.loads(rho_path.read_text()), runs, ablations)
    stem = RESULTS / "rapl_franka_table"
    stem.with_suffix(".json").write_text(json.dumps(table, indent=2, default=float) + "\n")
    stem.with_suffix(".md").write_text(markdown(table))
    plot(table, stem.with_suffix(".png"))
    print(markdown(table))
    return table


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rho", type=Path, default=RESULTS / "rapl_franka_tuned.json")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the folder of the SAC runs (POLICY_FILES)")
    cli = parser.parse_args()
    main(cli.rho, cli.results)
