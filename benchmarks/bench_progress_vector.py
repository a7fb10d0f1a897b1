"""Speed: the native vectorised numeric face of ProgressFollow vs Gymnasium's SyncVectorEnv over the same env.

Both run `num_envs` envs (1024; 256 with quick=True) with the same random actions; the ratio of env steps per second
is the result (target >= 50x).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import aligngym  # noqa: F401

ENV_ID = "AlignGym/ProgressFollow-v0"


def _steps_per_second(envs, num_envs: int, steps: int, seed: int = 0) -> float:
    envs.reset(seed=seed)
    rng = np.random.default_rng(seed)
    actions = rng.uniform(-1, 1, size=(steps, num_envs, 19)).astype(np.float32)
    start = time.perf_counter()
    for a in actions:
        envs.step(a)
    return steps * num_envs / (time.perf_counter() - start)


def main(out_dir: Path, quick: bool = False) -> dict:
    num_envs = 256 if quick else 1024
    native = gym.make_vec(ENV_ID, num_envs=num_envs, vectorization_mode="vector_entry_point")
    sync = gym.make_vec(ENV_ID, num_envs=num_envs, vectorization_mode="sync")
    native_sps = _steps_per_second(native, num_envs, 100 if quick else 400)
    sync_sps = _steps_per_second(sync, num_envs, 4 if quick else 16)
    native.close()
    sync.close()
    result = {"env_id": ENV_ID, "num_envs": num_envs, "native_steps_per_s": native_sps,
              "sync_steps_per_s": sync_sps, "speedup": native_sps / sync_sps, "target_speedup": 50.0,
              "quick": quick}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench_progress_vector.json").write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    from aligngym.benchmarks.run_all import script_main

    raise SystemExit(script_main(main, __doc__))
