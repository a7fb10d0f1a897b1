"""Fingerprint of what the rapl MuJoCo push envs output, to show that a speed change left every output bit-identical.

Runs random and scripted episodes on Group, Clutter and Fetch (state observations) and hashes, step by step, the
observation, reward, terminated, truncated and info (with the episode-end metrics), and each episode's final
physics state; a few episodes go through a pickle round trip mid-episode. Run it before a change and after, and
compare (the hashes are exact: any changed bit in any output changes them; they depend on the machine's MuJoCo
build, so compare runs on one machine):

    python -m aligngym.benchmarks.rapl.franka_trace --out before.json
    python -m aligngym.benchmarks.rapl.franka_trace --out after.json --compare before.json
"""
from __future__ import annotations

import argparse
import hashlib
import json
import pickle
from pathlib import Path

import aligngym  # noqa: F401,I001  (first: headless GL for MuJoCo)
import mujoco
import numpy as np

from aligngym.benchmarks.rapl.franka_policies import POOL, noisy_scripted
from aligngym.envs.rapl.franka_push import STATE, FrankaPushEnv

ENVS = {"group": dict(preference="group"), "clutter": dict(preference="clutter"),
        "fetch": dict(preference="group", robot="fetch")}


def _uniform(env, rng):
    return lambda obs, rng: rng.uniform(-1, 1, 3).astype(np.float32)


def _bang_bang(env, rng):
    return lambda obs, rng: rng.choice([-1.0, 1.0], 3).astype(np.float32)


def _sweep(env, rng):
    """Toward the robot and up or down, held for the episode (with noise): what drives the arm into the cubes or
    itself (arm contact), which the other kinds hardly ever do."""
    direction = np.array([1.0, 0.0, rng.choice([-1.0, 1.0])])
    return lambda obs, rng: np.clip(direction + rng.normal(0, 0.2, 3), -1, 1).astype(np.float32)


def policies(per_kind: int) -> list:
    """Each kind `per_kind` times: uniform and bang-bang random actions, sweeps, the preference pools' policies."""
    kinds = [_uniform, _bang_bang, _sweep] + [noisy_scripted(kind, noise) for kind, noise in POOL]
    return [k for k in kinds for _ in range(per_kind)]


def _feed(h, *values) -> None:
    for v in values:
        h.update(v.tobytes() if isinstance(v, np.ndarray) else repr(v).encode())
        h.update(b"|")


def trace(kwargs: dict, per_kind: int, seed: int = 0) -> dict:
    """The hash of every output of the episodes, and one per episode (to find where two runs part)."""
    env = FrankaPushEnv(**kwargs)
    rng = np.random.default_rng(seed)
    whole, episodes, steps, contact_steps, successes = hashlib.sha256(), [], 0, 0, 0
    for e, make in enumerate(policies(per_kind)):
        h = hashlib.sha256()
        # seeded and unseeded resets, and some with the cubes placed by hand
        options = {"cube_positions": [[0.62, -0.05], [0.5, 0.08]]} if e % 9 == 4 else None
        obs, info = env.reset(seed=None if e % 3 == 1 else seed + e, options=options)
        policy = make(env, rng)
        _feed(h, obs, sorted(info.items()))
        done, t = False, 0
        while not done:
            obs, reward, terminated, truncated, info = env.step(policy(obs, rng))
            _feed(h, obs, obs.dtype, reward, terminated, truncated, sorted(info.items()))
            done, t, steps = terminated or truncated, t + 1, steps + 1
            contact_steps += info["arm_contact"] > 0
            if e % 7 == 3 and t == 20 and not done:
                env = pickle.loads(pickle.dumps(env))
        successes += info["metrics"]["preference_success"] > 0
        physics = np.empty(mujoco.mj_stateSize(env.model, STATE))
        mujoco.mj_getState(env.model, env.data, physics, STATE)
        _feed(h, physics)
        episodes.append(h.hexdigest()[:16])
        whole.update(h.digest())
    return {"sha256": whole.hexdigest(), "episodes": len(episodes), "steps": steps, "arm_contact_steps": contact_steps,
            "preference_successes": successes, "per_episode": episodes}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="JSON file for the hashes.")
    parser.add_argument("--compare", type=Path, help="A JSON file of an earlier run: exit 1 unless identical.")
    parser.add_argument("--per-kind", type=int, default=7, help="Episodes per policy kind and env (8 kinds).")
    args = parser.parse_args()
    result = {name: trace(kwargs, args.per_kind) for name, kwargs in ENVS.items()}
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    for name, r in result.items():
        print(f"{name}: {r['episodes']} episodes, {r['steps']} steps ({r['arm_contact_steps']} with arm contact, "
              f"{r['preference_successes']} episodes meeting the preference), sha256 {r['sha256']}")
    if args.compare is None:
        return 0
    before = json.loads(args.compare.read_text())
    same = True
    for name, r in result.items():
        if r["sha256"] != before[name]["sha256"]:
            same = False
            first = next((i for i, (a, b) in enumerate(zip(r["per_episode"], before[name]["per_episode"])) if a != b),
                         None)
            print(f"{name}: DIFFERENT (first differing episode: {first})")
    print("bit-identical" if same else "outputs changed")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
