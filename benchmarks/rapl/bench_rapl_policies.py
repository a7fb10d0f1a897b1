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
from aligngym.agents.ppo import PPOArgs, train_ppo
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
PAIRS = (("rapl", "rlhf"), ("rapl", "tcc"), ("rapl", "task"), ("gt", "task"))
MIN_SEEDS = 5


@dataclass
class PolicyArgs:
    env_id: str = "AlignGym/SweepToTop-Longstick-v0"
    """the env (50-step episodes for the long stick)"""
    preference: str = "group"
    """the hidden preference"""
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    """seeds (one pool, backbone, set of learned rewards and PPO run per reward per seed)"""
    queries: int = 80
    """triplets the simulated user answers"""
    steps: int = 20_000
    """PPO training steps per reward"""
    eval_episodes: int = 10
    """evaluation episodes per policy"""
    pool: int = 60
    """scripted videos in the pool (half as many random ones are added)"""
    epochs: int = 50
    """RAPL / RLHF epochs (as bench_rapl_queries)"""
    pretrain_steps: int = 200
    """backbone pretraining steps"""
    tcc_steps: int = 500
    """TCC head training steps"""


def quick_args() -> PolicyArgs:
    return PolicyArgs(seeds=(0,), queries=10, steps=256, eval_episodes=2, pool=12, epochs=5, pretrain_steps=20,
                      tcc_steps=20)


