"""RAPL vs RLHF vs the ground truth on the MuJoCo push envs (Group, Clutter, and the Fetch cross-embodiment
transfer), as RAPL's Table 1 (within-trajectory Spearman rho) plus the success of policies trained on each reward.

Recipe (per env; the Fetch column reuses everything learned on Franka Group, as the paper's Kuka column reuses
its Franka reward):
1. a pool of videos from scripted pushers with per-episode noise and smooth random motion (`POOL`), read through
   the video cache, so that reward learning never re-renders a rollout;
2. the simulated user (part 1's `SimulatedUser`, preset `rapl_last`: RAPL's band-filtered teacher, which ranks
   videos by their last step's cost as RAPL's Franka teacher does, on cost quantiles) gives its 6 preferred videos
   as demos and answers `queries` triplet queries for RAPL and twice as many for RLHF (the paper: 150 vs 300);
3. a small CNN pretrained time-contrastively on the pool's frames (the same frozen backbone for every learner);
   RAPL fits its linear head with the OT preference loss and rewards by OT against the user's 6 preferred demos;
   RLHF fits a Bradley-Terry reward head; GT is -preference_cost;
4. Spearman rho between each learned per-step cost and the hidden cost within each held-out video (every 4th
   step), averaged over the held-out videos. The hidden cost includes the task terms (cubes to the line, fingers
   to the cube), which fall in any video that makes progress, so a content-free reward that just grows with time
   (`Time`: r_t = t) scores well too: it is reported beside, and every reward is also scored against the
   preference-only part of the cost (grouping, lifting, arm contact, clutter: preference cost + task reward);
5. SB3 PPO on the state observation with the learned visual reward (`LearnedRewardWrapper`: each step renders a
   frame and pays the reward model), then the harness scores the policy's success on the env.
Also: the scripted ranking (random, constant, task-only "cheater", expert) through the harness, >= 5 seeds.

Run: python -m aligngym.benchmarks.rapl.franka_rapl [--budget full|small|tuned|quick]
   (writes benchmarks/results/rapl_franka[_budget].json, .md and .png)
"""
from __future__ import annotations

import argparse
import copy
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import aligngym  # noqa: F401,I001  (first: headless GL for MuJoCo; registers the ids)
import gymnasium as gym
import numpy as np

from aligngym.agents.base import SB3Agent
from aligngym.agents.ppo import PPOArgs, train_ppo
from aligngym.agents.rapl import Episode, SimulatedUser, spearman_within
from aligngym.agents.rapl.encoder import EncoderArgs, pretrain_backbone
from aligngym.agents.rapl.rapl import Args as RAPLArgs
from aligngym.agents.rapl.rapl import GTReward, RAPLReward, preferred_demos
from aligngym.agents.rapl.rlhf import BTReward, RLHFArgs
from aligngym.agents.rapl.sac import SACArgs, train_sac
from aligngym.agents.rapl.wrapper import LearnedRewardWrapper
from aligngym.benchmarks.harness import evaluate
from aligngym.benchmarks.rapl.franka_policies import POOL, VERSION, ScriptedAgent, noisy_scripted
from aligngym.benchmarks.rapl.franka_video_cache import VideoCache
from aligngym.benchmarks.stats import bootstrap_ci, format_cell

RESULTS = Path(__file__).resolve().parents[1] / "results"
PAPER = {"Group": {"RAPL": 0.59, "RLHF": 0.38}, "Clutter": {"RAPL": 0.61, "RLHF": 0.26},
         "Kuka (ours: Fetch)": {"RAPL": 0.47, "RLHF": 0.31}}
ENVS = {"Group": "AlignGym/RaplFrankaGroup-v0", "Clutter": "AlignGym/RaplFrankaClutter-v0",
        "Kuka (ours: Fetch)": "AlignGym/RaplFetchGroup-v0"}


@dataclass(frozen=True)
class Args:
    pool_per_policy: int = 12
    """training videos per pool policy (5 policies)"""
    eval_videos: int = 20
    """held-out videos for Spearman rho (the paper: 50)"""
    queries: int = 60
    """RAPL's triplet queries (half ranked, half "equal"); RLHF gets twice as many (the paper: 150 vs 300)"""
    teacher: str = "rapl_last"
    """simulated-user preset (part 1's `PRESETS`); `rapl_last` ranks by the last step's cost, as RAPL's teacher"""
    pretrain_steps: int = 300
    """time-contrastive pretraining steps of the shared backbone"""
    epochs: int = 40
    """training epochs of the RAPL head and the RLHF head"""
    ppo_steps: int = 4000
    """PPO env steps per (env, reward); 0 skips policy training"""
    eval_episodes: int = 5
    """episodes per seed when scoring policies with the harness"""
    seeds: tuple[int, ...] = (0,)
    """training seeds (user, learners, PPO)"""
    ranking_seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    """evaluation seeds of the scripted ranking"""


