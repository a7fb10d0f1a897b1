"""What raises the learned rewards' held-out within-video Spearman rho on Franka Group: a sweep of the reward budget.

Reward learning itself takes seconds; the budget `franka_rapl.SMALL` started from (30 pool videos, 40 / 80 triplet
queries, 100 time-contrastive pretraining steps of the 64 px CNN, 15 epochs) left RAPL and RLHF at rho ~0.2, the
level of the content-free time reward. Each setting below changes one part of that budget (or all of them), and
is scored on the same 50 held-out Group videos (10 per pool policy, the paper's 50) over `--seeds`, with RAPL,
RLHF, GT and the time reward side by side. Pool videos come from the video cache (`franka_video_cache.py`).

Run: python -m aligngym.benchmarks.rapl.franka_reward_budget [--seeds 0 1 2] [--settings base queries ...]
   (writes benchmarks/results/rapl_franka_reward_budget.json and .png)
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, replace
from pathlib import Path

import aligngym  # noqa: F401,I001  (first: headless GL for MuJoCo; registers the ids)
import numpy as np

from aligngym.agents.rapl import spearman_within
from aligngym.benchmarks.rapl import franka_rapl
from aligngym.benchmarks.rapl.franka_video_cache import VideoCache
from aligngym.benchmarks.stats import bootstrap_ci

ENV_ID = "AlignGym/RaplFrankaGroup-v0"
HELD_OUT_PER_POLICY = 10
"""held-out videos per pool policy (5 policies: 50 videos, the paper's 50)"""
SETTINGS = {
    "base": franka_rapl.SMALL,
    "queries": replace(franka_rapl.SMALL, queries=150, epochs=60),
    "pretrain": replace(franka_rapl.SMALL, pretrain_steps=1000),
    "pool": replace(franka_rapl.SMALL, pool_per_policy=24),
    "all": replace(franka_rapl.SMALL, pool_per_policy=24, queries=150, epochs=60, pretrain_steps=1000),
    "mean_teacher": replace(franka_rapl.SMALL, pool_per_policy=24, teacher="rapl"),
    "mean_teacher_all": replace(franka_rapl.SMALL, pool_per_policy=24, queries=150, epochs=60, pretrain_steps=1000,
                                teacher="rapl"),
}
"""one change each from SMALL; "queries" is the paper's 150 / 300 queries (with epochs to use them), "all" all;
"mean_teacher": a user who ranks by the episode's mean cost (preset `rapl`) instead of its last step's"""
METHODS = ("RAPL", "RLHF", "GT", "Time")


def run(settings: list[str], seeds: list[int], save, previous: dict | None = None) -> dict:
    """Runs `settings`; the other settings of `previous` (an earlier run on the same seeds) are kept."""
    import torch

    torch.set_num_threads(1)  # a shared 2-core machine
    cache = VideoCache()
    held_out = franka_rapl.pool(cache, ENV_ID, HELD_OUT_PER_POLICY, 100_000)
    result = {"env_id": ENV_ID, "held_out_videos": len(held_out), "seeds": seeds, "settings": {}}
    if previous and previous["seeds"] == seeds and previous["held_out_videos"] == len(held_out):
        result["settings"] = {k: v for k, v in previous["settings"].items() if k not in settings}
    for name in settings:
        args = SETTINGS[name]
        train = franka_rapl.pool(cache, ENV_ID, args.pool_per_policy, 0)
        entry = {"args": asdict(args), "train_videos": len(train), "rho": {m: [] for m in METHODS},
                 "rho_preference_only": {m: [] for m in METHODS}, "learn_s": []}
        result["settings"][name] = entry
        for seed in seeds:
            t = time.time()
            models = franka_rapl.learn_rewards(train, args, seed)
            entry["learn_s"].append(round(time.time() - t, 1))
            for method in METHODS:
                rewards = models[method].rewards(held_out)
                entry["rho"][method].append(spearman_within(rewards, held_out)["rho_within"])
                entry["rho_preference_only"][method].append(
                    spearman_within(rewards, franka_rapl.preference_only(held_out))["rho_within"])
            print(f"{name} seed {seed}: " + ", ".join(f"{m} {entry['rho'][m][-1]:.3f}" for m in METHODS)
                  + f" ({entry['learn_s'][-1]} s)", flush=True)
            save(result)
    return result


def summary(values: list[float]) -> dict:
    low, high = bootstrap_ci(values)
    return {"mean": float(np.mean(values)), "ci_low": low, "ci_high": high}


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(result["settings"])
    fig, ax = plt.subplots(figsize=(6, 3))
    for k, method in enumerate(("RAPL", "RLHF", "Time")):
        stats = [summary(result["settings"][n]["rho"][method]) for n in names]
        means = np.array([s["mean"] for s in stats])
        err = np.abs(np.array([[s["ci_low"], s["ci_high"]] for s in stats]).T - means)
        ax.bar(np.arange(len(names)) + (k - 1) * 0.27, means, 0.27, yerr=err, capsize=2, label=method)
    labels = [n.replace("_", "\n") + f"\n({result['settings'][n]['train_videos']} videos)" for n in names]
    ax.set_xticks(range(len(names)), labels, fontsize=7)
    ax.set_ylabel("held-out rho within (Group)")
    ax.axhline(0, color="k", lw=0.5)
    ax.legend(fontsize=7)
    ax.set_title(f"reward budget sweep, {len(result['seeds'])} seeds, {result['held_out_videos']} held-out videos",
                 fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(settings: list[str], seeds: list[int], out: Path) -> dict:
    def save(result: dict) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2, default=float) + "\n")

    result = run(settings, seeds, save, json.loads(out.read_text()) if out.exists() else None)
    for name, entry in result["settings"].items():
        entry["summary"] = {m: summary(v) for m, v in entry["rho"].items()}
        cells = ", ".join(f"{m} {s['mean']:.2f} [{s['ci_low']:.2f}, {s['ci_high']:.2f}]"
                          for m, s in entry["summary"].items())
        print(f"{name}: {cells}")
    save(result)
    plot(result, out.with_suffix(".png"))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=franka_rapl.RESULTS / "rapl_franka_reward_budget.json")
    cli = parser.parse_args()
    main(cli.settings, cli.seeds, cli.out)
