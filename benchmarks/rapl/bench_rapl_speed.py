"""Speed of the rapl family's 2D env and learned reward, as ratios and rates measured in one run:

1. state-observation steps per second of SweepToTop (each embodiment, random actions) vs Gymnasium's CartPole-v1
   in the same run, per CPU second (target >= 0.03x; X-MAGICAL behind a Gymnasium adapter was ~0.006x, ~715 steps/s);
2. 64x64 frames per second of the numpy rasteriser, allocentric and egocentric (target >= 1000 on one core);
3. the OT reward of a 100-frame episode against 6 demos, from embedded frames (target < 10 ms), and end to end
   from pixels (backbone included).

    python -m aligngym.benchmarks.rapl.bench_rapl_speed [--quick] [--out benchmarks/results]
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

import aligngym  # noqa: F401  (registers the ids)
from aligngym.envs.rapl.sweep import EMBODIMENTS, SweepToTopEnv


def rate(fn, min_seconds: float) -> float:
    """Calls per CPU second of fn() over at least min_seconds of this process's CPU time (after one warm-up call).
    CPU time, not wall time: the machine is shared, and waiting for a core is not the code's cost."""
    fn()
    calls, start = 0, time.process_time()
    while time.process_time() - start < min_seconds:
        fn()
        calls += 1
    return calls / (time.process_time() - start)


def env_steps(env: gym.Env, seconds: float) -> float:
    env.reset(seed=0)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(256)]
    state = {"i": 0}

    def one():
        _, _, terminated, truncated, _ = env.step(actions[state["i"] % 256])
        state["i"] += 1
        if terminated or truncated:
            env.reset()
    return rate(one, seconds)


def main(out: Path = Path("benchmarks/results"), quick: bool = False) -> dict:
    torch.set_num_threads(1)
    seconds = 0.5 if quick else 3.0
    cartpole = env_steps(gym.make("CartPole-v1").unwrapped, seconds)
    result = {"cartpole_steps_per_s": round(cartpole), "state_steps": {}, "render_64_fps": {}}
    for embodiment in EMBODIMENTS:
        sps = env_steps(SweepToTopEnv(embodiment=embodiment, variant="TestLayout"), seconds)
        result["state_steps"][embodiment] = {"steps_per_s": round(sps), "ratio_vs_cartpole": round(sps / cartpole, 4)}
    for view in ("Allo", "Ego"):
        env = SweepToTopEnv(embodiment="Gripper", view=view, preference="avoid", resolution=64)
        env.reset(seed=0)
        result["render_64_fps"][view] = round(rate(env.frame, seconds))

    from aligngym.agents.rapl.encoder import EncoderArgs, random_backbone
    from aligngym.agents.rapl.rapl import Args, RAPLReward

    backbone = random_backbone(EncoderArgs())
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (7, 100, 64, 64, 3), dtype=np.uint8)  # one episode and 6 demos
    model = RAPLReward(backbone, Args())
    model.demo_features = [backbone.features(f) for f in frames[1:]]
    model.fitted = True
    feats = backbone.features(frames[0])
    result["ot_reward_100_frames_6_demos_ms"] = round(1000 / rate(lambda: model.reward_features(feats), seconds), 2)
    result["reward_from_pixels_100_frames_ms"] = round(1000 / rate(lambda: model.reward(frames[0]), seconds), 2)
    result["targets"] = {"state_ratio_vs_cartpole": ">= 0.03", "render_64_fps": ">= 1000",
                         "ot_reward_100_frames_6_demos_ms": "< 10"}
    result["note"] = ("rates per CPU second of this process (time.process_time), torch on 1 thread, so a shared "
                      "machine's load does not count; CartPole-v1 measured the same way in the same run")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_rapl_speed.json").write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    from aligngym.benchmarks.run_all import script_main

    raise SystemExit(script_main(main, __doc__))
