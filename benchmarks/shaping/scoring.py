"""Scoring for the shaping family: train each method on each heuristic over several seeds and report the
primary return as learning curves with bootstrap confidence intervals.

A method is `algo/mode` or `algo/barfi:VARIANT`, e.g. `reinforce/primary`, `reinforce/naive`,
`reinforce/pbrs`, `reinforce/dpba`, `reinforce/barfi`, `actor_critic/barfi:first_order`. Two summaries per run:
`auc` (the mean primary return over the whole training curve: how fast it learns) and `final` (the mean
over the last fifth of the curve: where it ends up). Verdicts against primary-only need at least
`MIN_SEEDS_FOR_VERDICT` seeds. BARFI runs also keep phi1, phi2 and the discount over training and, on envs with
2-d observations, phi1(s) and phi2(s) on a grid at the end (plotted as heat maps).
"""
from __future__ import annotations

import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from aligngym.benchmarks.record import git_hash
from aligngym.benchmarks.stats import bootstrap_ci, format_cell

DEFAULT_METHODS = ("reinforce/primary", "reinforce/naive", "reinforce/pbrs", "reinforce/barfi")
MIN_SEEDS_FOR_VERDICT = 5
EQUIVALENCE_MARGIN = 0.01  # a difference under 1% of primary-only's |mean| is no win or loss, however certain
# How each training seed seeds its envs (rollout.env_seeds). Results made under another scheme are not merged with
# these: before, seed s gave env i the seed s + i, so seeds 0-4 shared 60 of their 64 env streams.
SEEDING = "SeedSequence"
GRID_POINTS = 25  # phi heat maps: GRID_POINTS x GRID_POINTS states


def parse_method(method: str) -> dict:
    """`algo/mode[:variant]` -> kwargs of `train`; bad names raise ValueError naming the allowed ones."""
    from aligngym.agents.shaping.args import VARIANTS
    from aligngym.agents.shaping.train import ALGOS, MODES

    algo, _, rest = method.partition("/")
    mode, _, variant = rest.partition(":")
    if algo not in ALGOS or mode not in MODES or (variant and (mode != "barfi" or variant not in VARIANTS)):
        raise ValueError(f"Unknown method {method!r}; use ALGO/MODE with ALGO in {', '.join(ALGOS)}, MODE in "
                         f"{', '.join(MODES)}, optionally barfi:VARIANT with VARIANT in {', '.join(VARIANTS)}.")
    return {"algo": algo, "mode": mode, "variant": variant}


def summarise(per_seed: np.ndarray) -> dict:
    """Mean and 95% bootstrap CI over the seeds with a number (NaN, e.g. phi1 where no aux reward was paid, is
    left out and stored as null); mean None when no seed has one."""
    per_seed = np.asarray(per_seed, dtype=float)
    finite = per_seed[np.isfinite(per_seed)]
    low, high = bootstrap_ci(finite)
    number = lambda v: float(v) if np.isfinite(v) else None  # noqa: E731  (strict JSON: no NaN)
    return {"mean": number(np.mean(finite)) if len(finite) else None, "ci_low": number(low), "ci_high": number(high),
            "per_seed": [number(v) for v in per_seed]}


def _nanmean_curve(rows: list[list[float]]) -> list[float | None]:
    """Mean over seeds per batch, ignoring NaN; None where no seed has a number."""
    rows = np.asarray(rows, dtype=float)
    counts = np.isfinite(rows).sum(0)
    means = np.where(np.isfinite(rows), rows, 0.0).sum(0) / np.maximum(counts, 1)
    return [float(m) if c else None for m, c in zip(means, counts)]


def phi_grid(reward_fn, obs_space) -> dict | None:
    """phi1(s) and phi2(s) on a grid over a 2-d Box observation space (None for other spaces)."""
    import torch

    if len(getattr(obs_space, "shape", ())) != 1 or obs_space.shape[0] != 2:
        return None
    xs, ys = (np.linspace(obs_space.low[i], obs_space.high[i], GRID_POINTS) for i in range(2))
    points = np.stack(np.meshgrid(xs, ys), -1).astype(np.float32)  # (y, x, 2)
    with torch.no_grad():
        phi = reward_fn.phi(torch.as_tensor(points)).numpy()
    return {"x": xs.tolist(), "y": ys.tolist(), "phi1": phi[..., 0].tolist(), "phi2": phi[..., 1].tolist()}


