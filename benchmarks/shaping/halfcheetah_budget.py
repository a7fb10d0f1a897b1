"""HalfCheetah's `authors` budget (issue 17, item 8: "15 seeds at the largest budget 2 cores allow in an hour"),
measured: the CPU seconds per episode of each method (horizon 100, batches of 16, `authors_halfcheetah`, two
workers at once as the table runs them), and the episodes per run that let 15 seeds x the methods x both
heuristics fit one hour on 2 cores:

    episodes = 3600 s x 2 cores / (15 seeds x 2 heuristics x sum over methods of the CPU seconds per episode)

rounded down to whole batches. CPU time, not wall time, so a busy machine does not shrink the budget (the load
average is recorded beside it).

    python -m aligngym.benchmarks.shaping.halfcheetah_budget --out benchmarks/results   (~3 min)

Writes shaping_halfcheetah_budget.json; table.py's BUDGETS["authors"]["HalfCheetah"] uses its number.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ENV = "AlignGym/ShapingHalfCheetah-v1"
METHODS = ("reinforce/primary", "reinforce/naive", "reinforce/barfi")
HOUR, CORES, SEEDS, HEURISTICS, BATCH = 3600.0, 2, 15, 2, 16


def _timed(job: tuple) -> tuple:
    from aligngym.agents.shaping.train import train
    from aligngym.benchmarks.shaping.scoring import parse_method, run_args

    method, seed, episodes = job
    start = time.process_time()
    train(ENV, "reinforce", parse_method(method)["mode"], episodes=episodes, seed=seed,
          env_kwargs={"heuristic": "bad", "horizon": 100},
          args=run_args(method, BATCH, {"preset": "authors_halfcheetah"}))
    return job, time.process_time() - start


def episodes_in_an_hour(seconds_per_episode: dict[str, float]) -> int:
    """Episodes per run (whole batches) so that SEEDS x HEURISTICS x the methods take HOUR on CORES."""
    episodes = HOUR * CORES / (SEEDS * HEURISTICS * sum(seconds_per_episode.values()))
    return int(episodes // BATCH) * BATCH


def measure(episodes: int = 480, seeds: int = 2) -> dict:
    jobs = [(m, s, episodes) for m in METHODS for s in range(seeds)]
    load, start = os.getloadavg(), time.time()
    with ProcessPoolExecutor(CORES, mp_context=multiprocessing.get_context("spawn")) as pool:
        outputs = list(pool.map(_timed, jobs))
    per_episode = {m: sum(t for (mm, _, _), t in outputs if mm == m) / (seeds * episodes) for m in METHODS}
    return {"env_id": ENV, "horizon": 100, "num_envs": BATCH, "preset": "authors_halfcheetah",
            "episodes_measured": episodes, "seeds_measured": seeds, "workers": CORES,
            "cpu_seconds_per_episode": per_episode, "wall_seconds": round(time.time() - start, 1),
            "load_average_before": list(load), "load_average_after": list(os.getloadavg()),
            "hour_budget": {"seeds": SEEDS, "heuristics": HEURISTICS, "methods": list(METHODS),
                            "episodes": episodes_in_an_hour(per_episode)}}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parsed = parser.parse_args()
    result = measure()
    (parsed.out / "shaping_halfcheetah_budget.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
