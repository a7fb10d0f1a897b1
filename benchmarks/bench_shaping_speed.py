"""Speed of the shaping family, as ratios measured in the same run:

1. native numpy vector twins (GridWorld, CartPole) at 1024 envs vs Gymnasium's SyncVectorEnv over the
   same single env at 1024 envs: env steps per second (target >= 50x);
2. BARFI's outer step (implicit gradient with 5 Neumann terms, and the first-order variant) as a multiple
   of one inner REINFORCE step on the same batch of 64 GridWorld episodes.

Run: python benchmarks/bench_shaping_speed.py   (writes reports/bench/bench_shaping_speed.json)
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import aligngym  # noqa: F401  (registers the ids)

NUM_ENVS = 1024


def steps_per_second(envs: gym.vector.VectorEnv, min_seconds: float, min_steps: int) -> float:
    rng = np.random.default_rng(0)
    actions = rng.integers(0, envs.single_action_space.n, (256, envs.num_envs))
    envs.reset(seed=0)
    steps, start = 0, time.perf_counter()
    while steps < min_steps or time.perf_counter() - start < min_seconds:
        envs.step(actions[steps % len(actions)])
        steps += 1
    return steps * envs.num_envs / (time.perf_counter() - start)


def vector_speed(env_id: str, quick: bool) -> dict:
    seconds = 0.5 if quick else 2.0
    native = gym.make_vec(env_id, num_envs=NUM_ENVS, vectorization_mode="vector_entry_point")
    sync = gym.make_vec(env_id, num_envs=NUM_ENVS, vectorization_mode="sync")
    native_sps = steps_per_second(native, seconds, 20)
    sync_sps = steps_per_second(sync, seconds, 3)
    native.close(), sync.close()
    return {"num_envs": NUM_ENVS, "native_steps_per_s": round(native_sps), "sync_steps_per_s": round(sync_sps),
            "ratio": round(native_sps / sync_sps, 1)}


def barfi_cost(quick: bool) -> dict:
    import torch

    from aligngym.agents.shaping.barfi import Barfi
    from aligngym.agents.shaping.reinforce import Reinforce
    from aligngym.agents.shaping.rollout import collect
    from aligngym.agents.shaping.train import make_vector_env

    envs = make_vector_env("AlignGym/ShapingGridWorld-v0", 64, {"heuristic": "bad"})
    learner = Reinforce(envs.single_observation_space, 4, seed=0)
    batch = collect(envs, learner.policy, torch.Generator().manual_seed(0), seed=0)
    repeats = 5 if quick else 30
    implicit, first_order = Barfi(envs.single_observation_space), Barfi(envs.single_observation_space, "first_order")
    steps = {"inner": lambda: learner.update(batch, *implicit.rewards(batch)),
             "rollout": lambda: collect(envs, learner.policy, torch.Generator().manual_seed(1)),
             "outer": lambda: implicit.outer_step(learner, batch),
             "outer_fo": lambda: first_order.outer_step(learner, batch)}
    times = {k: [] for k in steps}
    for _ in range(repeats + 1):  # interleaved, so a busy machine slows all of them alike; the first is warm-up
        for key, fn in steps.items():
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    inner, rollout, outer, outer_fo = (float(np.median(times[k][1:])) for k in steps)
    return {"batch": "64 GridWorld episodes (50 steps)", "timing": "median of interleaved calls",
            "inner_step_s": inner, "rollout_s": rollout,
            "outer_implicit_s": outer, "outer_first_order_s": outer_fo,
            "outer_implicit_over_inner": round(outer / inner, 2),
            "outer_first_order_over_inner": round(outer_fo / inner, 2)}


def main(out_dir: Path, quick: bool = False) -> dict:
    result = {"benchmark": "bench_shaping_speed", "target_vector_ratio": 50.0,
              "gridworld": vector_speed("AlignGym/ShapingGridWorld-v0", quick),
              "cartpole": vector_speed("AlignGym/ShapingCartPole-v0", quick),
              "barfi": barfi_cost(quick)}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench_shaping_speed.json").write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    from aligngym.benchmarks.run_all import script_main

    raise SystemExit(script_main(main, __doc__))
