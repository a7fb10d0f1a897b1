"""Throughput of every registered single-agent id, each next to a peer measured in the same run:

- single env: random-action steps/s, as a ratio to Gymnasium's CartPole-v1;
- vectorised: the native twin's steps/s at `num_envs` envs, as a ratio to SyncVectorEnv over the same env;
- memory: peak Python allocations while stepping (tracemalloc), in MiB;
- training: stable-baselines3 PPO env steps/s on each id whose spaces SB3 takes, as a ratio to CartPole-v1.
"""
from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path

import gymnasium as gym

import aligngym  # noqa: F401
from aligngym.envs import registry


def single_env_rate(env_id: str, seconds: float) -> float:
    env = gym.make(env_id)
    env.reset(seed=0)
    env.action_space.seed(0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        steps += 1
        if terminated or truncated:
            env.reset()
    rate = steps / (time.perf_counter() - start)
    env.close()
    return rate


def vector_rate(env_id: str, num_envs: int, mode: str, seconds: float) -> float:
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode)
    envs.reset(seed=0)
    envs.action_space.seed(0)
    actions = [envs.action_space.sample() for _ in range(8)]
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        envs.step(actions[steps % 8])
        steps += 1
    rate = steps * num_envs / (time.perf_counter() - start)
    envs.close()
    return rate


def native_vs_sync(env_id: str, num_envs: int, seconds: float, target: float) -> dict:
    """A native vector twin's env steps/s next to SyncVectorEnv over the same env, same num_envs, same run."""
    native = vector_rate(env_id, num_envs, "vector_entry_point", seconds)
    sync = vector_rate(env_id, num_envs, "sync", seconds)
    return {"num_envs": num_envs, "native_env_steps_per_s": native, "sync_env_steps_per_s": sync,
            "ratio": native / sync, "target": target}


def peak_memory_mib(env_id: str, steps: int = 200) -> float:
    tracemalloc.start()
    env = gym.make(env_id)
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(steps):
        if any(env.step(env.action_space.sample())[2:4]):
            env.reset()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    env.close()
    return peak / 2**20


def ppo_rate(env_id: str, steps: int) -> float | None:
    from stable_baselines3 import PPO

    env = gym.make(env_id)
    if any(isinstance(s, gym.spaces.Text) for s in (env.observation_space, env.action_space)):
        return None
    model = PPO("MultiInputPolicy" if isinstance(env.observation_space, gym.spaces.Dict) else "MlpPolicy", env,
                n_steps=min(steps, 512), batch_size=64, seed=0, device="cpu")
    start = time.perf_counter()
    model.learn(steps)
    return steps / (time.perf_counter() - start)


def main(out_dir: Path, quick: bool = False) -> dict:
    seconds, num_envs, ppo_steps = (0.2, 64, 512) if quick else (1.0, 1024, 4096)
    cartpole = single_env_rate("CartPole-v1", seconds)
    cartpole_ppo = ppo_rate("CartPole-v1", ppo_steps)
    rows = []
    for r in (r for r in registry.ROWS if not r.multi_agent):
        row = {"id": r.id, "single_steps_per_s": round(single_env_rate(r.id, seconds))}
        row["single_vs_cartpole"] = round(row["single_steps_per_s"] / cartpole, 4)
        if r.vector_entry_point:
            native = vector_rate(r.id, num_envs, "vector_entry_point", seconds)
            sync = vector_rate(r.id, min(num_envs, 64), "sync", seconds)
            row.update(vector_steps_per_s=round(native), vector_vs_sync=round(native / sync, 1))
        row["peak_mib"] = round(peak_memory_mib(r.id), 2)
        ppo = ppo_rate(r.id, ppo_steps)
        if ppo is not None:
            row.update(ppo_steps_per_s=round(ppo), ppo_vs_cartpole=round(ppo / cartpole_ppo, 3))
        rows.append(row)
    result = {"benchmark": "bench_envs", "quick": quick, "num_envs": num_envs,
              "cartpole_steps_per_s": round(cartpole), "cartpole_ppo_steps_per_s": round(cartpole_ppo), "rows": rows}
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    (Path(out_dir) / "bench_envs.json").write_text(json.dumps(result, indent=2))
    return result


def markdown(result: dict) -> str:
    """The table `aligngym bench` writes."""
    lines = [f"CartPole-v1 in the same run: {result['cartpole_steps_per_s']:,} steps/s single, "
             f"{result['cartpole_ppo_steps_per_s']:,} PPO training steps/s. Vector twins at {result['num_envs']} envs.", "",
             "| id | steps/s | × CartPole | vector steps/s | × SyncVectorEnv | peak MiB | PPO steps/s | PPO × CartPole |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in result["rows"]:
        cells = [r["single_steps_per_s"], r["single_vs_cartpole"], r.get("vector_steps_per_s", "—"),
                 r.get("vector_vs_sync", "—"), r["peak_mib"], r.get("ppo_steps_per_s", "—"), r.get("ppo_vs_cartpole", "—")]
        lines.append(f"| `{r['id']}` | " + " | ".join(f"{c:,}" if isinstance(c, int) else str(c) for c in cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    from aligngym.benchmarks.run_all import script_main

    raise SystemExit(script_main(main, __doc__))
