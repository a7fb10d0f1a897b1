"""RAPL vs RLHF vs GT (and TCC) against the number of preference queries (the paper's Table 1 ordering, on the 2D
sweep).

For each preference and seed: a pool of videos (the scripted sweeper with random styles, plus smooth random
actions) is collected on `train_env`; a small CNN is pretrained on the pool's frames (time-contrastive); the
simulated user (preset `teacher`) answers `max(budgets)` triplet queries and gives its 6 preferred videos as
demos; RAPL and RLHF are fitted on the first q answers for each budget q (nested budgets, so a larger budget sees
the same answers plus more). Scored on held-out videos of `train_env` (Spearman rho within trajectories, every
4th step, and across trajectories) and, for cross-embodiment, on videos of `cross_env`. The paper's ordering is
checked per seed: RAPL(q) - RLHF(q) and RAPL(q) - RLHF(2q), with bootstrap CIs over seeds. Query-free
baselines, once per seed: GT, the untuned encoder + OT, and TCC (a head trained by temporal cycle-consistency on
the pool's scripted videos, the task demonstrations, + the same OT reward against the same demos).

`--baselines-only` runs just the query-free baselines and folds them into an existing bench_rapl_queries.json
in `--out` (same videos and backbone per seed: the untuned baseline's scores must come out identical, which is
checked), so TCC joins a finished RAPL/RLHF run without refitting them.

    python -m aligngym.benchmarks.rapl.bench_rapl_queries [--quick | --small] [--baselines-only] [--out benchmarks/results]
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from rich.console import Console

from aligngym.agents.rapl import SimulatedUser, collect_episodes, spearman_across, spearman_within
from aligngym.agents.rapl.encoder import EncoderArgs, pretrain_backbone
from aligngym.agents.rapl.rapl import Args, GTReward, OTReward, RAPLReward, preferred_demos
from aligngym.agents.rapl.rlhf import BTReward, RLHFArgs
from aligngym.agents.rapl.scripted import sweeper
from aligngym.agents.rapl.tcc import TCCArgs, TCCReward
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
    tcc_steps: int = 500
    """TCC head training steps"""
    extra: dict = field(default_factory=dict)


def quick_args() -> BenchArgs:
    return BenchArgs(preferences=("group",), seeds=(0, 1), budgets=(10, 20), pool_scripted=16, pool_random=8,
                     test_videos=8, cross_videos=6, epochs=5, pretrain_steps=20, tcc_steps=20)


def small_args() -> BenchArgs:
    """5 seeds at about a sixth of the full cost: what a busy shared 2-core CPU runs at nice 19 in under an hour."""
    return BenchArgs(budgets=(20, 40, 80), pool_scripted=40, pool_random=20, test_videos=30, cross_videos=15,
                     epochs=25, pretrain_steps=100, tcc_steps=150)


def score(model, feats, episodes) -> dict:
    rewards = [model.reward_features(f) for f in feats] if not isinstance(model, GTReward) else model.rewards(episodes)
    return {**spearman_within(rewards, episodes), **spearman_across(rewards, episodes)}


def run_seed(pref: str, seed: int, a: BenchArgs, log) -> dict:
    kw = {"variant": a.variant, "preference": pref}
    base = 100_000 * seed
    scripted = collect_episodes(a.train_env, sweeper, a.pool_scripted, base, **kw)
    pool = scripted + collect_episodes(a.train_env, "random", a.pool_random, base + 10_000, **kw)
    test = collect_episodes(a.train_env, sweeper, a.test_videos, base + 20_000, **kw)
    cross = collect_episodes(a.cross_env, sweeper, a.cross_videos, base + 30_000, **kw)
    log(f"{pref} seed {seed}: videos collected")
    backbone = pretrain_backbone([e.frames for e in pool], EncoderArgs(pretrain_steps=a.pretrain_steps, seed=seed))
    test_feats = [backbone.features(e.frames) for e in test]
    cross_feats = [backbone.features(e.frames) for e in cross]
    user = SimulatedUser(a.teacher, budget=max(a.budgets, default=1), seed=seed)
    demos = preferred_demos(pool, user, 6)
    answers = user.label(pool, max(a.budgets)) if a.budgets else []
    tcc = TCCReward(backbone, Args(seed=seed), TCCArgs(steps=a.tcc_steps)).fit(scripted, demos)
    out = {"seed": seed, "queries_used": user.queries_used, "answered": len(answers),
           "pool_cost": [e.cost for e in pool], "demo_cost": [d.cost for d in demos],
           "gt": score(GTReward(), None, test), "untuned_ot": score(OTReward(backbone).set_demos(demos), test_feats, test),
           "tcc": score(tcc, test_feats, test), "rapl": {}, "rlhf": {},
           "cross": {"tcc": score(tcc, cross_feats, cross), "gt": score(GTReward(), None, cross)}}
    log(f"{pref} seed {seed}: TCC {out['tcc']['rho_within']:.2f} (within), {out['tcc']['rho_across']:.2f} (across)")
    for q in a.budgets:
        taken = answers[:q]
        rapl = RAPLReward(backbone, Args(epochs=a.epochs, seed=seed)).fit(pool, taken, demos)
        rlhf = BTReward(backbone, RLHFArgs(epochs=a.epochs, seed=seed)).fit(pool, taken)
        out["rapl"][q], out["rlhf"][q] = score(rapl, test_feats, test), score(rlhf, test_feats, test)
        if q == max(a.budgets):
            out["cross"].update(rapl=score(rapl, cross_feats, cross), rlhf=score(rlhf, cross_feats, cross))
        log(f"{pref} seed {seed} q={q}: RAPL {out['rapl'][q]['rho_within']:.2f} / RLHF {out['rlhf'][q]['rho_within']:.2f}"
            f" (within); {out['rapl'][q]['rho_across']:.2f} / {out['rlhf'][q]['rho_across']:.2f} (across)")
    return out


def summarise(runs: list[dict], budgets) -> dict:
    def agg(values):
        v = np.asarray([x for x in values if np.isfinite(x)], dtype=float)
        lo, hi = bootstrap_ci(v)
        return {"mean": float(v.mean()) if len(v) else float("nan"), "ci": [lo, hi], "n": int(len(v))}

    table = {}
    baselines = [m for m in ("gt", "untuned_ot", "tcc") if all(m in r for r in runs)]
    for metric in ("rho_within", "rho_across"):
        rows = {m: agg([r[m][metric] for r in runs]) for m in baselines}
        for method in ("rapl", "rlhf"):
            rows[method] = {q: agg([r[method][q][metric] for r in runs]) for q in budgets}
        rows["rapl_minus_rlhf_same_q"] = {q: agg([r["rapl"][q][metric] - r["rlhf"][q][metric] for r in runs])
                                          for q in budgets}
        rows["rapl_minus_rlhf_double_q"] = {q: agg([r["rapl"][q][metric] - r["rlhf"][2 * q][metric] for r in runs])
                                            for q in budgets if 2 * q in budgets}
        if "tcc" in baselines:
            rows["rapl_minus_tcc"] = {q: agg([r["rapl"][q][metric] - r["tcc"][metric] for r in runs]) for q in budgets}
        rows["cross_embodiment"] = {m: agg([r["cross"][m][metric] for r in runs])
                                    for m in ("rapl", "rlhf", "tcc", "gt") if all(m in r["cross"] for r in runs)}
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
        if "tcc" in rows:
            ax.axhline(rows["tcc"]["mean"], color="tab:green", ls="-.", label="TCC + OT")
        ax.set_xscale("log", base=2)
        ax.set_xlabel("preference queries (triplets)")
        ax.set_ylabel(f"Spearman {metric.replace('rho_', 'rho ')}")
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# what makes a seed's videos and backbone (two runs that agree on these score the same videos with the same encoder)
SAME_VIDEOS = ("seeds", "train_env", "cross_env", "variant", "pool_scripted", "pool_random", "test_videos",
               "cross_videos", "teacher", "pretrain_steps")


def merge_baselines(path: Path, baselines: dict) -> dict:
    """Folds a `--baselines-only` run's TCC scores into the finished run at `path`, re-summarised and re-plotted.
    Refuses runs that differ in their videos or backbone, checked by the untuned encoder's scores per seed."""
    main_run = json.loads(path.read_text())
    differ = [k for k in SAME_VIDEOS if main_run["args"].get(k) != baselines["args"].get(k)]
    if differ:
        raise ValueError(f"{path} was run with other videos or backbone ({', '.join(differ)} differ); rerun it whole.")
    budgets = [int(q) for q in main_run["args"]["budgets"]]
    for pref, data in baselines["preferences"].items():
        if pref not in main_run["preferences"]:
            continue
        extra = {b["seed"]: b for b in data["runs"]}
        runs = [r for r in main_run["preferences"][pref]["runs"] if r["seed"] in extra]
        for run in runs:
            b = extra[run["seed"]]
            gap = max(abs(run["untuned_ot"][m] - b["untuned_ot"][m]) for m in ("rho_within", "rho_across"))
            if gap > 1e-9:
                raise ValueError(f"{pref} seed {run['seed']}: the untuned encoder scores {gap:.3g} differently, so "
                                 "the videos or the backbone are not the same; rerun the benchmark whole.")
            for method in ("rapl", "rlhf"):
                run[method] = {int(q): v for q, v in run[method].items()}
            run["tcc"], run["cross"]["tcc"] = b["tcc"], b["cross"]["tcc"]
        summary = summarise(runs, budgets)
        main_run["preferences"][pref].update(summary=summary, runs=runs, seeds_done=len(runs))
        plot(summary, budgets, path.parent / f"rapl_queries_{pref}.png",
             f"2D sweep ({main_run['args']['train_env'].split('/')[-1]}), preference '{pref}', {len(runs)} seeds, "
             "95% CI")
    main_run["args"]["tcc_steps"] = baselines["args"]["tcc_steps"]
    main_run["baselines_merged"] = {"duration_s": baselines["duration_s"],
                                    "check": "untuned-encoder scores identical per seed (same videos and backbone)"}
    path.write_text(json.dumps(main_run, indent=2, default=float))
    return main_run


