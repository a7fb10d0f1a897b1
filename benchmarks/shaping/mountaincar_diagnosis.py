"""Why BARFI (REINFORCE inside) does or does not keep MountainCar's good heuristic (horizon 500) and recover from
its bad one (the valley bonus, horizon 2000) under a given outer loop: per seed, the success curve, the
auxiliary return (for `bad`: steps spent in the valley per episode), phi1 where the
heuristic pays, phi2 and the learned discount over training, and per outer step the size of the primary (J) part of
the step against the L2 pull and whether any episode of its group reached the goal (`Barfi.trace`). Also how often a
uniform random policy reaches the goal at each horizon: the primary signal there is at the start of training.

    python -m aligngym.benchmarks.shaping.mountaincar_diagnosis --out benchmarks/results [--config NAME ...]

Each config runs 5 seeds in batches of 16 on the table's MountainCar policy (`MOUNTAINCAR_LEARNER`, unless the
config sets its fields) in its settings (default the table's `here` budget: good 1008 episodes at horizon 500, bad
512 at 2000; SETTINGS) and is merged into shaping_mountaincar_diagnosis.json; the .md is the summary docs/shaping.md
reads. Runs are paired with the table's only when both ran the same policy (runs saved before 30 Nov ran the MLP).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from aligngym.benchmarks.shaping.scoring import paired_verdict
from aligngym.benchmarks.shaping.table import MOUNTAINCAR_LEARNER
from aligngym.benchmarks.stats import bootstrap_ci, format_cell

ENV_ID = "AlignGym/ShapingMountainCar-v1"
# setting -> (heuristic, env kwargs, episodes): the table's `here` budget, and the good heuristic at the authors'
# horizon, where primary-only reaches the goal too (its runs are the bad setting's: primary-only reads no heuristic)
SETTINGS = {"good": ("good", {"horizon": 500}, 1000), "bad": ("bad", {"horizon": 2000}, 500),
            "good at 2000": ("good", {"horizon": 2000}, 500), "bad, 1000 episodes": ("bad", {"horizon": 2000}, 1000)}
# name -> Args overrides of BARFI's outer loop (agents/shaping/args.py); `mode` and `aux_scale` (the env's) run
# another reward mode or heuristic scale instead, to check a mechanism
CONFIGS = {
    # the authors' loop as the table runs it: phi starts at 0 (primary-only), as their reward starts near 0
    "authors_mountaincar": {"preset": "authors_mountaincar"},
    # the same loop started at the naive sum (phi1 = 1), as the table ran it before `phi_init`
    "authors_mountaincar, phi_init naive": {"preset": "authors_mountaincar", "phi_init": "naive"},
    "authors_mountaincar, phi_init naive, reward_l2 0": {"preset": "authors_mountaincar", "phi_init": "naive",
                                                         "reward_l2": 0.0},
    "default (ours)": {},
    # does a heuristic 100x weaker still mislead? REINFORCE normalises its advantages, so when every primary
    # return of a batch is 0 whatever the heuristic adds up to becomes a full-size step, at any scale
    "naive, aux_scale 0.01": {"mode": "naive", "aux_scale": 0.01, "settings": ("bad",)},
    # at most 0.2 per episode: less than the goal's +1
    "naive, aux_scale 0.0001": {"mode": "naive", "aux_scale": 0.0001, "settings": ("bad",)},
    # the same without the normalisation (its own primary-only beside it: the learner differs from the table's)
    "naive, aux_scale 0.0001, advantages not normalised": {"mode": "naive", "aux_scale": 0.0001,
                                                           "normalise_advantages": False, "settings": ("bad",)},
    "primary, advantages not normalised": {"mode": "primary", "normalise_advantages": False, "settings": ("bad",)},
    # twice the table's budget with the valley bonus: does BARFI catch up with primary-only given time?
    "authors_mountaincar, phi_init naive, 1000 episodes": {"preset": "authors_mountaincar", "phi_init": "naive",
                                                           "settings": ("bad, 1000 episodes",)},
    "primary, 1000 episodes": {"mode": "primary", "settings": ("bad, 1000 episodes",)},
    "authors_mountaincar, phi_init naive, good at 2000": {"preset": "authors_mountaincar", "phi_init": "naive",
                                                          "settings": ("good at 2000",)},
    "naive, good at 2000": {"mode": "naive", "settings": ("good at 2000",)},
    # the good heuristic where goals do come (the authors' horizon): does J, started at 0, raise phi1?
    "authors_mountaincar, good at 2000": {"preset": "authors_mountaincar", "settings": ("good at 2000",)},
    # the discount fixed at 0.99 (gamma_lr 0, also in the authors' sweep): does the learned discount's drift cost
    # the good heuristic's benefit at their horizon, and the recovery from the bad one?
    "authors_mountaincar, discount fixed": {"preset": "authors_mountaincar", "discount_lr": 0.0,
                                            "settings": ("good at 2000", "bad")},
}


def _seed_run(job: tuple) -> dict:
    from aligngym.agents.shaping.args import make_args
    from aligngym.agents.shaping.train import train

    config, setting, seed = job
    heuristic, env_kwargs, episodes = SETTINGS[setting]
    overrides = dict(CONFIGS[config])
    mode, scale = overrides.pop("mode", "barfi"), overrides.pop("aux_scale", 1.0)
    overrides.pop("settings", None)
    learner = {**MOUNTAINCAR_LEARNER, **{k: overrides.pop(k) for k in MOUNTAINCAR_LEARNER if k in overrides}}
    args = make_args(overrides.pop("preset", "default"), num_envs=16, **learner, **overrides)
    result = train(ENV_ID, "reinforce", mode, episodes=episodes, seed=seed,
                   env_kwargs={**env_kwargs, "heuristic": heuristic, "aux_scale": scale}, args=args)
    steps = result.barfi.trace if result.barfi else [{"grad_j": np.nan, "grad_l2": np.nan, "goals": np.nan}]
    per_batch = max(1, len(steps) // len(result.episodes))  # outer steps per batch
    trace = np.resize(np.array([[t["grad_j"], t["grad_l2"], t["goals"]] for t in steps]),
                      (len(result.episodes), per_batch, 3))
    ratio = np.where(trace[..., 1] > 0, trace[..., 0] / np.maximum(trace[..., 1], 1e-12), np.nan)
    return {"config": config, "heuristic": setting, "seed": seed, "learner": learner, "episodes": result.episodes,
            "success": result.success, "aux_return": result.aux_return,
            "params": {k: [p[k] for p in result.reward_params] or [np.nan] * len(result.episodes)
                       for k in ("phi1_where_aux", "phi2", "gamma")},
            "groups_with_goal": (trace[..., 2] > 0).mean(1).tolist(),  # fraction of outer steps with dJ != 0
            "grad_j": trace[..., 0].mean(1).tolist(), "grad_l2": trace[..., 1].mean(1).tolist(),
            "j_over_l2_median": [float(np.nanmedian(r)) if np.isfinite(r).any() else None for r in ratio]}


def random_success(horizon: int, episodes: int = 64, seed: int = 0) -> float:
    """Fraction of uniform-random episodes that reach the goal within `horizon` steps."""
    import gymnasium as gym

    import aligngym  # noqa: F401  (registers the ids)

    envs = gym.make_vec(ENV_ID, num_envs=episodes, vectorization_mode="vector_entry_point", horizon=horizon)
    envs.reset(seed=seed)
    envs.action_space.seed(seed)
    done, success = np.zeros(episodes, bool), np.zeros(episodes)
    while not done.all():
        _, _, term, trunc, _ = envs.step(envs.action_space.sample())
        success = np.where(~done & term, 1.0, success)
        done |= term | trunc
    envs.close()
    return float(success.mean())


def run(configs, workers: int = 2, seeds=range(5)) -> list[dict]:
    jobs = [(c, h, s) for c in configs for h in CONFIGS[c].get("settings", ("good", "bad")) for s in seeds]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(_seed_run, jobs))


def markdown(runs: list[dict], table: dict, random: dict) -> str:
    """Per config and heuristic: final success (last fifth) against the table's primary-only and naive, phi over
    training, and what drove the outer steps early (first 10 batches) and late (last 10)."""
    lines = ["Random policy: success " + ", ".join(f"{v:.3f} at horizon {k}" for k, v in random.items()) + ".", "",
             ("| config | heuristic | final success per seed | mean [95% CI] | vs primary-only (paired t) | vs naive "
              "(paired t) | phi1 where aux: batch 1 / 4 / 16 / end | phi2 end | gamma end | outer steps with a goal "
              "in their group, first 10 / last 10 batches | J part / L2 pull (median), first 10 / last 10 |"),
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    # the table's inner-learner overrides; runs saved before they existed (no "learner") ran the MLP policy
    table_learner = {k: v for k, v in table["args"].items() if k in MOUNTAINCAR_LEARNER}
    for config in dict.fromkeys(r["config"] for r in runs):
        for h in SETTINGS:
            rs = sorted((r for r in runs if r["config"] == config and r["heuristic"] == h), key=lambda r: r["seed"])
            if not rs:
                continue
            tail = max(1, len(rs[0]["success"]) // 5)
            final = np.array([np.mean(r["success"][-tail:]) for r in rs])
            cells = []
            learner = rs[0].get("learner", {})
            # the table's per-seed finals, or None when it ran another policy (pairing would compare two learners)
            table_final = lambda setting, base: (  # noqa: E731
                np.array(table["heuristics"][setting][base]["final_success"]["per_seed"][:len(rs)])
                if learner == table_learner else None)
            for base in ("reinforce/primary", "reinforce/naive"):
                primary = base.endswith("primary")
                if h == "good at 2000":  # primary-only: the bad setting's runs; naive: this file's
                    other = table_final("bad", base) if primary else final_of(runs, "naive, good at 2000", h, learner)
                elif h == "bad, 1000 episodes":  # primary-only: this file's; no naive run at this budget
                    other = final_of(runs, "primary, 1000 episodes", h, learner) if primary else None
                else:
                    other = table_final(h, base)
                if other is None:
                    cells.append("-")
                    continue
                v = paired_verdict(final - other, float(other.mean()))
                cells.append(f"{v['difference']:+.2f} [{v['ci_low']:+.2f}, {v['ci_high']:+.2f}] {v['outcome']}")
            low, high = bootstrap_ci(final)
            phi1 = np.array([r["params"]["phi1_where_aux"] for r in rs], dtype=float)
            at = lambda a, i: f"{np.nanmean(a[:, i]):.2f}" if np.isfinite(a[:, i]).any() else "-"  # noqa: E731
            early_goal = np.mean([r["groups_with_goal"][:10] for r in rs])
            late_goal = np.mean([r["groups_with_goal"][-10:] for r in rs])
            ratio = lambda part: np.array([x for r in rs for x in part(r["j_over_l2_median"]) if x is not None])  # noqa: E731
            early, late = ratio(lambda v: v[:10]), ratio(lambda v: v[-10:])
            med = lambda a: f"{np.median(a):.2f}" if len(a) else "no L2"  # noqa: E731
            lines.append(
                f"| {config} | {SETTINGS[h][0]} (horizon {SETTINGS[h][1]['horizon']}) | {' '.join(f'{x:.2f}' for x in final)} | "
                f"{format_cell({'mean': final.mean(), 'ci_low': low, 'ci_high': high}, '.2f')} | {cells[0]} | "
                f"{cells[1]} | {at(phi1, 0)} / {at(phi1, 3)} / {at(phi1, 15)} / {at(phi1, -1)} | "
                f"{np.mean([r['params']['phi2'][-1] for r in rs]):.2f} | "
                f"{np.mean([r['params']['gamma'][-1] for r in rs]):.3f} | {early_goal:.3f} / {late_goal:.3f} | "
                f"{med(early)} / {med(late)} |")
    return "\n".join(lines) + "\n"


def final_of(runs: list[dict], config: str, setting: str, learner: dict):
    """Per-seed final success (last fifth) of a config's runs in a setting on `learner`'s policy, or None."""
    rs = sorted((r for r in runs if r["config"] == config and r["heuristic"] == setting
                 and r.get("learner", {}) == learner), key=lambda r: r["seed"])
    return np.array([np.mean(r["success"][-max(1, len(r["success"]) // 5):]) for r in rs]) if rs else None


def main(out: Path, configs, workers: int = 2) -> str:
    path = out / "shaping_mountaincar_diagnosis.json"
    saved = json.loads(path.read_text()) if path.exists() else {"runs": [], "random_success": {}}
    fresh = run(configs, workers)
    saved["runs"] = [r for r in saved["runs"] if r["config"] not in configs] + fresh
    saved["random_success"] = {str(h): random_success(h) for h in (500, 2000)}
    path.write_text(json.dumps(saved))
    table = json.loads((out / "shaping_table_MountainCar.json").read_text())
    text = markdown(saved["runs"], table, saved["random_success"])
    (out / "shaping_mountaincar_diagnosis.md").write_text(text)
    return text


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--config", action="append", choices=tuple(CONFIGS), help="Repeat; default: all.")
    parser.add_argument("--workers", type=int, default=2)
    parsed = parser.parse_args()
    print(main(parsed.out, tuple(parsed.config or CONFIGS), parsed.workers))
