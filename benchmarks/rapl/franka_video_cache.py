"""A disk cache of rollout videos for preference queries, so that reward learning never re-renders a rollout.

Rendering dominates the cost of a MuJoCo rollout (a 112 px frame costs ~10x a control step on CPU), and RAPL,
RLHF, the simulated user and the Spearman scoring all look at the same videos again and again. Each episode is
stored once as a compressed `.npz` (frames uint8 [T, H, W, 3], preference_cost [T], task_reward [T], the
episode-end metrics as JSON), keyed by (env id, env kwargs, policy name, seed) and by what made the frames: the
mujoco and gymnasium-robotics versions and a hash of the env's code (`franka_push.py`, `mj_scene.py`, without
docstrings and comments), so that a changed simulator, robot model or env never serves old videos (a changed key
renders anew; old entries stay on disk, unread). Episode `i` of a request is
`collect_episodes(env, policy, n=1, seed=seed + i)`, whether it was cached or not, so a cached pool and a fresh
one are identical. Writes are atomic (a temporary file, then a rename), so an interrupted run leaves no half
file behind. Works for any rapl env (any env `collect_episodes` accepts).
"""
from __future__ import annotations

import ast
import functools
import hashlib
import importlib.metadata
import inspect
import json
import os
import re
from pathlib import Path
from typing import Callable

import gymnasium as gym
import mujoco
import numpy as np

from aligngym.agents.rapl.episodes import Episode, collect_episodes
from aligngym.envs.rapl import franka_push, mj_scene

FORMAT = 1  # bump when what an entry holds changes
DEFAULT_ROOT = Path(os.environ.get("ALIGNGYM_VIDEO_CACHE", Path.home() / ".cache" / "aligngym" / "rapl_videos"))


def code_hash(sources: list[str]) -> str:
    """A hash of Python sources that ignores docstrings, comments and layout (they change no frame)."""
    digest = hashlib.sha256()
    for source in sources:
        tree = ast.parse(source)
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                    and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)):
                node.body = body[1:] or [ast.Pass()]
        digest.update(ast.dump(tree).encode())
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=None)
def renderer_versions() -> dict:
    """What the stored frames and costs depend on besides the key's env id, kwargs, policy and seed."""
    return {"mujoco": mujoco.__version__, "gymnasium_robotics": importlib.metadata.version("gymnasium-robotics"),
            "env_code": code_hash([inspect.getsource(m) for m in (franka_push, mj_scene)])}


def cache_key(env_id: str, env_kwargs: dict, policy: str, seed: int) -> str:
    spec = json.dumps({"env": env_id, "kwargs": env_kwargs, "policy": policy, "seed": seed, "format": FORMAT,
                       **renderer_versions()}, sort_keys=True, default=str)
    return hashlib.sha256(spec.encode()).hexdigest()[:24]


class VideoCache:
    def __init__(self, root: str | Path = DEFAULT_ROOT):
        self.root = Path(root)
        self.hits = self.misses = 0

    def path(self, env_id: str, env_kwargs: dict, policy: str, seed: int) -> Path:
        slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{env_id}__{policy}")
        return self.root / slug / f"{cache_key(env_id, env_kwargs, policy, seed)}.npz"

    def episodes(self, env_id: str, policy_name: str, policy: Callable | str, n: int, seed: int = 0,
                 progress: bool = False, **env_kwargs) -> list[Episode]:
        """`n` episodes (seeds seed .. seed + n - 1) of `policy`, registered under `policy_name` (the name is the
        key: give a changed policy a new name). Missing ones are rolled out and stored."""
        if n < 1:
            raise ValueError(f"n must be >= 1 episodes; got {n}.")
        env = None
        out = []
        for i in range(n):
            path = self.path(env_id, env_kwargs, policy_name, seed + i)
            if path.exists():
                self.hits += 1
                out.append(load(path))
                continue
            self.misses += 1
            if env is None:
                env = gym.make(env_id, render_mode="rgb_array", **env_kwargs)
            episode = collect_episodes(env, policy, n=1, seed=seed + i, progress=False)[0]
            save(episode, path)
            out.append(episode)
            if progress:
                print(f"  {env_id} {policy_name}: rendered episode {i + 1}/{n}", flush=True)
        if env is not None:
            env.close()
        return out


def save(episode: Episode, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}.npz")
    task = episode.task_reward if episode.task_reward is not None else np.full(len(episode), np.nan)
    np.savez_compressed(tmp, frames=episode.frames, preference_cost=episode.preference_cost, task_reward=task,
                        metrics=np.array(json.dumps(episode.metrics)))
    os.replace(tmp, path)


def load(path: Path) -> Episode:
    with np.load(path) as data:
        return Episode(data["frames"], data["preference_cost"], data["task_reward"],
                       json.loads(str(data["metrics"])))