def learn_rewards(a: PolicyArgs, seed: int, kw: dict) -> dict:
    """The rewards PPO trains on, learned from one pool of videos (None: the env's own task reward)."""
    scripted = collect_episodes(a.env_id, sweeper, a.pool, 100_000 * seed, **kw)
    pool = scripted + collect_episodes(a.env_id, "random", a.pool // 2, 100_000 * seed + 10_000, **kw)
    backbone = pretrain_backbone([e.frames for e in pool], EncoderArgs(pretrain_steps=a.pretrain_steps, seed=seed))
    user = SimulatedUser("rapl", budget=a.queries, seed=seed)
    demos, triplets = preferred_demos(pool, user, 6), user.label(pool, a.queries)
    return {"task": None, "gt": GTReward(),
            "rlhf": BTReward(backbone, RLHFArgs(epochs=a.epochs, seed=seed)).fit(pool, triplets),
            "rapl": RAPLReward(backbone, Args(epochs=a.epochs, seed=seed)).fit(pool, triplets, demos),
            "tcc": TCCReward(backbone, Args(seed=seed), TCCArgs(steps=a.tcc_steps)).fit(scripted, demos)}


def scores(record) -> dict:
    return {m: record.aggregates[m]["mean"] for m in METRICS}


def run_seed(a: PolicyArgs, seed: int, ppo: PPOArgs, log) -> dict:
    kw = {"preference": a.preference, "variant": "TestLayout"}
    eval_seeds = [1000 + seed]
    rewards = learn_rewards(a, seed, kw)
    log(f"seed {seed}: rewards learned")
    run = {"seed": seed, "random": scores(evaluate(a.env_id, "random", episodes=a.eval_episodes, seeds=eval_seeds,
                                                   env_kwargs=kw))}
    for name, model in rewards.items():
        def make_env(model=model):
            env = gym.make(a.env_id, render_mode="rgb_array", **kw)
            return env if model is None else LearnedRewardWrapper(env, model)
        policy = train_ppo(make_env, ppo, a.steps, seed)
        record = evaluate(a.env_id, SB3Agent(policy, name=f"ppo-{name}"), episodes=a.eval_episodes, seeds=eval_seeds,
                          env_kwargs=kw)
        run[name] = scores(record)
        log(f"seed {seed} ppo on {name}: " + ", ".join(f"{m} {v:.3f}" for m, v in run[name].items()))
    return run


def summarise(runs: list[dict]) -> dict:
    """Mean [95% bootstrap CI over seeds] per reward and metric, and paired per-seed differences."""
    table = {name: {m: aggregate([r[name][m] for r in runs], hib) for m, hib in METRICS.items()}
             for name in ("random", *REWARDS)}
    diffs = {f"{x}-{y}": {m: aggregate([r[x][m] - r[y][m] for r in runs], None) for m in METRICS} for x, y in PAIRS}
    return {"per_reward": table, "paired": diffs, "seeds": len(runs),
            "note": "" if len(runs) >= MIN_SEEDS else f"too few seeds ({len(runs)} < {MIN_SEEDS}): no claims"}


def markdown(summary: dict) -> str:
    lines = ["| policy trained on | preference cost (lower better) | preference success | eval score | aligned score |",
             "|---|---|---|---|---|"]
    for name, row in summary["per_reward"].items():
        label = "random policy (no training)" if name == "random" else f"PPO on {name}"
        lines.append(f"| {label} | " + " | ".join(format_cell(row[m], ".2f") for m in METRICS) + " |")
    lines += ["", "| paired difference (per seed) | preference cost | preference success | eval score | aligned score |",
              "|---|---|---|---|---|"]
    for pair, row in summary["paired"].items():
        lines.append(f"| {pair.replace('-', ' − ')} | " + " | ".join(format_cell(row[m], ".2f") for m in METRICS) + " |")
    return "\n".join(lines)


def plot(summary: dict, path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(summary["per_reward"])
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, metric in zip(axes, ("preference_cost", "preference_success", "eval_score")):
        rows = [summary["per_reward"][n][metric] for n in names]
        mean = np.array([r["mean"] for r in rows])
        err = np.array([[r["mean"] - r["ci_low"], r["ci_high"] - r["mean"]] for r in rows]).T
        ax.bar(names, mean, yerr=err, capsize=4, color=["grey", "tab:brown", "k", "tab:orange", "tab:blue",
                                                          "tab:green"][:len(names)])
        ax.set_title(metric.replace("_", " ") + (" (lower is better)" if metric == "preference_cost" else ""))
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_outputs(result: dict, out: Path) -> None:
    a = result["args"]
    (out / "bench_rapl_policies.json").write_text(json.dumps(result, indent=2))
    (out / "bench_rapl_policies.md").write_text(markdown(result["summary"]) + "\n")
    plot(result["summary"], out / "rapl_policies.png", f"PPO ({a['steps']} steps) on each reward, "
         f"{a['env_id'].split('/')[-1]}, '{a['preference']}', {len(result['runs'])} seeds, 95% CI")


def merge_runs(paths: list[Path], out: Path) -> dict:
    """One result from runs of the same settings on different seeds (each seed kept once)."""
    parts = [json.loads(Path(p).read_text()) for p in paths]
    settings = [({k: v for k, v in p["args"].items() if k != "seeds"}, p["ppo"]) for p in parts]
    if any(s != settings[0] for s in settings):
        raise ValueError("These runs differ in more than their seeds; only runs of the same settings merge.")
    runs = sorted({r["seed"]: r for p in parts for r in p["runs"]}.values(), key=lambda r: r["seed"])
    summary = summarise(runs)
    result = {"args": {**parts[0]["args"], "seeds": [r["seed"] for r in runs]}, "ppo": parts[0]["ppo"],
              "runs": runs, "summary": summary, "duration_s": [p["duration_s"] for p in parts],
              "note": summary["note"], "merged_from": [str(p) for p in paths]}
    out.mkdir(parents=True, exist_ok=True)
    write_outputs(result, out)
    return result


def main(out: Path = Path("benchmarks/results"), quick: bool = False, args: PolicyArgs | None = None) -> dict:
    torch.set_num_threads(1)
    a = args or (quick_args() if quick else PolicyArgs())
    ppo = PPOArgs(n_envs=4, n_steps=64 if a.steps < 1000 else 256, batch_size=64)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    console, start, runs = Console(), time.perf_counter(), []
    log = lambda msg: console.print(f"[{time.perf_counter() - start:6.0f}s] {msg}")  # noqa: E731
    result = {"args": asdict(a), "ppo": asdict(ppo)}
    for seed in a.seeds:  # rewritten after every seed: a cut-short run keeps what it finished
        runs.append(run_seed(a, seed, ppo, log))
        summary = summarise(runs)
        result.update(runs=runs, summary=summary, duration_s=round(time.perf_counter() - start, 1),
                      note="quick smoke run: no claims" if quick else summary["note"])
        (out / "bench_rapl_policies.json").write_text(json.dumps(result, indent=2))
    write_outputs(json.loads(json.dumps(result)), out)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--quick", action="store_true", help="Smaller sizes, for a smoke run.")
    parser.add_argument("--seed", type=int, action="append", help="Only these seeds (repeat; default 0-4).")
    parser.add_argument("--merge", type=Path, nargs="+", help="Merge these result JSONs instead of running.")
    parsed = parser.parse_args()
    if parsed.merge:
        merge_runs(parsed.merge, parsed.out)
    else:
        chosen = quick_args() if parsed.quick else PolicyArgs()
        if parsed.seed:
            chosen.seeds = tuple(parsed.seed)
        main(parsed.out, args=chosen)
