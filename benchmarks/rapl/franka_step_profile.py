"""Where a rapl MuJoCo push env step spends its time outside the physics, timed inside the real loop.

Timing a part on its own in a tight loop finds it in warm caches; inside the env loop every part runs right after
20 physics steps, with the caches cold, and costs several times more. So this runs random-action episodes as the
speed benchmark does (one seeded reset per pass of 8 episodes) and times each part where it runs, by wrapping the
env's own methods and MuJoCo calls with a timer (which adds ~0.2 us per wrapped call, charged to "step, rest").
Per step, the fastest of `--passes` passes; `--cprofile` prints cProfile's table instead.

    python -m aligngym.benchmarks.rapl.franka_step_profile [--preference group] [--robot franka] [--cprofile]
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import time
import types

import aligngym  # noqa: F401,I001  (first: headless GL for MuJoCo)
import mujoco
import numpy as np

from aligngym.envs.rapl import franka_push

PARTS = ("_arm_contact", "_gather", "_terms", "_runaway", "_observation")


def _episodes(env, actions: np.ndarray, reset, step) -> None:
    for e, episode in enumerate(actions):
        reset(seed=0 if e == 0 else None)
        for a in episode:
            step(a)


def profile(preference: str = "group", robot: str = "franka", passes: int = 30, episodes: int = 8) -> dict:
    """Microseconds per step of each part, of the physics and in all (the fastest pass)."""
    spent: dict[str, int] = {}

    def timed(name, fn):
        def call(*args, **kwargs):
            start = time.perf_counter_ns()
            result = fn(*args, **kwargs)
            spent[name] = spent.get(name, 0) + time.perf_counter_ns() - start
            return result
        return call

    # the env module's view of mujoco, with the calls of interest timed (the module itself is left alone)
    proxy = types.SimpleNamespace(**{k: getattr(mujoco, k) for k in dir(mujoco) if not k.startswith("__")})
    proxy.mj_step = timed("physics", mujoco.mj_step)
    proxy.mj_kinematics = timed("frames after the step", mujoco.mj_kinematics)
    proxy.mj_comPos = timed("frames after the step", mujoco.mj_comPos)
    original = franka_push.mujoco
    franka_push.mujoco = proxy
    try:
        env = franka_push.FrankaPushEnv(preference=preference, robot=robot)
        if env._ik is not None:
            env._ik.increment = timed("IK", env._ik.increment)
        for name in PARTS:
            setattr(env, name, timed(name, getattr(env, name)))
        actions = np.random.default_rng(0).uniform(-1, 1, (episodes, env.horizon, 3)).astype(np.float32)
        reset, step = timed("reset (all of it)", env.reset), timed("step", env.step)
        best = None
        for _ in range(passes):
            spent.clear()
            start = time.perf_counter_ns()
            _episodes(env, actions, reset, step)
            total = time.perf_counter_ns() - start
            if best is None or total < best[0]:
                best = (total, dict(spent))
    finally:
        franka_push.mujoco = original
    total, spent = best
    n = 1e3 * episodes * env.horizon
    inside = sum(v for k, v in spent.items() if k not in ("step", "reset (all of it)"))
    # the parts reset calls are in their own rows too; "step, rest": the step's own code (action check, target,
    # drive, warnings, info) and the timers
    result = {k: round(v / n, 2) for k, v in spent.items() if k != "step"}
    result["step, rest"] = round((spent["step"] - inside) / n, 2)
    result["all"], result["outside the physics"] = round(total / n, 1), round((total - spent["physics"]) / n, 1)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preference", default="group", choices=franka_push.PREFERENCES)
    parser.add_argument("--robot", default="franka", choices=("franka", "fetch"))
    parser.add_argument("--passes", type=int, default=30)
    parser.add_argument("--cprofile", action="store_true", help="cProfile's table (by own time) instead.")
    args = parser.parse_args()
    if args.cprofile:
        env = franka_push.FrankaPushEnv(preference=args.preference, robot=args.robot)
        actions = np.random.default_rng(0).uniform(-1, 1, (8 * args.passes, env.horizon, 3)).astype(np.float32)
        profiler = cProfile.Profile()
        profiler.runcall(_episodes, env, actions, env.reset, env.step)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
        return 0
    for name, us in profile(args.preference, args.robot, args.passes).items():
        print(f"{name:24s} {us:8.2f} us per step")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
