"""Speed of the progress numeric faces, as ratios against peers measured in the same run.

- Each native vector twin (Follow, Predict, Coevolve) at `num_envs` envs (1024; 256 with quick=True) against
  Gymnasium's SyncVectorEnv over the same single env (targets: >= 1M steps/s and >= 80x), with Gymnasium's own
  CartPoleVectorEnv as a yardstick.
- The single numeric env against MuJoCo's HalfCheetah-v5 single env (target >= 1x), timed in turns: each repeat
  steps the env and then HalfCheetah-v5 for as many steps, and the ratio is the median of the repeats' ratios.
All use uniformly random actions and are timed in this process's CPU time (`time.process_time`), so other load on
a shared machine slows every peer alike and the ratios stay comparable; each rate is the median of three timed
repeats (one with quick=True), so a burst of other load moves one repeat, not the result. The JSON records the
machine's load average (1, 5, 15 minutes) before and after the run, since heavy load still slows the absolute
numbers (shared caches), and each twin's minor page faults per step (a cold allocator shows up there; the run
first frees one large array so that the allocator is warm from the start, see `_warm_allocator`).
Writes `bench_progress_vector.json`.

    python -m aligngym.benchmarks.progress.bench_progress_vector --out benchmarks/results
"""
from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

import gymnasium as gym
import numpy as np

import aligngym  # noqa: F401

CHALLENGES = ("Follow", "Predict", "Coevolve")
TARGETS = {"native_steps_per_s": 1e6, "speedup_vs_sync": 80.0, "single_vs_halfcheetah": 1.0}
REPEATS = 3  # each rate is the median of this many timed repeats: one burst of other load moves one repeat only


def _minor_faults() -> int:
    """Minor page faults of this process so far (0 where `resource` is missing, as on Windows)."""
    try:
        import resource
    except ImportError:
        return 0
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _warm_allocator() -> None:
    """Frees one 16 MB array, as any process that has trained on batches has: glibc then raises its threshold for
    mapping arrays afresh to that size and serves every array of a twin's step from its heap. Without it, whether a
    1024-env twin's per-step arrays (observations of ~250 KB) are mapped and faulted in again every step depends on
    which arrays this process happened to free first (measured: 0 or ~70 minor faults a step, +10-15% time, from
    run to run of the same code)."""
    block = np.ones(2_000_000)
    del block


def _vector_steps_per_second(envs, steps: int, seed: int = 0, faults: dict | None = None,
                             repeats: int = 1) -> float:
    envs.reset(seed=seed)
    envs.action_space.seed(seed)
    actions = [envs.action_space.sample() for _ in range(min(steps, 32))]
    before = _minor_faults()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        for i in range(steps):
            envs.step(actions[i % len(actions)])
        times.append(time.process_time() - start)
    if faults is not None:  # pages the allocator handed back to the OS and faulted in again (see the warm-up)
        faults["minor_faults_per_step"] = (_minor_faults() - before) / (steps * repeats)
    return steps * envs.num_envs / statistics.median(times)


def _single_env_timer(env, seed: int = 0):
    """A function that steps `env` `steps` times with random actions (resetting it when an episode ends) and returns
    the CPU seconds taken; the env carries on from where the last call left it."""
    env.reset(seed=seed)
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(64)]

    def timed(steps: int) -> float:
        start = time.process_time()
        for i in range(steps):
            _, _, terminated, truncated, _ = env.step(actions[i % 64])
            if terminated or truncated:
                env.reset()
        return time.process_time() - start

    return timed


def main(out_dir: Path, quick: bool = False) -> dict:
    num_envs = 256 if quick else 1024
    native_steps, sync_steps, single_steps = (20, 2, 500) if quick else (400, 12, 20000)
    repeats = 1 if quick else REPEATS
    result = {"num_envs": num_envs, "quick": quick, "repeats": repeats, "targets": TARGETS, "cpus": os.cpu_count(),
              "load_average_before": os.getloadavg(), "twins": {}}
    _warm_allocator()
    cheetah = gym.make("HalfCheetah-v5")
    cheetah_timed, cheetah_times = _single_env_timer(cheetah), []
    cartpole = gym.make_vec("CartPole-v1", num_envs=num_envs, vectorization_mode="vector_entry_point")
    result["cartpole_vector_steps_per_s"] = _vector_steps_per_second(cartpole, native_steps, repeats=repeats)
    cartpole.close()
    for challenge in CHALLENGES:
        env_id = f"AlignGym/Progress{challenge}-v1"
        # warm-up on a throwaway twin: in a process that has not yet freed large arrays, glibc hands a twin's
        # per-episode temporaries back to the OS and faults their pages in again every episode (measured ~25%
        # slower); any later twin runs warm, so without this the first one measured would pay for all
        warm = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point")
        _vector_steps_per_second(warm, 20)
        warm.close()
        del warm
        native = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point")
        sync = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="sync")
        faults: dict = {}
        native_sps = _vector_steps_per_second(native, native_steps, faults=faults, repeats=repeats)
        sync_sps = _vector_steps_per_second(sync, sync_steps, repeats=repeats)
        native.close()
        sync.close()
        single = gym.make(env_id)
        single_timed = _single_env_timer(single)
        # each repeat times the single env and then HalfCheetah-v5 for as many steps, so that a burst of other load
        # falls on both sides of that repeat's ratio; the ratio is the median of the repeats'
        pairs = [(single_timed(single_steps), cheetah_timed(single_steps)) for _ in range(repeats)]
        single.close()
        cheetah_times += [cheetah for _, cheetah in pairs]
        result["twins"][env_id] = {"native_steps_per_s": native_sps, "sync_steps_per_s": sync_sps,
                                   "speedup_vs_sync": native_sps / sync_sps,
                                   "single_steps_per_s": single_steps / statistics.median(t for t, _ in pairs),
                                   "single_vs_halfcheetah": statistics.median(c / t for t, c in pairs), **faults}
    cheetah.close()
    result["halfcheetah_steps_per_s"] = single_steps / statistics.median(cheetah_times)
    for twin in result["twins"].values():
        twin["meets_targets"] = all(twin[k] >= v for k, v in TARGETS.items())
    result["load_average_after"] = os.getloadavg()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench_progress_vector.json").write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    from aligngym.benchmarks.run_all import script_main

    raise SystemExit(script_main(main, __doc__))