def run_args(method: str, num_envs: int, overrides: dict):
    """The `Args` a method's runs train with: the preset and overrides, the batch size, BARFI's variant."""
    from aligngym.agents.shaping.args import make_args

    overrides = dict(overrides)
    args = make_args(overrides.pop("preset", "default"), **{"num_envs": num_envs, **overrides})
    variant = parse_method(method)["variant"]
    return replace(args, variant=variant) if variant else args


def _run(job: tuple) -> tuple:
    from aligngym.agents.shaping.train import train

    env_id, heuristic, method, seed, episodes, num_envs, env_kwargs, overrides = job
    parsed = parse_method(method)
    args = run_args(method, num_envs, overrides)
    result = train(env_id, parsed["algo"], parsed["mode"], episodes=episodes, seed=seed,
                   env_kwargs={**env_kwargs, "heuristic": heuristic}, args=args)
    grid = None
    if result.barfi is not None:
        import gymnasium as gym

        import aligngym  # noqa: F401  (registers the ids)
        grid = phi_grid(result.barfi.reward_fn, gym.spec(env_id).make().observation_space)
    return job, result.episodes, result.primary_return, result.success, result.reward_params, grid


def learning_curves(env_id: str = "AlignGym/ShapingGridWorld-v1", methods=DEFAULT_METHODS,
                    heuristics=("good", "bad"), seeds=range(5), episodes: int = 1500, num_envs: int = 64,
                    env_kwargs: dict | None = None, workers: int = 1, progress: bool = False,
                    args: dict | None = None) -> dict:
    """Trains every method x heuristic x seed; returns curves (mean and 95% CI over seeds) and summaries.
    `args` overrides fields of the learners' `Args` for every method (`{"preset": "reference"}` picks a preset);
    `num_envs` is the batch size unless `args` sets it."""
    from aligngym.agents.shaping.args import make_args

    for m in methods:
        parse_method(m)
    args = dict(args or {})
    make_args(args.get("preset", "default"), **{k: v for k, v in args.items() if k != "preset"})  # fail early
    num_envs = args.pop("num_envs", num_envs)
    jobs = [(env_id, h, m, s, episodes, num_envs, dict(env_kwargs or {}), args) for h in heuristics
            for m in methods for s in seeds]
    start, started_at = time.time(), datetime.now(timezone.utc).isoformat(timespec="seconds")
    if workers > 1:
        # spawn, not fork: a forked child of a process whose torch thread pool is running can hang
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            outputs = list(_progress(pool.map(_run, jobs), len(jobs), progress))
    else:
        outputs = list(_progress(map(_run, jobs), len(jobs), progress))
    runs = {}
    for (_, h, m, s, *_), xs, returns, success, reward_params, grid in outputs:
        runs.setdefault(h, {}).setdefault(m, []).append((xs, returns, success, reward_params, grid))
    out = {"env_id": env_id, "episodes": episodes, "num_envs": num_envs, "seeds": list(seeds),
           "methods": list(methods), "env_kwargs": dict(env_kwargs or {}), "args": args, "seconds": round(time.time() - start, 1),
           "provenance": {"git_hash": git_hash(), "started_at": started_at, "seeding": SEEDING}, "heuristics": {}}
    for h, by_method in runs.items():
        out["heuristics"][h] = {}
        for m, rs in by_method.items():
            curves = np.array([r[1] for r in rs])
            tail = max(1, curves.shape[1] // 5)
            low, high = bootstrap_ci(curves)
            out["heuristics"][h][m] = {
                "episodes": rs[0][0], "mean": curves.mean(0).tolist(), "ci_low": low.tolist(),
                "ci_high": high.tolist(), "auc": summarise(curves.mean(1)),
                "final": summarise(curves[:, -tail:].mean(1)),
                "final_success": summarise(np.array([r[2] for r in rs])[:, -tail:].mean(1)),
                "resolved_args": asdict(run_args(m, num_envs, args))}  # every field the runs read
            if rs[0][3]:  # BARFI: the learned phi1 (overall and where r_aux != 0), phi2 and discount
                names = list(rs[0][3][0])
                out["heuristics"][h][m]["reward_params"] = {k: summarise(np.array([r[3][-1][k] for r in rs]))
                                                            for k in names}
                out["heuristics"][h][m]["reward_params_curve"] = {  # mean over seeds, per batch
                    k: _nanmean_curve([[p[k] for p in r[3]] for r in rs]) for k in names}
            if rs[0][4]:
                grids = rs[0][4]
                out["heuristics"][h][m]["phi_grid"] = {
                    "x": grids["x"], "y": grids["y"],
                    **{k: np.mean([r[4][k] for r in rs], 0).tolist() for k in ("phi1", "phi2")}}
    out["verdict"] = verdict(out)
    return out


def _progress(iterable, total: int, show: bool):
    if not show:
        return iterable
    from tqdm import tqdm
    return tqdm(iterable, total=total, desc="training runs")


def paired_verdict(diff, baseline_mean: float, enough: bool = True) -> dict:
    """Verdict on per-seed paired differences (method - primary-only): the Student-t 95% interval of their mean
    (exact 5% error for normal differences at any n; the percentile bootstrap on 5 values called 15% of null draws
    wins or losses) and a practical-equivalence margin of EQUIVALENCE_MARGIN x |primary-only mean|. "wins"/"loses"
    need the interval to exclude 0 and the mean difference to exceed the margin; an interval that excludes 0 with a
    smaller mean is "ties (within margin)"."""
    from scipy import stats

    diff = np.asarray(diff, dtype=float)
    mean, n = float(diff.mean()), len(diff)
    half = float(stats.t.ppf(0.975, n - 1) * diff.std(ddof=1) / np.sqrt(n)) if n > 1 else float("inf")
    low, high, margin = mean - half, mean + half, EQUIVALENCE_MARGIN * abs(baseline_mean)
    if not enough:
        outcome = "too few seeds"
    elif low > 0 or high < 0:
        outcome = ("wins" if mean > 0 else "loses") if abs(mean) > margin else "ties (within margin)"
    else:
        outcome = "ties"
    return {"difference": mean, "ci_low": low, "ci_high": high, "margin": margin, "interval": "student_t",
            "outcome": outcome}


def seeds_of(results: dict, heuristic: str) -> list:
    """The seeds a heuristic was trained on: a table may give one heuristic more (`seeds_by_heuristic`)."""
    return results.get("seeds_by_heuristic", {}).get(heuristic, results["seeds"])


def verdict(results: dict) -> dict:
    """For each heuristic and method: does it beat, tie or lose to primary-only with the same learner
    (`algo/primary`)? Judged on `auc` (learning speed) and on `final` by `paired_verdict` on the per-seed
    differences (runs with the same seed share the env and policy seeds). With fewer than MIN_SEEDS_FOR_VERDICT
    seeds (per heuristic: `seeds_by_heuristic` where a table gave one heuristic more) the outcome is "too few
    seeds"."""
    out = {}
    for h, by_method in results["heuristics"].items():
        enough = len(seeds_of(results, h)) >= MIN_SEEDS_FOR_VERDICT
        out[h] = {}
        for m, r in by_method.items():
            baseline = m.split("/")[0] + "/primary"
            if m == baseline or baseline not in by_method:
                continue
            out[h][m] = {"baseline": baseline}
            for key in ("auc", "final"):
                base = by_method[baseline][key]
                diff = np.array(r[key]["per_seed"]) - np.array(base["per_seed"])
                out[h][m][key] = paired_verdict(diff, base["mean"], enough)
    return out


def plot(results: dict, out_dir: Path) -> list[Path]:
    """One PNG per heuristic, one panel per learner: primary return vs episodes per method, 95% CI bands."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    name = results["env_id"].split("/")[-1]
    paths = []
    for h, by_method in results["heuristics"].items():
        algos = sorted({m.split("/")[0] for m in by_method}, key=lambda a: a != "reinforce")
        fig, axes = plt.subplots(1, len(algos), figsize=(5.5 * len(algos), 4), sharey=True, squeeze=False)
        for ax, algo in zip(axes[0], algos):
            for m, r in by_method.items():
                if m.split("/")[0] == algo:
                    ax.plot(r["episodes"], r["mean"], label=m.split("/", 1)[1])
                    ax.fill_between(r["episodes"], r["ci_low"], r["ci_high"], alpha=0.2)
            ax.set(xlabel="training episodes", title=f"{algo}, heuristic={h}")
            ax.legend(fontsize=8)
        axes[0][0].set_ylabel("primary return (batch mean)")
        fig.suptitle(f"{name}: {len(seeds_of(results, h))} seeds, mean and 95% bootstrap CI", fontsize=10)
        fig.tight_layout()
        path = out_dir / f"shaping_curves_{name}_{h}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
        for m, r in by_method.items():
            if "reward_params_curve" in r:
                paths.append(_plot_phi(r, f"{name}, heuristic={h}, {m}",
                                       out_dir / f"shaping_phi_{name}_{h}_{m.replace('/', '_')}.png", plt))
    return paths


def _plot_phi(run: dict, title: str, path: Path, plt) -> Path:
    """phi1 (where the aux reward is paid), phi2 and the learned discount over training, mean over seeds; and
    phi1(s), phi2(s) at the end as heat maps when the observation is 2-d."""
    grid = run.get("phi_grid")
    fig, axes = plt.subplots(1, 3 if grid else 1, figsize=(15 if grid else 5.5, 4), squeeze=False)
    curve = run["reward_params_curve"]
    ax = axes[0][0]
    for key in ("phi1_where_aux", "phi1", "phi2"):
        ax.plot(run["episodes"], curve[key], label=key)
    ax.plot(run["episodes"], np.array(curve["gamma"]) * 10 - 9, "--", label="10 gamma - 9")
    ax.set(xlabel="training episodes", title="phi over training (mean over seeds)")
    ax.legend(fontsize=8)
    if grid:
        extent = (grid["x"][0], grid["x"][-1], grid["y"][0], grid["y"][-1])
        for ax, key in zip(axes[0][1:], ("phi1", "phi2")):
            image = ax.imshow(grid[key], origin="lower", extent=extent, aspect="auto", cmap="coolwarm")
            fig.colorbar(image, ax=ax)
            ax.set(title=f"{key}(s) at the end", xlabel="obs[0]", ylabel="obs[1]")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def sb3_comparison(env_id: str, heuristics=("bad", "good"), seeds=range(3), budget: int = 24576,
                   env_kwargs: dict | None = None, report=print, algo: str = "ppo") -> dict:
    """An SB3 learner (`algo`: ppo, sac or dqn) inside: primary only, naive sum and BARFI's first-order outer loop,
    all run by `train_barfi_sb3` and measured alike (mean primary return of fresh sampled episodes after each
    phase). `report(line)` is called once per setting as its runs finish."""
    from aligngym.agents.shaping.barfi_sb3 import Args, train_barfi_sb3

    kwargs = dict(env_kwargs or {})
    # primary only = no heuristic; naive = phi frozen at its start (1, 0) by a zero outer learning rate
    settings = [("none", f"{algo}/primary", 0.0)] + [(h, f"{algo}/{m}", lr) for h in heuristics
                                                     for m, lr in (("naive", 0.0), ("barfi", Args.outer_lr))]
    results = {"env_id": env_id, "algo": algo, "budget": budget, "seeds": list(seeds), "env_kwargs": kwargs,
               "runs": {}}
    for h, method, lr in settings:
        finals, phi1 = [], []
        for seed in seeds:
            r = train_barfi_sb3(env_id, {**kwargs, "heuristic": h}, seed, Args(algo, budget=budget, outer_lr=lr))
            finals.append(np.mean(r.primary_return[-max(1, len(r.primary_return) // 5):]))
            where_aux = r.reward_params[-1]["phi1_where_aux"]
            phi1.append(None if np.isnan(where_aux) else where_aux)  # None: the last outer batch was never paid aux
        run = {"final": summarise(np.array(finals)), "phi1_where_aux": phi1, "curve_steps": r.steps}
        results["runs"][f"{h}:{method}"] = run
        shown = ["—" if v is None else round(v, 2) for v in phi1]
        weights = f"  phi1 where aux != 0: {shown}" if h != "none" else ""
        report(f"{h:5s} {method:12s} final primary return {format_cell(run['final'], '.1f')}" + weights)
    return results


def table(results: dict):
    """The learning-curve results as a rich Table: mean [95% CI] of AUC and final, and the verdict."""
    from rich.table import Table

    out = Table(title=f"{results['env_id']}: primary return, mean [95% CI] over {len(results['seeds'])} seeds")
    for col in ("heuristic", "method", "AUC: mean over training", "final: last fifth", "vs primary (auc/final)"):
        out.add_column(col, no_wrap=col == "method")
    for h, by_method in results["heuristics"].items():
        for m, r in by_method.items():
            v = results["verdict"].get(h, {}).get(m)
            versus = f"{v['auc']['outcome']} / {v['final']['outcome']}" if v else "(baseline)"
            out.add_row(h, m, format_cell(r["auc"], ".1f"), format_cell(r["final"], ".1f"), versus)
    return out


def save(results: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, allow_nan=False))
    return path
