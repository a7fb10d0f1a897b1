"""Harness overhead: `evaluate()` against a bare Gymnasium loop over the same seeded episodes, in the same run.

Both loops run the random policy for 10, 100 and 1,000 episodes on AlignGym/ShapingGridWorld (the target env: tens
of steps per episode) and on AlignGym/ShoppingAssistant (the worst case: one cheap step per episode, so the
harness's per-episode and end-of-run costs weigh most); the harness once without and once with `out=` (journal +
final record). Times are this process's CPU time (user + system, so the journal's writes count), and the three
loops alternate over several rounds, each keeping its fastest: other jobs on a busy machine skew the ratio little. Target: within 5% of the bare loop on GridWorld, and linear in episodes (the time per
episode does not grow with the run's length).
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import gymnasium as gym

import aligngym  # noqa: F401
from aligngym.benchmarks.harness import episode_seed, evaluate
from aligngym.envs import registry

ENVS = tuple(next(r.id for r in registry.ROWS if r.id.startswith(prefix))
             for prefix in ("AlignGym/ShapingGridWorld", "AlignGym/ShoppingAssistant"))
ROUNDS = 5


def bare_loop(env_id: str, episodes: int) -> float:
    start = time.process_time()
    env = gym.make(env_id)  # timed, as the harness's own gym.make is: a bare loop makes its env too
    for k in range(episodes):
        seed = episode_seed(0, k)  # the harness seeds the env and the random agent with this episode seed
        env.reset(seed=seed)
        env.action_space.seed(seed)
        done = False
        while not done:
            _, _, terminated, truncated, info = env.step(env.action_space.sample())
            done = terminated or truncated
    env.close()
    return time.process_time() - start


def harness(env_id: str, episodes: int, out: Path | None) -> float:
    start = time.process_time()
    evaluate(env_id, "random", episodes=episodes, seeds=[0], out=out)
    return time.process_time() - start


def main(out_dir: Path, quick: bool = False) -> dict:
    sizes = (10, 100) if quick else (10, 100, 1000)
    rows, load = [], os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        evaluate(ENVS[0], "random", episodes=1, out=Path(tmp) / "warm.json")  # one-off imports and schema compile
        for env_id in ENVS:
            for n in sizes:
                times = {"bare": [], "harness": [], "harness_out": []}
                for r in range(ROUNDS):
                    times["bare"].append(bare_loop(env_id, n))
                    times["harness"].append(harness(env_id, n, None))
                    times["harness_out"].append(harness(env_id, n, Path(tmp) / f"{env_id[9:]}-{n}-{r}.json"))
                best = {k: min(v) for k, v in times.items()}
                rows.append({"env": env_id, "episodes": n, **{k: round(v, 4) for k, v in best.items()},
                             "ratio": round(best["harness"] / best["bare"], 3),
                             "ratio_out": round(best["harness_out"] / best["bare"], 3),
                             "ms_per_episode_out": round(1000 * best["harness_out"] / n, 3)})
    result = {"benchmark": "bench_harness", "envs": list(ENVS), "quick": quick, "rounds": ROUNDS,
              "load_average_at_start": load, "rows": rows,
              "target": f"ratio and ratio_out <= 1.05 on {ENVS[0]}; ms_per_episode_out flat in episodes",
              "meets_target": all(r["ratio"] <= 1.05 and r["ratio_out"] <= 1.05 for r in rows if r["env"] == ENVS[0])}
    (Path(out_dir) / "bench_harness.json").write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    from aligngym.benchmarks.run_all import script_main

    raise SystemExit(script_main(main, __doc__))
