"""Policies trained on each reward: SB3 PPO on the task reward, the ground-truth preference reward (GT), RLHF's
and RAPL's learned rewards (through `LearnedRewardWrapper`), then scored by the harness on the hidden preference
and the task (preference_success, eval_score, aligned_score). State observations for the policy; the learned
rewards read rendered frames. The rewards are learned as in bench_rapl_queries (one pool, `queries` triplets).

    python -m aligngym.benchmarks.rapl.bench_rapl_policies [--quick] [--out benchmarks/results]
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import gymnasium as gym
import torch

from aligngym.agents.base import SB3Agent
from aligngym.agents.ppo import PPOArgs, train_ppo
from aligngym.agents.rapl import SimulatedUser, collect_episodes
from aligngym.agents.rapl.encoder import EncoderArgs, pretrain_backbone
from aligngym.agents.rapl.rapl import Args, GTReward, RAPLReward, preferred_demos
from aligngym.agents.rapl.rlhf import BTReward, RLHFArgs
from aligngym.agents.rapl.scripted import sweeper
from aligngym.agents.rapl.wrapper import LearnedRewardWrapper
from aligngym.benchmarks.harness import evaluate


@dataclass
class PolicyArgs:
    env_id: str = "AlignGym/SweepToTop-Longstick-v0"
    """the env (50-step episodes for the long stick)"""
    preference: str = "group"
    """the hidden preference"""
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    """PPO seeds (one learned reward per seed)"""
    queries: int = 80
    """triplets the simulated user answers"""
    steps: int = 20_000
    """PPO training steps per reward"""
    eval_episodes: int = 10
    """evaluation episodes per policy"""
    pool: int = 60
    """scripted videos in the pool (half as many random ones are added)"""


def main(out: Path = Path("benchmarks/results"), quick: bool = False, args: PolicyArgs | None = None) -> dict:
    torch.set_num_threads(1)
    a = args or (PolicyArgs(seeds=(0,), queries=10, steps=256, eval_episodes=2, pool=12) if quick else PolicyArgs())
    kw = {"preference": a.preference, "variant": "TestLayout"}
    start, runs = time.perf_counter(), []
    ppo = PPOArgs(n_envs=4, n_steps=64 if a.steps < 1000 else 256, batch_size=64)
    for seed in a.seeds:
        pool = (collect_episodes(a.env_id, sweeper, a.pool, 100_000 * seed, **kw)
                + collect_episodes(a.env_id, "random", a.pool // 2, 100_000 * seed + 10_000, **kw))
        backbone = pretrain_backbone([e.frames for e in pool], EncoderArgs(pretrain_steps=20 if quick else 200,
                                                                           seed=seed))
        user = SimulatedUser("rapl", budget=a.queries, seed=seed)
        demos, triplets = preferred_demos(pool, user, 6), user.label(pool, a.queries)
        epochs = 5 if quick else 50
        rewards = {"task": None, "gt": GTReward(),
                   "rlhf": BTReward(backbone, RLHFArgs(epochs=epochs, seed=seed)).fit(pool, triplets),
                   "rapl": RAPLReward(backbone, Args(epochs=epochs, seed=seed)).fit(pool, triplets, demos)}
        run = {"seed": seed}
        for name, model in rewards.items():
            def make_env(model=model):
                env = gym.make(a.env_id, render_mode="rgb_array", **kw)
                return env if model is None else LearnedRewardWrapper(env, model)
            policy = train_ppo(make_env, ppo, a.steps, seed)
            record = evaluate(a.env_id, SB3Agent(policy, name=f"ppo-{name}"), episodes=a.eval_episodes,
                              seeds=[1000 + seed], env_kwargs=kw)
            run[name] = {m: record.aggregates[m]["mean"] for m in
                         ("aligned_score", "eval_score", "preference_success", "preference_cost")}
            print(f"seed {seed} {name}: {run[name]}", flush=True)
        runs.append(run)
    result = {"args": asdict(a), "ppo": asdict(ppo), "runs": runs, "duration_s": round(time.perf_counter() - start, 1),
              "note": "quick smoke run: no claims" if quick else ""}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_rapl_policies.json").write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    from aligngym.benchmarks.run_all import script_main

    raise SystemExit(script_main(main, __doc__))
