"""Speed of the rapl MuJoCo push envs, as ratios against bare MuJoCo measured in the same run:

1. state observations: env steps per second (random actions) vs a bare `mujoco.mj_step(model, data, nstep=20)`
   loop over the same model (the env's 20 physics steps per control step); target >= 0.9x;
2. pixels: `env.render()` frames per second vs a bare `mujoco.Renderer` at the same size, camera and scene flags
   (fast flags: shadows, reflections and skybox off); target >= 0.8x; also the fast flags vs MuJoCo's defaults.

The functions compared take turns call by call and each rate is one over the lower-quartile call time, so that
the shared machine's changing load hits both sides of a ratio alike. Call times are CPU time of this process
(`time.process_time`: what the call itself costs, not the time slices the scheduler gave other processes on a
busy machine); the wall-clock ratios are reported beside them (`ratio_wall`).
Run: python -m aligngym.benchmarks.rapl.bench_franka_speed [--quick] [--out DIR]
   (writes DIR/bench_rapl_franka_speed.json; the committed one is in benchmarks/results/)
"""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import aligngym  # noqa: F401,I001  (first: headless GL for MuJoCo)
import mujoco
import numpy as np

from aligngym.benchmarks.run_all import script_main
from aligngym.envs.rapl import mj_scene
from aligngym.envs.rapl.franka_push import SUBSTEPS, FrankaPushEnv


def best(fns: dict, rounds: int, seconds: float) -> tuple[dict, dict]:
    """Calls per CPU second and per wall-clock second of each function: the functions take turns call by call (so
    that a change in the shared machine's load hits all of them alike), and each one's rate is one over its
    lower-quartile call time."""
    cpu, wall = {k: [] for k in fns}, {k: [] for k in fns}
    order, start = list(fns), time.perf_counter()
    while time.perf_counter() - start < rounds * seconds * len(fns) or min(map(len, cpu.values())) < 5:
        order.reverse()  # neither side always runs right after the other (caches, GL context switches)
        for k in order:
            c, t = time.process_time(), time.perf_counter()
            fns[k]()
            wall[k].append(time.perf_counter() - t)
            cpu[k].append(time.process_time() - c)
    rate = lambda v: 1.0 / float(np.quantile(v, 0.25))  # noqa: E731
    return {k: rate(v) for k, v in cpu.items()}, {k: rate(v) for k, v in wall.items()}


def state_speed(preference: str, robot: str, rounds: int, seconds: float, episodes: int = 8) -> dict:
    """The env over `episodes` random-action episodes vs bare MuJoCo replaying exactly the same physics (each
    episode's start state and the controls the env sent), so that both simulate the same contacts."""
    env = FrankaPushEnv(preference=preference, robot=robot)
    actions = np.random.default_rng(0).uniform(-1, 1, (episodes, env.horizon, 3)).astype(np.float32)
    model, kind = env.model, mujoco.mjtState.mjSTATE_INTEGRATION
    starts, controls, mocaps = [], [], []
    for e in range(episodes):
        env.reset(seed=0 if e == 0 else None)  # one seed per pass: training resets are unseeded
        starts.append(np.empty(mujoco.mj_stateSize(model, kind)))
        mujoco.mj_getState(model, env.data, starts[-1], kind)
        for a in actions[e]:
            env.step(a)
            controls.append(env.data.ctrl.copy())
            mocaps.append(env.data.mocap_pos.copy())
    data = mujoco.MjData(model)

    def env_pass():
        for e in range(episodes):
            env.reset(seed=0 if e == 0 else None)
            for a in actions[e]:
                env.step(a)

    def bare_pass():
        for e in range(episodes):
            mujoco.mj_setState(model, data, starts[e], kind)
            for t in range(env.horizon):
                i = e * env.horizon + t
                data.ctrl[:] = controls[i]
                data.mocap_pos[:] = mocaps[i]
                mujoco.mj_step(model, data, nstep=SUBSTEPS)

    r, w = best({"env": env_pass, "bare": bare_pass}, rounds, seconds)
    steps = episodes * env.horizon
    return {"env_steps_per_s": round(r["env"] * steps), "bare_mj_step_x20_per_s": round(r["bare"] * steps),
            "ratio": round(r["env"] / r["bare"], 3), "target": 0.9, "ratio_wall": round(w["env"] / w["bare"], 3)}


def pixel_speed(size: int, rounds: int, seconds: float) -> dict:
    env = FrankaPushEnv(render_mode="rgb_array", image_size=size)
    env.reset(seed=0)
    env.step(np.zeros(3, np.float32))  # a scene mid-episode, as the videos show
    assert not (env.render().sum(-1) == 0).any(), "the camera sees the whole scene"
    bare = mj_scene.make_renderer(env.model, size, fast=True)
    slow = mj_scene.make_renderer(env.model, size, fast=False)

    def bare_render(renderer=bare):
        renderer.update_scene(env.data, camera="view")
        renderer.render()

    r, w = best({"env": env.render, "bare": bare_render}, rounds, seconds)
    r.update(best({"default_flags": lambda: bare_render(slow)}, 1, seconds)[0])
    return {"size": size, "env_frames_per_s": round(r["env"], 1), "bare_renderer_frames_per_s": round(r["bare"], 1),
            "ratio": round(r["env"] / r["bare"], 3), "target": 0.8, "ratio_wall": round(w["env"] / w["bare"], 3),
            "default_flags_frames_per_s": round(r["default_flags"], 1),
            "fast_flags_speedup": round(r["bare"] / r["default_flags"], 2)}


def main(out_dir: Path, quick: bool = False) -> dict:
    rounds, seconds = (2, 0.5) if quick else (5, 2.0)
    result = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, mujoco "
                         f"{mujoco.__version__}, load average {os.getloadavg()[0]:.1f} at the start",
              "state": {f"{robot}/{pref}": state_speed(pref, robot, rounds, seconds)
                        for robot, pref in [("franka", "group"), ("franka", "clutter"), ("fetch", "group")]},
              "pixels": [pixel_speed(size, rounds, seconds) for size in (84, 112)]}
    result["load_average_at_the_end"] = round(os.getloadavg()[0], 1)  # the shared machine's load: ratios vary with it
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    (Path(out_dir) / "bench_rapl_franka_speed.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    raise SystemExit(script_main(main, __doc__))
