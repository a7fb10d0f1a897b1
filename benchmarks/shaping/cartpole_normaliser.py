"""Why BARFI started at phi = 0 loses ~12 return points to primary-only on CartPole with the bad heuristic, and
whether a floor on REINFORCE's advantage normaliser (`Args.advantage_floor`) removes it (issue 17).

Every run is traced: per inner update, whether the batch's primary returns were all equal (every episode at
500), the spread of the advantages before normalisation beside the mean |return-to-go| it is measured against,
and the size of the policy step (||delta theta||). Each learner is run for primary-only and BARFI
at the table's `here` CartPole budget (bad heuristic, 10 seeds x 1000 episodes in batches of 16,
`authors_cartpole`); BARFI is compared paired with primary-only under the same learner.

    python -m aligngym.benchmarks.shaping.cartpole_normaliser --out benchmarks/results   (~25 min on 2 free cores)

Writes shaping_cartpole_normaliser.{json,md}; docs/shaping.md reads the numbers.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from aligngym.benchmarks.shaping.scoring import paired_verdict, summarise
from aligngym.benchmarks.stats import format_cell

ENV = "AlignGym/ShapingCartPole-v1"
PRESET = "authors_cartpole"
# learner name -> Args overrides (the same for every method)
LEARNERS = {"batch std (old)": {}, "floor 0.05": {"advantage_floor": 0.05},
            "not normalised": {"normalise_advantages": False}}
MODES = ("primary", "barfi")


def traced_train(mode: str, seed: int, episodes: int, overrides: dict, env_kwargs: dict | None = None) -> tuple:
    """One traced training run (bad heuristic unless `env_kwargs` says otherwise): the curve and, per inner update,
    what the learner saw and how far it stepped."""
    import torch
    from aligngym.agents.shaping import reinforce
    from aligngym.agents.shaping.args import make_args
    from aligngym.agents.shaping.train import train

    trace = []
    update = reinforce.Reinforce.update

    def traced(self, batch, rewards, gamma):
        with torch.no_grad():
            raw = reinforce.monte_carlo_advantages(batch, rewards, gamma, normalise=False)
            used = self.advantages(batch, rewards, gamma)
            returns = reinforce.discounted_returns(rewards, batch.mask, gamma)
        count = batch.mask.sum()
        before = [p.detach().clone() for p in self.policy.parameters()]
        update(self, batch, rewards, gamma)
        step = sum(float(((p.detach() - b) ** 2).sum()) for p, b in zip(self.policy.parameters(), before)) ** 0.5
        grad = sum(float((p.grad ** 2).sum()) for p in self.policy.parameters() if p.grad is not None) ** 0.5
        trace.append({"all_equal": bool(np.ptp(batch.primary_returns) == 0),
                      "spread": float(torch.sqrt(((raw * batch.mask) ** 2).sum() / count)),
                      "scale": float((returns.abs() * batch.mask).sum() / count),
                      "used": float(torch.sqrt(((used * batch.mask) ** 2).sum() / count)), "step": step,
                      "grad": grad})

    reinforce.Reinforce.update = traced
    try:
        args = make_args(PRESET, num_envs=16, **overrides)
        result = train(ENV, "reinforce", mode, episodes=episodes, seed=seed,
                       env_kwargs={"heuristic": "bad", **(env_kwargs or {})}, args=args)
    finally:
        reinforce.Reinforce.update = update
    return result.primary_return, trace


def _run(job: tuple) -> tuple:
    learner, mode, seed, episodes = job
    return (job, *traced_train(mode, seed, episodes, LEARNERS[learner]))


def late(trace: list[dict], key: str, equal: bool | None = None) -> float:
    """Mean of `key` over the last fifth of the updates (only those whose batch was / was not all equal)."""
    tail = trace[-max(1, len(trace) // 5):]
    values = [t[key] for t in tail if equal is None or t["all_equal"] == equal]
    return float(np.mean(values)) if values else float("nan")


def measure(learners=tuple(LEARNERS), modes=MODES, seeds=range(10), episodes: int = 1000, workers: int = 2) -> dict:
    from tqdm import tqdm

    jobs = [(name, mode, s, episodes) for name in learners for mode in modes for s in seeds]
    start = time.time()
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        outputs = list(tqdm(pool.map(_run, jobs), total=len(jobs), desc="traced runs"))
    out = {"env_id": ENV, "preset": PRESET, "heuristic": "bad", "episodes": episodes, "num_envs": 16,
           "seeds": list(seeds), "learners": {k: LEARNERS[k] for k in learners}, "runs": {}}
    for (name, mode, _, _), curve, trace in outputs:
        record(out["runs"].setdefault(name, {}).setdefault(mode, {}), curve, trace)
    for by_mode in out["runs"].values():
        summarise_learner(by_mode)
    out["seconds"] = round(time.time() - start, 1)
    return out


def record(entry: dict, curve, trace: list[dict]) -> None:
    """Appends one run's per-seed numbers to `entry` (lists keyed by number): final and AUC of the curve, and the
    late trace's share of all-equal batches and the learner's step, gradient and advantages on / off them."""
    curve = np.asarray(curve)
    numbers = {"final": float(curve[-max(1, len(curve) // 5):].mean()), "auc": float(curve.mean()),
               "share_all_equal": late(trace, "all_equal")}
    for key in ("step", "grad", "used", "spread", "scale"):
        numbers[f"{key}_all_equal"] = late(trace, key, True)
        numbers[f"{key}_other"] = late(trace, key, False)
    for key, value in numbers.items():
        entry.setdefault(key, []).append(value)


def summarise_learner(by_mode: dict) -> None:
    """Per method: mean [95% bootstrap CI] of each per-seed number, and the table's paired verdict against
    primary-only under the same learner (Student-t interval, 1% margin)."""
    for mode, entry in by_mode.items():
        entry["summary"] = {k: summarise(v) for k, v in entry.items() if isinstance(v, list)}
        if mode != "primary":
            diff = np.array(entry["final"]) - np.array(by_mode["primary"]["final"])
            entry["final_minus_primary"] = paired_verdict(diff, float(np.mean(by_mode["primary"]["final"])))


def markdown(results: dict) -> str:
    header = ("| learner | method | final: last fifth | minus primary-only (paired, Student-t) | late batches all at "
              "500 | step there: ||dtheta|| | step elsewhere | |A| used there | |A| raw there / mean |G| |")
    lines = [header, "|---|---|---|---|---|---|---|---|---|"]
    for name, by_mode in results["runs"].items():
        for mode, e in by_mode.items():
            s = e["summary"]
            d = e.get("final_minus_primary")
            versus = (f"{d['difference']:+.1f} [{d['ci_low']:+.1f}, {d['ci_high']:+.1f}] {d['outcome']}" if d
                      else "baseline")
            ratio = np.nanmean(np.array(e["spread_all_equal"]) / np.array(e["scale_all_equal"]))
            lines.append(f"| {name} | {mode} | {format_cell(s['final'], '.1f')} | {versus} | "
                         f"{format_cell(s['share_all_equal'], '.2f')} | {format_cell(s['step_all_equal'], '.4f')} | "
                         f"{format_cell(s['step_other'], '.4f')} | {format_cell(s['used_all_equal'], '.3f')} | "
                         f"{ratio:.1e} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--learner", action="append", choices=tuple(LEARNERS), help="Repeat; default: all.")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parsed = parser.parse_args()
    results = measure(tuple(parsed.learner or LEARNERS), seeds=range(parsed.seeds), workers=parsed.workers)
    path = parsed.out / "shaping_cartpole_normaliser.json"
    if path.exists():  # keep the learners run before
        results["runs"] = {**json.loads(path.read_text())["runs"], **results["runs"]}
        results["learners"] = {k: LEARNERS[k] for k in results["runs"]}
    path.write_text(json.dumps(results))
    (parsed.out / "shaping_cartpole_normaliser.md").write_text(markdown(results))
    print(markdown(results))
