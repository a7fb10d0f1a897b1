"""Harness overhead: `evaluate()` against a bare Gymnasium loop over the same seeded episodes, in the same run.

Both loops run the random policy on AlignGym/ShapingGridWorld (single env) for 10, 100 and 1,000 episodes; the
harness once without and once with `out=` (journal + final record). Target: within 5% of the bare loop, and linear
in episodes (the time per episode does not grow with the run's length).
"""
from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import gymnasium as gym

import aligngym  # noqa: F401
from aligngym.benchmarks.harness import episode_seed, evaluate
from aligngym.envs import registry

ENV = next(r.id for r in registry.ROWS if r.id.startswith("AlignGym/ShapingGridWorld"))


def bare_loop(episodes: int) -> float:
    env = gym.make(ENV)
    start = time.perf_counter()
    for k in range(episodes):
        env.reset(seed=episode_seed(0, k))
        env.action_space.seed(k)
        done = False
        while not done:
            _, _, terminated, truncated, info = env.step(env.action_space.sample())
            done = terminated or truncated
    return time.perf_counter() - start


def harness(episodes: int, out: Path | None) -> float:
    start = time.perf_counter()
    evaluate(ENV, "random", episodes=episodes, seeds=[0], out=out, overwrite=out is not None)
    return time.perf_counter() - start


def main(out_dir: Path, quick: bool = False) -> dict:
    sizes = (10, 100) if quick else (10, 100, 1000)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            best = {"bare": min(bare_loop(n) for _ in range(3)),
                    "harness": min(harness(n, None) for _ in range(3)),
                    "harness_out": min(harness(n, Path(tmp) / f"r{n}.json") for _ in range(3))}
            rows.append({"episodes": n, **{k: round(v, 4) for k, v in best.items()},
                         "ratio": round(best["harness"] / best["bare"], 3),
                         "ratio_out": round(best["harness_out"] / best["bare"], 3),
                         "ms_per_episode_out": round(1000 * best["harness_out"] / n, 3)})
    result = {"benchmark": "bench_harness", "env": ENV, "quick": quick, "rows": rows,
              "target": "ratio and ratio_out <= 1.05; ms_per_episode_out flat in episodes"}
    (Path(out_dir) / "bench_harness.json").write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    from aligngym.benchmarks.run_all import script_main

    raise SystemExit(script_main(main, __doc__))
