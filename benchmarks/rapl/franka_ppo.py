"""SB3 SAC or PPO on Franka Group: first on the ground-truth reward against random, then on the learned rewards.

1. GT check: the learner (`--algo`, SAC by default: PPO had not separated from random at 40k steps) on the state
   observation with the hidden preference reward (-preference_cost, no rendering) for
   `gt_steps` env steps, one policy per training seed, each scored by the harness on that seed; random scored on
   the same seeds. "Beats random" means non-overlapping 95% bootstrap CIs over the seeds on preference_cost (the
   quantity GT's reward sums; preference_success is reported beside it); the paired per-seed difference is
   reported too, but stage 2 needs the separate CIs apart.
2. Only if GT beats random: per learned seed, the RAPL and RLHF rewards learned as in `franka_rapl.py` (the
   reward budget `reward_budget` names in its `BUDGETS`, on the same cached video pool), their within-video
   Spearman rho against the hidden cost on the held-out pool videos, and the same learner for `learned_steps` on
   each reward, scored the same way. The learned rewards are visual: `LearnedRewardWrapper` renders a frame (~10x
   the cost of a state step) and runs the reward model; `learned_reward_every=k` does that every k-th step only
   (the reward then counts k times, RAPL's OT compares every k-th frame with every k-th demo frame), a stated
   deviation that makes it affordable on CPU.
`--env group|clutter|fetch` picks the env: Franka Group (default), Franka Clutter, or the cross-embodiment transfer
(the learner on Fetch Group, the rewards learned on Franka Group's pool with its user's Franka demos, as the rho
table's Fetch column; rho and the reward-hacking diagnostic on Fetch's held-out videos).
Writes benchmarks/results/rapl_franka_<algo>[_<env>].json after each policy, so an interrupted run keeps what it
finished; `--gt-result FILE` reuses a finished run's random and GT stage (same settings) and runs stage 2 alone;
`--merge-into FILE` also merges the run's seeds into FILE after each policy (seeds FILE has are kept, summaries
recomputed from all seeds; runs whose Args differ in more than the seeds are refused), so more seeds, run later or
in parallel processes, join an existing result; `--merge A.json B.json --merge-into FILE` merges finished runs
(`--methods RAPL` or `RLHF` trains on one reward only; such runs merge too). `--normalise-reward` is an ablation:
the learned reward normalised by its running mean/std (`LearnedRewardWrapper(normalise=True)`); its results never
merge with the main ones (the Args differ), so they go to their own file.
Run: python -m aligngym.benchmarks.rapl.franka_ppo [--env group|clutter|fetch] [--algo sac|ppo] [--gt-steps N]
     [--learned-steps N] [--seeds 0 1 2 3 4] [--learned-seeds 0 1 2] [--gt-result FILE] [--merge-into FILE]
     [--methods RAPL RLHF] [--normalise-reward]
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import aligngym  # noqa: F401,I001  (first: headless GL for MuJoCo; registers the ids)
import gymnasium as gym
import numpy as np

from aligngym.agents.base import SB3Agent
from aligngym.agents.rapl import spearman_within
from aligngym.agents.rapl.episodes import collect_episodes
from aligngym.agents.rapl.rapl import GTReward
from aligngym.benchmarks.harness import evaluate
from aligngym.benchmarks.rapl import franka_rapl
from aligngym.benchmarks.rapl.franka_policies import POOL
from aligngym.benchmarks.rapl.franka_video_cache import VideoCache
from aligngym.benchmarks.stats import bootstrap_ci

METRICS = ("preference_success", "task_success", "preference_cost")


ENVS = {"group": ("AlignGym/RaplFrankaGroup-v0", ""), "clutter": ("AlignGym/RaplFrankaClutter-v0", ""),
        "fetch": ("AlignGym/RaplFetchGroup-v0", "AlignGym/RaplFrankaGroup-v0")}
"""`--env` choices: (the env the learner trains and is scored on, the env whose pool the rewards are learned on)"""


@dataclass(frozen=True)
class Args:
    env_id: str = "AlignGym/RaplFrankaGroup-v0"
    """the env the learner trains and is scored on (a rapl Franka/Fetch id)"""
    reward_env_id: str = ""
    """the env whose video pool the rewards are learned on; empty: env_id. The Fetch transfer learns them on Franka
    Group's pool, as the rho table's Fetch column does (rho is still scored on env_id's held-out videos)"""
    algo: str = "sac"
    """the learner: SB3 "sac" (`agents/rapl/sac.py`) or "ppo" (`franka_rapl.train_policy`'s settings)"""
    gt_steps: int = 15_000
    """learner env steps per seed on the ground-truth reward"""
    learned_steps: int = 15_000
    """learner env steps per seed on each learned (rendered) reward"""
    reward_budget: str = "small"
    """the reward-learning budget, a name in `franka_rapl.BUDGETS` (pool, queries, pretraining, epochs)"""
    learned_reward_every: int = 5
    """render and pay the learned reward every k-th step (`LearnedRewardWrapper(every=k)`); 1: every step"""
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    """training seeds of the GT check (each policy is scored on its own seed)"""
    learned_seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    """training seeds of the learned-reward stage (reward learning and learner)"""
    eval_episodes: int = 10
    """harness episodes per seed"""
    normalise_reward: bool = False
    """an ablation: the learned reward normalised by its running mean/std (`LearnedRewardWrapper(normalise=True)`);
    off in every main result"""
    learned_methods: tuple[str, ...] = ("RAPL", "RLHF")
    """the learned rewards trained on in stage 2 (both are learned and their rho scored either way)"""


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


GT_STAGE = ("env_id", "algo", "gt_steps", "seeds", "eval_episodes")  # what a reused GT stage must share
LEARNED = ("RAPL", "RLHF")


def seeds_run(result: dict) -> dict:
    """Which seed each per-seed list holds, per list: "random", "GT", "RAPL", "RLHF" (their scores and
    reward_hacking) and "rho" (rho_within, whose rewards were learned). Recorded since the merges; for older files,
    inferred: the driver runs seeds in the order Args lists them, so a list of n holds the first n."""
    if "seeds_run" in result:
        return result["seeds_run"]
    args, policies = result["args"], result["policies"]
    rho = result.get("rho_within", {}).get("RAPL", [])
    return {"random": args["seeds"][:len(result["random"])], "GT": args["seeds"][:len(policies.get("GT", []))],
            **{m: args["learned_seeds"][:len(policies.get(m, []))] for m in LEARNED},
            "rho": args["learned_seeds"][:len(rho)]}


def summarise(result: dict) -> None:
    """(Re)computes the summaries and verdicts from the per-seed scores: random and GT over their seeds, GT minus
    random paired by seed, and each learned reward's policies and rho over the seeds finished, against random on
    those seeds (separate CIs for the verdict, the paired difference beside it)."""
    seeds = seeds_run(result)
    random = dict(zip(seeds["random"], result["random"]))
    summary = result["summary"] = {"random": _summary(result["random"])}
    if result["policies"].get("GT"):
        gt = result["policies"]["GT"]
        summary["GT"] = _summary(gt)
        result["gt_beats_random"] = beats(summary["GT"], summary["random"])
        summary["GT_minus_random_paired"] = paired_difference(gt, [random[s] for s in seeds["GT"]])
    rho = {m: dict(zip(seeds["rho"], result.get("rho_within", {}).get(m, []))) for m in LEARNED}
    for method in LEARNED:
        done = seeds[method]
        if not done:
            continue
        summary[method] = _summary(result["policies"][method])
        summary[f"random_on_{method}_seeds"] = _summary([random[s] for s in done])
        result[f"{method}_beats_random"] = beats(summary[method], summary[f"random_on_{method}_seeds"])
        summary[f"{method}_minus_random_paired"] = paired_difference(result["policies"][method],
                                                                     [random[s] for s in done])
        values = [rho[method][s] for s in done]
        low, high = bootstrap_ci(values)
        summary[f"{method}_rho_within"] = {"mean": float(np.mean(values)), "ci_low": low, "ci_high": high,
                                           "per_seed": values}


def run(args: Args, save, gt_result: dict | None = None) -> dict:
    """Stage 1 (or `gt_result`'s, when given), then stage 2 if GT beats random; `save(result)` after each policy."""
    import torch

    torch.set_num_threads(1)  # on a shared 2-core machine, more threads only contend
    started = time.time()
    result = {"args": asdict(args), "random": [], "policies": {}, "duration_s": {},
              "seeds_run": {k: [] for k in ("random", "GT", *LEARNED, "rho")}}
    if gt_result is None:
        for seed in args.seeds:
            result["random"].append(_score("random", args, seed, "random"))
            result["seeds_run"]["random"].append(seed)
        runs = [("GT", GTReward(), seed, args.gt_steps) for seed in args.seeds]
        _train(runs, args, result, save, started)
    else:
        differ = [k for k in GT_STAGE if json.loads(json.dumps(gt_result["args"][k])) != json.loads(
            json.dumps(result["args"][k]))]
        if differ:
            raise ValueError(f"The reused GT stage was run with other settings: {differ}.")
        result.update({k: gt_result[k] for k in ("random", "policies")})
        result["seeds_run"].update({k: seeds_run(gt_result)[k] for k in ("random", "GT")})
        result["duration_s"] = {k: v for k, v in gt_result["duration_s"].items() if k.startswith("GT/")}
    summarise(result)
    save(result)
    if not result["gt_beats_random"] or not args.learned_steps:
        return result
    cache, budget = VideoCache(), franka_rapl.BUDGETS[args.reward_budget]
    train = franka_rapl.pool(cache, args.reward_env_id or args.env_id, budget.pool_per_policy, 0)
    held_out = franka_rapl.pool(cache, args.env_id, max(1, budget.eval_videos // len(POOL)), 100_000)
    result["rho_within"] = {}
    for seed in args.learned_seeds:  # seed by seed: an interrupted run keeps whole seeds
        t = time.time()
        models = franka_rapl.learn_rewards(train, budget, seed)
        # keyed by the rewards trained on, so runs of one reward each (merged later) keep both times
        for_methods = "" if tuple(args.learned_methods) == LEARNED else f" for {'+'.join(args.learned_methods)}"
        result["duration_s"][f"reward_learning{for_methods}/{seed}"] = round(time.time() - t)
        for method in LEARNED:
            rho = spearman_within(models[method].rewards(held_out), held_out)["rho_within"]
            result["rho_within"].setdefault(method, []).append(float(rho))
        result["seeds_run"]["rho"].append(seed)
        _train([(method, models[method], seed, args.learned_steps) for method in args.learned_methods], args,
               result, save, started, held_out)
    return result


MERGEABLE = ("seeds", "learned_seeds", "learned_methods")  # the Args fields merged runs may differ in


def merge(old: dict, new: dict) -> dict:
    """`old` with `new`'s seeds added: per list, the seeds `old` has are kept as they are (a seed both have keeps
    old's scores), the others come from `new`, sorted by seed; summaries and verdicts are recomputed from all seeds.
    Refuses runs whose Args differ in anything but the seeds (`Args` fields missing from an older file count as
    their defaults)."""
    norm = lambda r: json.loads(json.dumps({**asdict(Args()), **r["args"]}))  # noqa: E731
    differ = [k for k in norm(old) if k not in MERGEABLE and norm(old)[k] != norm(new)[k]]
    if differ:
        raise ValueError(f"Cannot merge runs whose Args differ in {differ} (only {MERGEABLE} may).")

    def union(seed_key: str, get) -> tuple[list, list]:
        """The seeds of both runs' lists and their entries, sorted by seed; old's entry where both have a seed."""
        by_seed = {**dict(zip(seeds_run(new)[seed_key], get(new))), **dict(zip(seeds_run(old)[seed_key], get(old)))}
        return sorted(by_seed), [by_seed[s] for s in sorted(by_seed)]

    merged = {"args": norm(old), "random": [], "policies": {}, "duration_s": {**new["duration_s"], **old["duration_s"]},
              "seeds_run": {}}
    # runs merged from parallel processes overlap in time: the total is the sum of the policies' and rewards' times
    merged["duration_s"]["total"] = sum(v for k, v in merged["duration_s"].items() if k != "total")
    merged["seeds_run"]["random"], merged["random"] = union("random", lambda r: r["random"])
    for m in ("GT", *LEARNED):
        merged["seeds_run"][m], values = union(m, lambda r, m=m: r["policies"].get(m, []))
        if values:
            merged["policies"][m] = values
    merged["seeds_run"]["rho"] = union("rho", lambda r: r.get("rho_within", {}).get("RAPL", []))[0]
    for m in LEARNED:
        for key in ("rho_within", "reward_hacking"):
            values = union("rho" if key == "rho_within" else m, lambda r, k=key, m=m: r.get(k, {}).get(m, []))[1]
            if values:
                merged.setdefault(key, {})[m] = values
    merged["args"]["seeds"] = merged["seeds_run"]["GT"] or merged["seeds_run"]["random"]
    merged["args"]["learned_seeds"] = merged["seeds_run"]["rho"] or merged["args"]["learned_seeds"]
    merged["args"]["learned_methods"] = [m for m in LEARNED if m in norm(old)["learned_methods"] + norm(new)[
        "learned_methods"]]
    summarise(merged)
    return merged


def reward_hacking(policy, model, args: Args, seed: int, held_out: list, episodes: int = 5) -> dict:
    """What the learned reward `model` thinks of its own policy: the mean per-step learned reward (the offline,
    whole-video reward) and hidden cost of `episodes` rendered rollouts of `policy`, beside those of the held-out
    pool videos of each pool policy (same model). A policy the reward rates above the pool's expert videos while
    its hidden cost is worse has found what the reward likes and the user does not."""
    env = gym.make(args.env_id, render_mode="rgb_array")
    rollouts = collect_episodes(env, lambda obs, rng: policy.predict(obs, deterministic=True)[0], n=episodes,
                                seed=seed + 50_000)
    env.close()
    per = len(held_out) // len(POOL)  # `franka_rapl.pool` lists the videos policy by policy
    groups = {"policy": rollouts, **{f"{kind}{noise}": held_out[k * per:(k + 1) * per]
                                     for k, (kind, noise) in enumerate(POOL) if per}}
    out = {name: {"learned_reward": float(np.mean([r.mean() for r in model.rewards(eps)])),
                  "preference_cost": float(np.mean([e.cost for e in eps])),
                  **{m: float(np.mean([e.metrics[m] for e in eps])) for m in ("task_success", "arm_contact_rate",
                                                                               "task_return")}}
           for name, eps in groups.items()}
    pool_rewards = sorted(g["learned_reward"] for name, g in out.items() if name != "policy")
    out["policy_rank_among_pool_policies"] = int(np.searchsorted(pool_rewards, out["policy"]["learned_reward"]))
    return out


def _train(runs: list, args: Args, result: dict, save, started: float, held_out: list | None = None) -> None:
    """Trains and scores each (method, reward model, seed, steps); with `held_out`, also `reward_hacking`."""
    for method, model, seed, steps in runs:
        print(f"{method} seed {seed}: {args.algo} for {steps} steps", flush=True)
        t = time.time()
        policy = franka_rapl.train_policy(args.env_id, model, replace(franka_rapl.Args(), ppo_steps=steps), seed,
                                          algo=args.algo, every=args.learned_reward_every,
                                          normalise=args.normalise_reward)
        result["duration_s"][f"{method}/{seed}"] = round(time.time() - t)
        result["policies"].setdefault(method, []).append(_score(SB3Agent(policy), args, seed,
                                                                f"{args.algo}-{method}"))
        result["seeds_run"][method].append(seed)
        print(f"  {result['policies'][method][-1]}", flush=True)
        if held_out is not None:
            result.setdefault("reward_hacking", {}).setdefault(method, []).append(
                reward_hacking(policy, model, args, seed, held_out))
        result["duration_s"]["total"] = round(time.time() - started)
        summarise(result)
        save(result)


def plot(result: dict, path: Path) -> None:
    """Each policy's preference cost per seed (dots) with its mean and 95% CI, random first."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = {"random": result["random"], **result["policies"]}
    fig, ax = plt.subplots(figsize=(5, 3))
    for k, (name, per_seed) in enumerate(groups.items()):
        costs = [r["preference_cost"] for r in per_seed]
        low, high = bootstrap_ci(costs)
        ax.scatter([k] * len(costs), costs, s=12, alpha=0.6)
        ax.errorbar(k + 0.15, np.mean(costs), yerr=[[np.mean(costs) - low], [high - np.mean(costs)]], fmt="o",
                    color="k", capsize=3)
    ax.set_xticks(range(len(groups)), [f"{g}\n({len(v)} seeds)" for g, v in groups.items()])
    ax.set_ylabel("preference cost (lower is better)")
    ax.set_title(f"{result['args']['algo'].upper()} on {result['args']['env_id'].split('/')[-1]}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def merge_into(path: Path, result: dict) -> dict:
    """Merges `result` into the run saved at `path` (created if absent) and rewrites it with its plot, under a lock,
    so that two runs merging into one file do not drop each other's seeds."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:  # the lock is on the file itself; "a+" creates it without truncating it
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        text = f.read()
        merged = merge(json.loads(text), result) if text.strip() else result
        f.seek(0)
        f.truncate()
        f.write(json.dumps(merged, indent=2, default=float) + "\n")
    plot(merged, path.with_suffix(".png"))
    return merged


def main(args: Args, out: Path, gt_result: Path | None = None, into: Path | None = None) -> dict:
    def save(result: dict) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2, default=float) + "\n")
        if into:  # after each policy too: a crash keeps the finished seeds in the merged file
            merge_into(into, result)

    result = run(args, save, json.loads(gt_result.read_text()) if gt_result else None)
    save(result)
    plot(result, out.with_suffix(".png"))
    _print(json.loads(into.read_text()) if into else result)
    return result


def _print(result: dict) -> None:
    cell = lambda v: f"{v['mean']:.3f} [{v['ci_low']:.3f}, {v['ci_high']:.3f}]"  # noqa: E731
    for name, s in result["summary"].items():  # per metric, or one figure (a reward's rho)
        print(name, cell(s) if "mean" in s else {m: cell(v) for m, v in s.items()})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", choices=list(ENVS), default="group",
                        help="fetch: SAC on Fetch with the rewards learned on Franka Group's pool (the transfer)")
    parser.add_argument("--algo", choices=["sac", "ppo"], default=Args.algo)
    parser.add_argument("--gt-steps", type=int, default=Args.gt_steps)
    parser.add_argument("--learned-steps", type=int, default=Args.learned_steps, help="0 skips stage 2")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(Args.seeds))
    parser.add_argument("--learned-seeds", type=int, nargs="+", default=list(Args.learned_seeds))
    parser.add_argument("--eval-episodes", type=int, default=Args.eval_episodes)
    parser.add_argument("--reward-budget", choices=list(franka_rapl.BUDGETS), default=Args.reward_budget)
    parser.add_argument("--learned-reward-every", type=int, default=Args.learned_reward_every)
    parser.add_argument("--normalise-reward", action="store_true", help="ablation: the learned reward normalised "
                        "by its running mean/std (results go to their own file: they never merge with the main ones)")
    parser.add_argument("--methods", choices=LEARNED, nargs="+", default=list(Args.learned_methods),
                        help="the learned rewards to train on (both are learned and scored for rho)")
    parser.add_argument("--gt-result", type=Path, help="reuse this finished run's random and GT stage")
    parser.add_argument("--out", type=Path, help="default: benchmarks/results/rapl_franka_<algo>[_<env>].json")
    parser.add_argument("--merge-into", type=Path, help="also merge this run's seeds into FILE (kept: FILE's seeds; "
                        "refused if the Args differ in more than the seeds); rewritten after each policy")
    parser.add_argument("--merge", type=Path, nargs="+", help="train nothing: merge these finished runs into "
                        "--merge-into")
    cli = parser.parse_args()
    if cli.merge:
        if not cli.merge_into:
            parser.error("--merge needs --merge-into")
        for path in cli.merge:
            merge_into(cli.merge_into, json.loads(path.read_text()))
        _print(json.loads(cli.merge_into.read_text()))
    else:
        env_id, reward_env_id = ENVS[cli.env]
        main(Args(env_id=env_id, reward_env_id=reward_env_id, algo=cli.algo, gt_steps=cli.gt_steps,
                  learned_steps=cli.learned_steps, seeds=tuple(cli.seeds), learned_seeds=tuple(cli.learned_seeds),
                  eval_episodes=cli.eval_episodes, learned_reward_every=cli.learned_reward_every,
                  reward_budget=cli.reward_budget, normalise_reward=cli.normalise_reward,
                  learned_methods=tuple(cli.methods)),
             cli.out or franka_rapl.RESULTS / f"rapl_franka_{cli.algo}{'' if cli.env == 'group' else '_' + cli.env}"
                                              f".json", cli.gt_result, cli.merge_into)
