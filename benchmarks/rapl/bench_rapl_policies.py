"""Policies trained on each reward: SB3 PPO on the task reward, the ground-truth preference reward (GT), and the
learned rewards of RLHF, RAPL and TCC (through `LearnedRewardWrapper`), scored by the harness on the hidden
preference (preference_cost: mean per-step cost, i.e. minus the true preference return per step;
preference_success) and the task (eval_score, aligned_score). A random policy is scored beside them.

Long stick, preference group: its 50-step episodes halve the cost of the per-step OT reward (which re-solves
the episode-so-far transport every step), its 2-D action is the easiest for PPO, and under "group" doing nothing
fails the user (the debris start spread out: random and `rapl.still` score 0 preference success), whereas
under "avoid" doing nothing already succeeds. The policy sees state observations; the learned rewards read
rendered frames. Per seed, the rewards are learned as in bench_rapl_queries: one pool (scripted + random videos),
a time-contrastive backbone, `queries` triplets from the simulated user, its 6 preferred videos as demos; TCC
trains on the pool's scripted videos (the task demonstrations, no labels).

    python -m aligngym.benchmarks.rapl.bench_rapl_policies [--quick] [--seed N ...] [--out benchmarks/results]
    python -m aligngym.benchmarks.rapl.bench_rapl_policies --merge A.json B.json --out benchmarks/results

Seeds are independent, so several processes may each run some (`--seed`) and `--merge` their JSONs (same
settings required) into one table.
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from rich.console import Console

from aligngym.agents.base import SB3Agent
from aligngym.agents.ppo import PPOArgs
from aligngym.agents.rapl import SimulatedUser, collect_episodes
from aligngym.agents.rapl.encoder import EncoderArgs, pretrain_backbone
from aligngym.agents.rapl.rapl import Args, GTReward, RAPLReward, preferred_demos
from aligngym.agents.rapl.rlhf import BTReward, RLHFArgs
from aligngym.agents.rapl.scripted import sweeper
from aligngym.agents.rapl.tcc import TCCArgs, TCCReward
from aligngym.agents.rapl.wrapper import LearnedRewardWrapper
from aligngym.benchmarks.harness import evaluate
from aligngym.benchmarks.stats import aggregate, format_cell

REWARDS = ("task", "gt", "rlhf", "rapl", "tcc")
METRICS = {"preference_cost": False, "preference_success": True, "eval_score": True, "aligned_score": True}
PAIRS = (("gt", "random"), ("rapl", "random"), ("rlhf", "random"), ("tcc", "random"), ("rapl", "rlhf"),
         ("rapl", "tcc"), ("gt", "task"))
MIN_SEEDS = 5


@dataclass
class PolicyArgs:
    env_id: str = "AlignGym/SweepToTop-Longstick-v0"
    """the env (50-step episodes for the long stick)"""
    preference: str = "group"
    """the hidden preference"""
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    """seeds (one pool, backbone, set of learned rewards and PPO run per reward per seed)"""
    rewards: tuple[str, ...] = ("gt", "rlhf", "rapl", "tcc")
    """the rewards PPO trains on (task: the env's own reward; the others through LearnedRewardWrapper)"""
    queries: int = 80
    """triplets the simulated user answers"""
    budgets: tuple[int, ...] = (10_000, 25_000, 50_000)
    """PPO training steps at which each policy is scored (one run per reward, scored on the way)"""
    normalise_reward: bool = True
    """scale each reward by a running std of its discounted return (gymnasium's NormalizeReward): the learned
    rewards have arbitrary scales, and PPO's value targets then have the same size for every reward"""
    eval_episodes: int = 20
    """evaluation episodes per policy and budget (the same layouts for every policy of a seed)"""
    pool: int = 60
    """scripted videos in the pool (half as many random ones are added)"""
    epochs: int = 50
    """RAPL / RLHF epochs (as bench_rapl_queries)"""
    pretrain_steps: int = 200
    """backbone pretraining steps"""
    tcc_steps: int = 500
    """TCC head training steps"""


def quick_args() -> PolicyArgs:
    return PolicyArgs(seeds=(0,), rewards=REWARDS, queries=10, budgets=(256, 512), eval_episodes=2, pool=12,
                      epochs=5, pretrain_steps=20, tcc_steps=20)


def learn_rewards(a: PolicyArgs, seed: int, kw: dict) -> dict:
    """The rewards PPO trains on (those in `a.rewards`), learned from one pool of videos (None: the env's own
    task reward)."""
    if set(a.rewards) <= {"task", "gt"}:  # nothing to learn: no pool
        return {name: None if name == "task" else GTReward() for name in a.rewards}
    scripted = collect_episodes(a.env_id, sweeper, a.pool, 100_000 * seed, **kw)
    pool = scripted + collect_episodes(a.env_id, "random", a.pool // 2, 100_000 * seed + 10_000, **kw)
    backbone = pretrain_backbone([e.frames for e in pool], EncoderArgs(pretrain_steps=a.pretrain_steps, seed=seed))
    user = SimulatedUser("rapl", budget=a.queries, seed=seed)
    demos, triplets = preferred_demos(pool, user, 6), user.label(pool, a.queries)
    learners = {"task": lambda: None, "gt": GTReward,
                "rlhf": lambda: BTReward(backbone, RLHFArgs(epochs=a.epochs, seed=seed)).fit(pool, triplets),
                "rapl": lambda: RAPLReward(backbone, Args(epochs=a.epochs, seed=seed)).fit(pool, triplets, demos),
                "tcc": lambda: TCCReward(backbone, Args(seed=seed), TCCArgs(steps=a.tcc_steps)).fit(scripted, demos)}
    return {name: learners[name]() for name in a.rewards}


def scores(record) -> dict:
    return {m: record.aggregates[m]["mean"] for m in METRICS}


def train_and_score(make_env, a: PolicyArgs, ppo: PPOArgs, seed: int, score) -> None:
    """One PPO run for max(budgets) steps, calling `score(model, budget)` each time it reaches a budget. Built
    here rather than with `train_ppo`, which trains to one budget and closes its envs."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    venv = make_vec_env(make_env, n_envs=ppo.n_envs, seed=seed)
    try:
        model = PPO("MlpPolicy", venv, seed=seed, device="cpu", **ppo.sb3_kwargs())
        for budget in sorted(a.budgets):
            model.learn(total_timesteps=budget - model.num_timesteps, reset_num_timesteps=False)
            score(model, budget)
    finally:
        venv.close()


def run_seed(a: PolicyArgs, seed: int, ppo: PPOArgs, log, run: dict, save) -> None:
    """Fills `run` with the scores of random and of PPO on each reward at each budget, calling `save()` after
    each score (a cut-short run keeps what it finished)."""
    kw = {"preference": a.preference, "variant": "TestLayout"}
    eval_seeds = [1000 + seed]
    rewards = learn_rewards(a, seed, kw)
    log(f"seed {seed}: rewards learned")
    run.update(seed=seed, budgets={}, random=scores(evaluate(a.env_id, "random", episodes=a.eval_episodes,
                                                             seeds=eval_seeds, env_kwargs=kw)))
    for name, model in rewards.items():
        def make_env(model=model):
            env = gym.make(a.env_id, render_mode="rgb_array", **kw)
            env = env if model is None else LearnedRewardWrapper(env, model)
            return gym.wrappers.NormalizeReward(env, gamma=ppo.gamma) if a.normalise_reward else env

        def score(policy, budget, name=name):
            row = scores(evaluate(a.env_id, SB3Agent(policy, name=f"ppo-{name}"), episodes=a.eval_episodes,
                                  seeds=eval_seeds, env_kwargs=kw))
            run["budgets"].setdefault(str(budget), {})[name] = row
            log(f"seed {seed} ppo on {name}, {budget} steps: " + ", ".join(f"{m} {v:.3f}" for m, v in row.items()))
            save()
        train_and_score(make_env, a, ppo, seed, score)


def summarise(runs: list[dict]) -> dict:
    """Per budget: mean [95% bootstrap CI over the seeds that reached it] per reward and metric, and paired
    per-seed differences; the smallest budget at which PPO on GT beats random with non-overlapping CIs on the
    preference cost (only with >= MIN_SEEDS seeds)."""
    per_budget, short = {}, {}
    for budget in sorted({b for r in runs for b in r["budgets"]}, key=int):
        rows = [{"random": r["random"], **r["budgets"].get(budget, {})} for r in runs]
        names = [n for n in ("random", *REWARDS) if any(n in row for row in rows)]
        table = {n: {m: aggregate([r[n][m] for r in rows if n in r], hib) for m, hib in METRICS.items()}
                 for n in names}
        diffs = {f"{x}-{y}": {m: aggregate([r[x][m] - r[y][m] for r in rows if x in r and y in r], None)
                              for m in METRICS} for x, y in PAIRS if x in names and y in names}
        per_budget[budget] = {"per_reward": table, "paired": diffs}
        for n in names:
            if table[n]["preference_cost"]["n"] < MIN_SEEDS:
                short.setdefault((n, table[n]["preference_cost"]["n"]), []).append(budget)
    gt_beats = [int(b) for b, t in per_budget.items() if "gt" in t["per_reward"]
                and t["per_reward"]["gt"]["preference_cost"]["n"] >= MIN_SEEDS
                and t["per_reward"]["gt"]["preference_cost"]["ci_high"] < t["per_reward"]["random"]["preference_cost"]["ci_low"]]
    note = "; ".join(f"too few seeds ({k} < {MIN_SEEDS}) for {n} at {'/'.join(b)} steps: no claims"
                     for (n, k), b in short.items())
    return {"per_budget": per_budget, "seeds": len(runs), "gt_beats_random_from": min(gt_beats, default=None),
            "note": note}


def markdown(summary: dict) -> str:
    lines = [f"Smallest budget at which PPO on GT beats random (non-overlapping 95% CIs on preference cost): "
             f"{summary['gt_beats_random_from'] or 'none of those run'}. {summary['note']}".strip()]
    for budget, t in summary["per_budget"].items():
        lines += ["", f"### {int(budget):,} PPO steps", "",
                  "| policy trained on | preference cost (lower better) | preference success | eval score | aligned score |",
                  "|---|---|---|---|---|"]
        for name, row in t["per_reward"].items():
            label = ("random policy (no training)" if name == "random" else f"PPO on {name}") + f" ({row['preference_cost']['n']} seeds)"
            lines.append(f"| {label} | " + " | ".join(format_cell(row[m], ".2f") for m in METRICS) + " |")
        lines += ["", "| paired difference (per seed) | preference cost | preference success | eval score | aligned score |",
                  "|---|---|---|---|---|"]
        for pair, row in t["paired"].items():
            lines.append(f"| {pair.replace('-', ' − ')} | " + " | ".join(format_cell(row[m], ".2f") for m in METRICS) + " |")
    return "\n".join(lines)


COLOURS = {"random": "grey", "task": "tab:brown", "gt": "k", "rlhf": "tab:orange", "rapl": "tab:blue",
           "tcc": "tab:green"}


def plot(summary: dict, path: Path, title: str) -> None:
    """Preference cost and success against PPO steps, one line per reward (95% CI bands), random as a band."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    budgets = [int(b) for b in summary["per_budget"]]
    tables = [t["per_reward"] for t in summary["per_budget"].values()]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, metric in zip(axes, ("preference_cost", "preference_success", "eval_score")):
        for name in (n for n in COLOURS if any(n in t for t in tables)):
            xs = [b for b, t in zip(budgets, tables) if name in t]  # the budgets every seed reached
            rows = [t[name][metric] for t in tables if name in t]
            mean, low, high = (np.array([r[k] for r in rows]) for k in ("mean", "ci_low", "ci_high"))
            ax.plot(xs, mean, "--" if name == "random" else "o-", color=COLOURS[name],
                    label=f"{name} ({rows[-1]['n']} seeds)")
            ax.fill_between(xs, low, high, color=COLOURS[name], alpha=0.15)
        ax.set_xlabel("PPO steps")
        ax.set_title(metric.replace("_", " ") + (" (lower is better)" if metric == "preference_cost" else ""))
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_outputs(result: dict, out: Path) -> None:
    a = result["args"]
    (out / "bench_rapl_policies.json").write_text(json.dumps(result, indent=2))
    (out / "bench_rapl_policies.md").write_text(markdown(result["summary"]) + "\n")
    plot(result["summary"], out / "rapl_policies.png", f"PPO on each reward, {a['env_id'].split('/')[-1]}, "
         f"'{a['preference']}', 95% CI over seeds")


def merge_runs(paths: list[Path], out: Path) -> dict:
    """One result from runs of the same settings on different seeds, rewards or budgets (a seed's rewards and
    budgets are united; each budget is summarised over the seeds that reached it)."""
    parts = [json.loads(Path(p).read_text()) for p in paths]
    settings = [({k: v for k, v in p["args"].items() if k not in ("seeds", "rewards", "budgets")}, p["ppo"])
                for p in parts]
    if any(s != settings[0] for s in settings):
        raise ValueError("These runs differ in more than their seeds and rewards; only runs of the same settings "
                         "merge.")
    merged: dict[int, dict] = {}
    for run in (r for p in parts for r in p["runs"]):
        into = merged.setdefault(run["seed"], {"seed": run["seed"], "random": run["random"], "budgets": {}})
        for budget, rows in run["budgets"].items():
            into["budgets"].setdefault(budget, {}).update(rows)
    runs = [merged[s] for s in sorted(merged)]
    rewards = [n for n in REWARDS if any(n in p["args"]["rewards"] for p in parts)]
    summary = summarise(runs)
    budgets = sorted({b for p in parts for b in p["args"]["budgets"]})
    durations = [d for p in parts for d in (p["duration_s"] if isinstance(p["duration_s"], list) else [p["duration_s"]])]
    result = {"args": {**parts[0]["args"], "seeds": [r["seed"] for r in runs], "rewards": rewards, "budgets": budgets},
              "ppo": parts[0]["ppo"],
              "runs": runs, "summary": summary, "duration_s": durations,
              "note": summary["note"], "merged_from": [str(p) for p in paths]}
    out.mkdir(parents=True, exist_ok=True)
    write_outputs(result, out)
    return result


def main(out: Path = Path("benchmarks/results"), quick: bool = False, args: PolicyArgs | None = None) -> dict:
    torch.set_num_threads(1)
    a = args or (quick_args() if quick else PolicyArgs())
    ppo = PPOArgs(n_envs=4, n_steps=64 if max(a.budgets) < 1000 else 256, batch_size=64)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    console, start, runs = Console(), time.perf_counter(), []
    log = lambda msg: console.print(f"[{time.perf_counter() - start:6.0f}s] {msg}")  # noqa: E731
    result = {"args": asdict(a), "ppo": asdict(ppo)}

    def save():
        done = [r for r in runs if r.get("budgets")]
        summary = summarise(done) if done else {}
        result.update(runs=done, summary=summary, duration_s=round(time.perf_counter() - start, 1),
                      note="quick smoke run: no claims" if quick else summary.get("note", "nothing finished"))
        (out / "bench_rapl_policies.json").write_text(json.dumps(result, indent=2))

    for seed in a.seeds:
        runs.append({})
        run_seed(a, seed, ppo, log, runs[-1], save)
    write_outputs(json.loads(json.dumps(result)), out)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--quick", action="store_true", help="Smaller sizes, for a smoke run.")
    parser.add_argument("--seed", type=int, action="append", help="Only these seeds (repeat; default 0-4).")
    parser.add_argument("--rewards", nargs="+", choices=REWARDS, help=f"Rewards to train on (default: "
                        f"{' '.join(PolicyArgs.rewards)}).")
    parser.add_argument("--budgets", type=int, nargs="+", help="PPO steps at which to score each policy.")
    parser.add_argument("--merge", type=Path, nargs="+", help="Merge these result JSONs instead of running.")
    parsed = parser.parse_args()
    if parsed.merge:
        merge_runs(parsed.merge, parsed.out)
    else:
        chosen = quick_args() if parsed.quick else PolicyArgs()
        if parsed.seed:
            chosen.seeds = tuple(parsed.seed)
        if parsed.rewards:
            chosen.rewards = tuple(parsed.rewards)
        if parsed.budgets:
            chosen.budgets = tuple(parsed.budgets)
        main(parsed.out, args=chosen)
