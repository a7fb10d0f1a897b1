"""SB3 SAC or PPO on Franka Group: first on the ground-truth reward against random, then on the learned rewards.

1. GT check: the learner (`--algo`, SAC by default: PPO had not separated from random at 40k steps) on the state
   observation with the hidden preference reward (-preference_cost, no rendering) for
   `gt_steps` env steps, one policy per training seed, each scored by the harness on that seed; random scored on
   the same seeds. "Beats random" means non-overlapping 95% bootstrap CIs over the seeds on preference_cost (the
   quantity GT's reward sums; preference_success is reported beside it); the paired per-seed difference is
   reported too, but stage 2 needs the separate CIs apart.
2. Only if GT beats random: the RAPL and RLHF rewards learned as in `franka_rapl.py` (its `SMALL` reward budget,
   on the same cached video pool) and the same learner for `learned_steps` on each (`LearnedRewardWrapper` renders a frame per
   step, ~20x the cost of a state step, hence the smaller budget), scored the same way.
Writes benchmarks/results/rapl_franka_<algo>.json after each policy, so an interrupted run keeps what it finished.
Run: python -m aligngym.benchmarks.rapl.franka_ppo [--algo sac|ppo] [--gt-steps N] [--learned-steps N]
     [--seeds 0 1 2 3 4]
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import aligngym  # noqa: F401,I001  (first: headless GL for MuJoCo; registers the ids)
import numpy as np

from aligngym.agents.base import SB3Agent
from aligngym.agents.rapl.rapl import GTReward
from aligngym.benchmarks.harness import evaluate
from aligngym.benchmarks.rapl import franka_rapl
from aligngym.benchmarks.rapl.franka_video_cache import VideoCache
from aligngym.benchmarks.stats import bootstrap_ci

METRICS = ("preference_success", "task_success", "preference_cost")


@dataclass(frozen=True)
class Args:
    env_id: str = "AlignGym/RaplFrankaGroup-v0"
    """the env (a rapl Franka/Fetch id)"""
    algo: str = "sac"
    """the learner: SB3 "sac" (`agents/rapl/sac.py`) or "ppo" (`franka_rapl.train_policy`'s settings)"""
    gt_steps: int = 15_000
    """learner env steps per seed on the ground-truth reward"""
    learned_steps: int = 4_000
    """learner env steps per seed on each learned (rendered) reward"""
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    """training seeds of the GT check (each policy is scored on its own seed)"""
    learned_seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    """training seeds of the learned-reward stage"""
    eval_episodes: int = 10
    """harness episodes per seed"""


def _summary(per_seed: list[dict]) -> dict:
    """Per metric: the per-seed means, their mean and 95% bootstrap CI over seeds."""
    out = {}
    for m in METRICS:
        values = [r[m] for r in per_seed]
        low, high = bootstrap_ci(values)
        out[m] = {"mean": float(np.mean(values)), "ci_low": low, "ci_high": high, "per_seed": values}
    return out


def _score(agent, args: Args, seed: int, spec: str) -> dict:
    record = evaluate(args.env_id, agent, episodes=args.eval_episodes, seeds=[seed], agent_spec=spec)
    return {m: record.aggregates[m]["mean"] for m in METRICS}


def paired_difference(per_seed: list[dict], random: list[dict]) -> dict:
    """Per metric: the policy's minus random's score seed by seed (same evaluation episodes), with the 95% bootstrap
    CI of its mean: a finer test than two separate CIs, reported beside it."""
    return _summary([{m: p[m] - r[m] for m in METRICS} for p, r in zip(per_seed, random)])


def beats(a: dict, b: dict) -> bool:
    """a's preference_cost CI lies wholly below b's (lower cost is better)."""
    return a["preference_cost"]["ci_high"] < b["preference_cost"]["ci_low"]


def run(args: Args, save) -> dict:
    import torch

    torch.set_num_threads(1)  # on a shared 2-core machine, more threads only contend
    started = time.time()
    result = {"args": asdict(args), "random": [], "policies": {}, "duration_s": {}}
    for seed in args.seeds:
        result["random"].append(_score("random", args, seed, "random"))
    runs = [("GT", GTReward(), seed, args.gt_steps) for seed in args.seeds]
    _train(runs, args, result, save, started)
    result["summary"] = {"random": _summary(result["random"]), "GT": _summary(result["policies"]["GT"])}
    result["gt_beats_random"] = beats(result["summary"]["GT"], result["summary"]["random"])
    result["summary"]["GT_minus_random_paired"] = paired_difference(result["policies"]["GT"], result["random"])
    save(result)
    if not result["gt_beats_random"] or not args.learned_steps:
        return result
    cache, small = VideoCache(), franka_rapl.SMALL
    train = franka_rapl.pool(cache, args.env_id, small.pool_per_policy, 0)
    runs = []
    for seed in args.learned_seeds:
        models = franka_rapl.learn_rewards(train, small, seed)
        runs += [(method, models[method], seed, args.learned_steps) for method in ("RAPL", "RLHF")]
    result["duration_s"]["reward_learning"] = round(time.time() - started)
    _train(runs, args, result, save, started)
    for method in ("RAPL", "RLHF"):
        result["summary"][method] = _summary(result["policies"][method])
        random = _summary([result["random"][args.seeds.index(s)] for s in args.learned_seeds])
        result["summary"][f"random_on_{method}_seeds"] = random
        result[f"{method}_beats_random"] = beats(result["summary"][method], random)
    return result


def _train(runs: list, args: Args, result: dict, save, started: float) -> None:
    for method, model, seed, steps in runs:
        print(f"{method} seed {seed}: {args.algo} for {steps} steps", flush=True)
        t = time.time()
        policy = franka_rapl.train_policy(args.env_id, model, replace(franka_rapl.Args(), ppo_steps=steps), seed,
                                          algo=args.algo)
        result["duration_s"][f"{method}/{seed}"] = round(time.time() - t)
        result["policies"].setdefault(method, []).append(_score(SB3Agent(policy), args, seed,
                                                                f"{args.algo}-{method}"))
        print(f"  {result['policies'][method][-1]}", flush=True)
        result["duration_s"]["total"] = round(time.time() - started)
        save(result)


def main(args: Args, out: Path) -> dict:
    def save(result: dict) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2, default=float) + "\n")

    result = run(args, save)
    save(result)
    for name, s in result["summary"].items():
        print(name, {m: f"{v['mean']:.3f} [{v['ci_low']:.3f}, {v['ci_high']:.3f}]" for m, v in s.items()})
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algo", choices=["sac", "ppo"], default=Args.algo)
    parser.add_argument("--gt-steps", type=int, default=Args.gt_steps)
    parser.add_argument("--learned-steps", type=int, default=Args.learned_steps, help="0 skips stage 2")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(Args.seeds))
    parser.add_argument("--learned-seeds", type=int, nargs="+", default=list(Args.learned_seeds))
    parser.add_argument("--eval-episodes", type=int, default=Args.eval_episodes)
    parser.add_argument("--out", type=Path, help="default: benchmarks/results/rapl_franka_<algo>.json")
    cli = parser.parse_args()
    main(Args(algo=cli.algo, gt_steps=cli.gt_steps, learned_steps=cli.learned_steps, seeds=tuple(cli.seeds),
              learned_seeds=tuple(cli.learned_seeds), eval_episodes=cli.eval_episodes),
         cli.out or franka_rapl.RESULTS / f"rapl_franka_{cli.algo}.json")