SMALL = Args(pool_per_policy=6, eval_videos=10, queries=40, pretrain_steps=100, epochs=15, ppo_steps=0,
             seeds=(0, 1, 2, 3, 4))
"""5 seeds of reward learning and Spearman rho, no PPO: what fits a busy shared 2-core CPU at nice 19 in about half
an hour (the numbers in benchmarks/results/rapl_franka_small.*)"""
QUICK = Args(pool_per_policy=4, eval_videos=6, queries=20, pretrain_steps=30, epochs=5, ppo_steps=270,
             eval_episodes=2, ranking_seeds=(0, 1))
"""a smoke test of the whole pipeline"""
TUNED = Args(pool_per_policy=24, eval_videos=50, queries=40, pretrain_steps=100, epochs=15, ppo_steps=0,
             seeds=(0, 1, 2, 3, 4), teacher="rapl")
"""SMALL with the reward budget that `franka_reward_budget.py` found to matter: a user who ranks videos by their
mean cost (preset `rapl`) instead of their last step's (held-out rho on Group over 3 seeds, RAPL / RLHF: 0.42 /
0.44 vs 0.25 / 0.27 with the last-step user on the same pool; more queries and epochs, more pretraining or the
larger pool alone did not move rho), on the larger pool (120 videos), scored on 50 held-out videos (the paper's)"""
BUDGETS = {"full": Args(), "small": SMALL, "tuned": TUNED, "quick": QUICK}


def pool(cache: VideoCache, env_id: str, per_policy: int, offset: int) -> list:
    episodes = []
    for k, (kind, noise) in enumerate(POOL):
        episodes += cache.episodes(env_id, f"{kind}{noise}-{VERSION}", noisy_scripted(kind, noise), n=per_policy,
                                   seed=offset + 1000 * k, progress=True)
    return episodes


class TimeReward:
    """A content-free reward that grows with time (r_t = t): what rho_within gives for "the episode progressed"."""

    def rewards(self, episodes) -> list[np.ndarray]:
        return [np.arange(len(e), dtype=float) for e in episodes]


def preference_only(episodes) -> list[Episode]:
    """The videos with their hidden cost reduced to its preference-only terms (preference cost + task reward:
    grouping, lifting, arm contact, clutter), to score a reward on what the task reward does not already say."""
    return [Episode(e.frames, e.preference_cost + e.task_reward, e.task_reward, e.metrics) for e in episodes]


def learn_rewards(train: list, args: Args, seed: int) -> dict:
    user = SimulatedUser(args.teacher, budget=3 * args.queries, seed=seed)
    backbone = pretrain_backbone([e.frames for e in train], EncoderArgs(pretrain_steps=args.pretrain_steps,
                                                                        seed=seed), progress=True)
    demos = preferred_demos(train, user)
    rapl = RAPLReward(backbone, RAPLArgs(epochs=args.epochs, seed=seed)).fit(train, user.label(train, args.queries),
                                                                           demos, progress=True)
    rlhf = BTReward(backbone, RLHFArgs(epochs=args.epochs, seed=seed)).fit(train, user.label(train, 2 * args.queries),
                                                                         progress=True)
    return {"RAPL": rapl, "RLHF": rlhf, "GT": GTReward(), "Time": TimeReward()}


def train_policy(env_id: str, model, args: Args, seed: int, algo: str = "ppo", every: int = 1,
                 normalise: bool = False):
    """A policy trained on `model`'s reward for `args.ppo_steps` env steps: SB3 PPO, or SAC (`algo="sac"`);
    `every`: the learned reward every k-th step, `normalise`: its running mean/std normalisation
    (`LearnedRewardWrapper`)."""
    def make_env():
        # a reward model copy per env: OT's online reward keeps the episode so far on the model
        return LearnedRewardWrapper(gym.make(env_id, render_mode="rgb_array"), copy.deepcopy(model), every=every,
                                    normalise=normalise)

    if algo == "sac":
        return train_sac(make_env, SACArgs(), args.ppo_steps, seed)
    ppo = PPOArgs(n_envs=2, n_steps=135, batch_size=90)  # 45-step episodes: 3 per env per update
    return train_ppo(make_env, ppo, args.ppo_steps, seed)