def main(out: Path = Path("benchmarks/results"), quick: bool = False, args: BenchArgs | None = None,
         baselines_only: bool = False) -> dict:
    torch.set_num_threads(1)
    a = args or (quick_args() if quick else BenchArgs())
    if baselines_only:
        a = replace(a, budgets=())
    name = "bench_rapl_queries_baselines.json" if baselines_only else "bench_rapl_queries.json"
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
            (out / name).write_text(json.dumps(result, indent=2, default=float))
        if a.budgets:
            plot(summary, list(a.budgets), out / f"rapl_queries_{pref}.png",
                 f"2D sweep ({a.train_env.split('/')[-1]}), preference '{pref}', {len(a.seeds)} seeds, 95% CI")
    if baselines_only and (out / "bench_rapl_queries.json").exists():
        return merge_baselines(out / "bench_rapl_queries.json", json.loads(json.dumps(result, default=float)))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--small", action="store_true", help="5 seeds, smaller pools and budgets (small_args)")
    parser.add_argument("--preference", action="append", help="Only these preferences (repeat; default: both).")
    parser.add_argument("--baselines-only", action="store_true",
                        help="Only GT, untuned OT and TCC, folded into an existing bench_rapl_queries.json in --out.")
    parsed = parser.parse_args()
    chosen = quick_args() if parsed.quick else small_args() if parsed.small else BenchArgs()
    if parsed.preference:
        chosen.preferences = tuple(parsed.preference)
    main(parsed.out, args=chosen, baselines_only=parsed.baselines_only)
