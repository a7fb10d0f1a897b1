"""RAPL vs RLHF vs GT against the number of preference queries (the paper's Table 1 ordering, on the 2D sweep).

For each preference and seed: a pool of videos (the scripted sweeper with random styles, plus smooth random
actions) is collected on `train_env`; a small CNN is pretrained on the pool's frames (time-contrastive); the
simulated user (preset `teacher`) answers `max(budgets)` triplet queries and gives its 6 preferred videos as
demos; RAPL and RLHF are fitted on the first q answers for each budget q (nested budgets, so a larger budget sees
the same answers plus more). Scored on held-out videos of `train_env` (Spearman rho within trajectories, every
4th step, and across trajectories) and, for cross-embodiment, on videos of `cross_env`. The paper's ordering is
checked per seed: RAPL(q) - RLHF(q) and RAPL(q) - RLHF(2q), with bootstrap CIs over seeds.

    python -m aligngym.benchmarks.rapl.bench_rapl_queries [--quick] [--out benchmarks/results]
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from rich.console import Console

from aligngym.agents.rapl import SimulatedUser, collect_episodes, spearman_across, spearman_within
from aligngym.agents.rapl.encoder import EncoderArgs, pretrain_backbone
from aligngym.agents.rapl.rapl import Args, GTReward, OTReward, RAPLReward, preferred_demos
from aligngym.agents.rapl.rlhf import BTReward, RLHFArgs
from aligngym.agents.rapl.scripted import sweeper
from aligngym.benchmarks.stats import bootstrap_ci

PAPER_TABLE1 = {"metric": "Spearman rho within trajectories (every 4th step, 50 videos), Franka/Kuka tasks",
                "RAPL": {"Group": 0.59, "Clutter": 0.61, "Kuka": 0.47},
                "RLHF": {"Group": 0.38, "Clutter": 0.26, "Kuka": 0.31},
                "MVP-OT (untuned encoder)": {"Group": -0.10, "Clutter": 0.08, "Kuka": 0.02}}


@dataclass
class BenchArgs:
    preferences: tuple[str, ...] = ("group", "avoid")
    """the hidden preferences to learn"""
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    """independent repetitions (pool, pretraining, user, fits)"""
    budgets: tuple[int, ...] = (20, 40, 80, 160)
    """query budgets (triplets); RAPL(q) is compared with RLHF(q) and RLHF(2q)"""
    train_env: str = "AlignGym/SweepToTop-Gripper-v0"
    """where the pool, the demos and the held-out videos come from"""
    cross_env: str = "AlignGym/SweepToTop-Shortstick-v0"
    """another embodiment, for the cross-embodiment score"""
    variant: str = "TestLayout"
    """scene randomisation of every video"""
    pool_scripted: int = 80
    """scripted-sweeper videos in the pool"""
    pool_random: int = 40
    """smooth-random videos in the pool"""
    test_videos: int = 50
    """held-out videos (the paper averages over 50)"""
    cross_videos: int = 30
    """held-out videos of the other embodiment"""
    teacher: str = "rapl"
    """simulated-user preset"""
    epochs: int = 50
    """RAPL / RLHF epochs (the paper: 100; halved for the CPU budget)"""
    pretrain_steps: int = 200
    """backbone pretraining steps"""
    extra: dict = field(default_factory=dict)


def quick_args() -> BenchArgs:
    return BenchArgs(preferences=("group",), seeds=(0, 1), budgets=(10, 20), pool_scripted=16, pool_random=8,
                     test_videos=8, cross_videos=6, epochs=5, pretrain_steps=20)


def score(model, feats, episodes) -> dict:
    rewards = [model.reward_features(f) for f in feats] if not isinstance(model, GTReward) else model.rewards(episodes)
    return {**spearman_within(rewards, episodes), **spearman_across(rewards, episodes)}


def run_seed(pref: str, seed: int, a: BenchArgs, log) -> dict:
    kw = {"variant": a.variant, "preference": pref}
    base = 100_000 * seed
    pool = (collect_episodes(a.train_env, sweeper, a.pool_scripted, base, **kw)
            + collect_episodes(a.train_env, "random", a.pool_random, base + 10_000, **kw))
    test = collect_episodes(a.train_env, sweeper, a.test_videos, base + 20_000, **kw)
    cross = collect_episodes(a.cross_env, sweeper, a.cross_videos, base + 30_000, **kw)
    log(f"{pref} seed {seed}: videos collected")
    backbone = pretrain_backbone([e.frames for e in pool], EncoderArgs(pretrain_steps=a.pretrain_steps, seed=seed))
    test_feats = [backbone.features(e.frames) for e in test]
    cross_feats = [backbone.features(e.frames) for e in cross]
    user = SimulatedUser(a.teacher, budget=max(a.budgets), seed=seed)
    demos = preferred_demos(pool, user, 6)
    answers = user.label(pool, max(a.budgets))
    out = {"seed": seed, "queries_used": user.queries_used, "answered": len(answers),
           "pool_cost": [e.cost for e in pool], "demo_cost": [d.cost for d in demos],
           "gt": score(GTReward(), None, test), "untuned_ot": score(OTReward(backbone).set_demos(demos), test_feats, test),
           "rapl": {}, "rlhf": {}, "cross": {}}
    for q in a.budgets:
        taken = answers[:q]
        rapl = RAPLReward(backbone, Args(epochs=a.epochs, seed=seed)).fit(pool, taken, demos)
        rlhf = BTReward(backbone, RLHFArgs(epochs=a.epochs, seed=seed)).fit(pool, taken)
        out["rapl"][q], out["rlhf"][q] = score(rapl, test_feats, test), score(rlhf, test_feats, test)
        if q == max(a.budgets):
            out["cross"] = {"rapl": score(rapl.set_demos(demos), cross_feats, cross),
                            "rlhf": score(rlhf, cross_feats, cross), "gt": score(GTReward(), None, cross)}
        log(f"{pref} seed {seed} q={q}: RAPL {out['rapl'][q]['rho_within']:.2f} / RLHF {out['rlhf'][q]['rho_within']:.2f}"
            f" (within); {out['rapl'][q]['rho_across']:.2f} / {out['rlhf'][q]['rho_across']:.2f} (across)")
    return out


def summarise(runs: list[dict], budgets) -> dict:
    def agg(values):
        v = np.asarray([x for x in values if np.isfinite(x)], dtype=float)
        lo, hi = bootstrap_ci(v)
        return {"mean": float(v.mean()) if len(v) else float("nan"), "ci": [lo, hi], "n": int(len(v))}

    table = {}
    for metric in ("rho_within", "rho_across"):
        rows = {"gt": agg([r["gt"][metric] for r in runs]), "untuned_ot": agg([r["untuned_ot"][metric] for r in runs])}
        for method in ("rapl", "rlhf"):
            rows[method] = {q: agg([r[method][q][metric] for r in runs]) for q in budgets}
        rows["rapl_minus_rlhf_same_q"] = {q: agg([r["rapl"][q][metric] - r["rlhf"][q][metric] for r in runs])
                                          for q in budgets}
        rows["rapl_minus_rlhf_double_q"] = {q: agg([r["rapl"][q][metric] - r["rlhf"][2 * q][metric] for r in runs])
                                            for q in budgets if 2 * q in budgets}
        rows["cross_embodiment"] = {m: agg([r["cross"][m][metric] for r in runs]) for m in ("rapl", "rlhf", "gt")}
        table[metric] = rows
    return table


def plot(summary: dict, budgets, path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ("rho_within", "rho_across")):
        rows = summary[metric]
        for method, colour in (("rapl", "tab:blue"), ("rlhf", "tab:orange")):
            mean = [rows[method][q]["mean"] for q in budgets]
            lo = [rows[method][q]["ci"][0] for q in budgets]
            hi = [rows[method][q]["ci"][1] for q in budgets]
            ax.plot(budgets, mean, "o-", color=colour, label=method.upper())
            ax.fill_between(budgets, lo, hi, color=colour, alpha=0.2)
        ax.axhline(rows["gt"]["mean"], color="k", ls="--", label="GT")
        ax.axhline(rows["untuned_ot"]["mean"], color="grey", ls=":", label="untuned encoder + OT")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("preference queries (triplets)")
        ax.set_ylabel(f"Spearman {metric.replace('rho_', 'rho ')}")
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(out: Path = Path("benchmarks/results"), quick: bool = False, args: BenchArgs | None = None) -> dict:
    torch.set_num_threads(1)
    a = args or (quick_args() if quick else BenchArgs())
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    console = Console()
    start = time.perf_counter()
    log = lambda msg: console.print(f"[{time.perf_counter() - start:6.0f}s] {msg}")  # noqa: E731
    result = {"args": asdict(a), "paper_table1": PAPER_TABLE1, "preferences": {}}
    for pref in a.preferences:
        runs = []
        for seed in a.seeds:  # the JSON is rewritten after every seed, so a cut-short run keeps what it finished
            runs.append(run_seed(pref, seed, a, log))
            summary = summarise(runs, a.budgets)
            result["preferences"][pref] = {"summary": summary, "runs": runs, "seeds_done": len(runs)}
            result["duration_s"] = round(time.perf_counter() - start, 1)
            (out / "bench_rapl_queries.json").write_text(json.dumps(result, indent=2, default=float))
        plot(summary, list(a.budgets), out / f"rapl_queries_{pref}.png",
             f"2D sweep ({a.train_env.split('/')[-1]}), preference '{pref}', {len(a.seeds)} seeds, 95% CI")
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--preference", action="append", help="Only these preferences (repeat; default: both).")
    parsed = parser.parse_args()
    chosen = quick_args() if parsed.quick else BenchArgs()
    if parsed.preference:
        chosen.preferences = tuple(parsed.preference)
    main(parsed.out, args=chosen)