def ranking(args: Args) -> dict:
    out = {}
    for label, env_id in ENVS.items():
        make = lambda env_id=env_id: gym.make(env_id)  # noqa: E731
        agents = {"random": "random", **{k: ScriptedAgent(make, k) for k in ("constant", "task_only", "expert")}}
        out[label] = {name: evaluate(env_id, agent, episodes=4, seeds=args.ranking_seeds,
                                     agent_spec=f"franka-{name}").aggregates for name, agent in agents.items()}
    return out


def run(args: Args, cache: VideoCache, save) -> dict:
    """Rewards and their Spearman rho for every env first, then PPO on each reward; `save(result)` after each
    stage, so that an interrupted run keeps what it finished."""
    started = time.time()
    result = {"args": asdict(args), "paper_rho_within": PAPER, "ranking": ranking(args), "rho": {},
              "rho_preference_only": {}, "scored_videos": {}, "policy": {}}
    save(result)
    train = {label: pool(cache, env_id, args.pool_per_policy, 0) for label, env_id in ENVS.items()
             if "Fetch" not in env_id}
    held_out = {label: pool(cache, env_id, max(1, args.eval_videos // len(POOL)), 100_000)
                for label, env_id in ENVS.items()}
    models = {}
    for seed in args.seeds:
        models[seed] = {label: learn_rewards(episodes, args, seed) for label, episodes in train.items()}
        models[seed]["Kuka (ours: Fetch)"] = models[seed]["Group"]  # cross-embodiment: Franka Group's reward
        for label in ENVS:
            for method, model in models[seed][label].items():
                rewards = model.rewards(held_out[label])
                rho = spearman_within(rewards, held_out[label])
                pref = spearman_within(rewards, preference_only(held_out[label]))
                result["rho"].setdefault(label, {}).setdefault(method, []).append(rho["rho_within"])
                result["rho_preference_only"].setdefault(label, {}).setdefault(method, []).append(pref["rho_within"])
                result["scored_videos"].setdefault(label, {})[method] = {"full": rho["n_videos_within"],
                                                                         "preference_only": pref["n_videos_within"]}
                print(f"{label} {method}: rho_within {rho['rho_within']:.3f}, preference-only "
                      f"{pref['rho_within']:.3f}", flush=True)
        save(result)
    for seed in args.seeds if args.ppo_steps else ():
        for label, env_id in ENVS.items():
            for method, model in models[seed][label].items():
                if method == "Time":
                    continue
                print(f"{label} {method}: PPO for {args.ppo_steps} steps", flush=True)
                policy = train_policy(env_id, model, args, seed)
                record = evaluate(env_id, SB3Agent(policy), episodes=args.eval_episodes, seeds=[seed],
                                  agent_spec=f"ppo-{method}")
                result["policy"].setdefault(label, {}).setdefault(method, []).append(record.aggregates)
                result["duration_s"] = round(time.time() - started)
                save(result)
    result["duration_s"] = round(time.time() - started)
    result["video_cache"] = {"hits": cache.hits, "misses": cache.misses}
    return result


def _cell(values) -> str:
    """mean [95% bootstrap CI over seeds] of the finite values, "—" if none."""
    v = [x for x in values if x is not None and np.isfinite(x)]
    if not v:
        return "—"
    low, high = bootstrap_ci(v)
    return f"{np.mean(v):.2f} [{low:.2f}, {high:.2f}]"


def table(result: dict) -> str:
    seeds = min((len(v) for methods in result["rho"].values() for v in methods.values()), default=0)
    note = " (too few seeds: < 5)" if seeds < 5 else ""
    lines = [f"Within-trajectory Spearman rho on held-out videos, mean [95% bootstrap CI] over {seeds} training "
             f"seed(s){note}; paper's Table 1 beside. Time: the content-free reward r_t = t.", "",
             "| env | RAPL (ours) | RLHF (ours) | RAPL - RLHF (ours, paired) | Time (ours) | GT (ours) | RAPL (paper) "
             "| RLHF (paper) |",
             "|---|---|---|---|---|---|---|---|"]
    for label, paper in PAPER.items():
        rho = result["rho"].get(label, {})
        diff = [a - b for a, b in zip(rho.get("RAPL", []), rho.get("RLHF", []))]
        lines.append(f"| {label} | {_cell(rho.get('RAPL', []))} | {_cell(rho.get('RLHF', []))} | {_cell(diff)} | "
                     f"{_cell(rho.get('Time', []))} | {_cell(rho.get('GT', []))} | {paper['RAPL']:.2f} | "
                     f"{paper['RLHF']:.2f} |")
    if result.get("rho_preference_only"):
        lines += ["", "The same rewards against the preference-only part of the hidden cost (grouping, lifting, arm "
                  "contact, clutter; without the task terms, which fall with progress):", "",
                  "| env | RAPL | RLHF | RAPL - RLHF (paired) | Time | GT |", "|---|---|---|---|---|---|"]
        for label in PAPER:
            rho = result["rho_preference_only"].get(label, {})
            diff = [a - b for a, b in zip(rho.get("RAPL", []), rho.get("RLHF", []))]
            lines.append(f"| {label} | " + " | ".join(_cell(v) for v in (
                rho.get("RAPL", []), rho.get("RLHF", []), diff, rho.get("Time", []), rho.get("GT", []))) + " |")
    if result["policy"]:
        lines += ["", "PPO policies trained on each reward: preference_success / task_success (mean [95% CI]).", "",
                  "| env | RAPL | RLHF | GT |", "|---|---|---|---|"]
        for label, methods in result["policy"].items():
            cells = []
            for m in ("RAPL", "RLHF", "GT"):
                agg = methods.get(m, [{}])[0]
                cells.append(f"{format_cell(agg.get('preference_success'), '.2f')} / "
                             f"{format_cell(agg.get('task_success'), '.2f')}")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "Scripted ranking (harness, preference_success / task_success / preference_cost):", "",
              "| env | random | constant | task_only | expert |", "|---|---|---|---|---|"]
    for label, agents in result["ranking"].items():
        cells = [" / ".join(format_cell(agents[a].get(k), ".2f") for k in
                            ("preference_success", "task_success", "preference_cost"))
                 for a in ("random", "constant", "task_only", "expert")]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(PAPER)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    width = 0.13
    bars = [("RAPL (ours)", "RAPL", None), ("RLHF (ours)", "RLHF", None), ("Time (ours)", "Time", None),
            ("GT (ours)", "GT", None), ("RAPL (paper)", None, "RAPL"), ("RLHF (paper)", None, "RLHF")]
    for k, (name, ours, paper) in enumerate(bars):
        per_seed = [result["rho"].get(lb, {}).get(ours, [np.nan]) if ours else [PAPER[lb][paper]] for lb in labels]
        values = [np.nanmean(v) for v in per_seed]
        errors = None
        if ours:  # 95% bootstrap CI over seeds
            cis = np.array([bootstrap_ci(v) for v in per_seed])
            errors = np.abs(cis.T - values)
        ax.bar(np.arange(len(labels)) + (k - 2.5) * width, values, width, label=name, hatch="//" if paper else None,
               yerr=errors, capsize=2)
    ax.set_xticks(np.arange(len(labels)), labels)
    ax.set_ylabel("within-trajectory Spearman rho")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_ylim(top=1.3)  # room for the legend above the GT bars
    ax.legend(fontsize=7, ncol=3, loc="upper center")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(budget: str = "full", cache_dir: str | None = None) -> dict:
    args = BUDGETS[budget]
    cache = VideoCache(cache_dir) if cache_dir else VideoCache()
    stem = RESULTS / ("rapl_franka" if budget == "full" else f"rapl_franka_{budget}")
    stem.parent.mkdir(parents=True, exist_ok=True)

    def save(result: dict) -> None:
        result = {"budget": budget, **result}
        stem.with_suffix(".json").write_text(json.dumps(result, indent=2, default=float) + "\n")
        stem.with_suffix(".md").write_text(table(result))
        if result["rho"]:
            plot(result, stem.with_suffix(".png"))

    result = run(args, cache, save)
    save(result)
    print(table(result))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", choices=list(BUDGETS), default="full",
                        help="full (Args' defaults), small, tuned, quick")
    parser.add_argument("--cache-dir", default=None, help="video cache folder (default ~/.cache/aligngym/rapl_videos)")
    cli = parser.parse_args()
    main(cli.budget, cli.cache_dir)
