"""Scripted policies for the rapl MuJoCo push envs (`envs/rapl/franka_push.py`), read off the state observation.

- `expert`: what the end user wants: push the far cube sideways into line with the near one, then push it to the
  line so that it drives the near cube ahead of it (cubes at the line and together; no clutter pushed on purpose).
- `task_only`: what the task reward asks and nothing more: each cube straight to the line along its own y, so
  the cubes end apart unless they started aligned (the "cheater" with respect to the hidden preference).
- `constant`: the zero action every step (content-free); the preference pools also use smooth random motion.

Both scripted pushers are closed loops: stand behind the cube on the far side from its goal, push through, and
lift over the cubes whenever the pusher has to get around one (backing away from the cube as it rises, so as not
to drag it along); a pusher that has drifted off the push line backs off and realigns before pushing on (sliding
across while touching the cube would push it aside).
"""
from __future__ import annotations

import numpy as np

from aligngym.agents.base import Agent
from aligngym.agents.rapl.episodes import per_episode, smooth_random_policy
from aligngym.envs.rapl import mj_scene
from aligngym.envs.rapl.franka_push import STEP_SIZE

HIGH = 0.06  # height above its lowest allowed position at which the pusher passes over the cubes
BEHIND = mj_scene.CUBE_HALF + 0.025  # pusher centre behind the cube centre while pushing
IN_PLACE = 0.035  # farther than this from its pushing spot, the pusher goes around above the cubes
AWAY = 0.02  # while rising to go around, the pusher also backs this far away from the cube (not to drag it along)
OFF_LINE = 0.015  # sideways from the push line by more than this, the pusher backs off and realigns
RETREAT = 0.015  # how far behind its pushing spot it realigns
VERSION = "v3"
"""Part of the video-cache name of every pool policy: bump it when a scripted policy or what the env records
changes. v2: the pusher backs away while rising, realigns out of contact and pushes at full speed far from the goal
(v1 vs v2 success in docs/rapl_franka.md; `bench_franka_expert.py` measures the current one). v3: the same
policies, rendered again after the env's fingertip fix (29 Nov 2026), which moved the stored preference costs."""


def _toward(ee: np.ndarray, target: np.ndarray) -> np.ndarray:
    return np.clip((target - ee) / STEP_SIZE, -1.0, 1.0).astype(np.float32)


def push_action(ee: np.ndarray, cube: np.ndarray, goal_xy: np.ndarray, z_low: float) -> np.ndarray | None:
    """One step of pushing `cube` toward `goal_xy`; None once it is there (within 1.5 cm)."""
    offset = goal_xy - cube[:2]
    dist = float(np.linalg.norm(offset))
    if dist < 0.015:
        return None
    u = offset / dist
    behind = cube[:2] - u * BEHIND
    rel = ee[:2] - cube[:2]
    if np.linalg.norm(ee[:2] - behind) > IN_PLACE:  # not in place: rise, go around above the cubes, come down
        if ee[2] < z_low + HIGH - 0.03:
            away = rel / max(float(np.linalg.norm(rel)), 1e-6)
            return _toward(ee, np.array([*(ee[:2] + AWAY * away), z_low + HIGH]))
        return _toward(ee, np.array([*behind, z_low + HIGH]))
    if ee[2] > z_low + 0.01:
        return _toward(ee, np.array([*behind, z_low]))
    if abs(float(rel @ np.array([-u[1], u[0]]))) > OFF_LINE:
        # pushing from off the line would turn the cube aside, and sliding across while touching it pushes it aside:
        # back off behind the pushing spot first
        return _toward(ee, np.array([*(cube[:2] - u * (BEHIND + RETREAT)), z_low]))
    # push through, slowing down near the goal so that the cube does not slide past it
    return _toward(ee, np.array([*(behind + u * min(0.5 * dist + 0.004, STEP_SIZE)), z_low]))


class ScriptedPusher:
    """`expert` or `task_only`; call with the state observation, get an action in [-1, 1]^3."""

    def __init__(self, env, kind: str = "expert"):
        if kind not in ("expert", "task_only"):
            raise ValueError(f"kind must be 'expert' or 'task_only'; got {kind!r}.")
        self.kind = kind
        self.z_low = float(env.unwrapped._workspace[0][2])
        self.stage = 0

    def reset(self):
        self.stage = 0

    def goals(self, cubes: np.ndarray) -> list[tuple[int, np.ndarray]]:
        far, near = (0, 1) if cubes[0, 0] > cubes[1, 0] else (1, 0)
        line, width = mj_scene.LINE_X, 2 * mj_scene.CUBE_HALF
        if self.kind == "task_only":  # far cube first: the pusher starts behind it
            return [(far, np.array([line + 0.03, cubes[far, 1]])), (near, np.array([line + 0.03, cubes[near, 1]]))]
        # pushes along one axis at a time: diagonal pushes make a cube spin and slide off the pusher
        return [(far, np.array([cubes[far, 0], cubes[near, 1]])),
                (far, np.array([line + 0.01 + width, cubes[near, 1]]))]

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        if obs[-1] == 0.0:  # the elapsed fraction of the episode: 0 right after a reset
            self.reset()
        ee, cubes = obs[:3], obs[6:12].reshape(2, 3)
        plan = self.goals(cubes)
        while self.stage < len(plan):
            cube, goal = plan[self.stage]
            action = push_action(ee, cubes[cube], goal, self.z_low)
            if action is not None:
                return action
            self.stage += 1
        return _toward(ee, np.array([*ee[:2], self.z_low + HIGH]))  # done: lift clear


def noisy_scripted(kind: str, max_noise: float):
    """A per-episode policy factory for `collect_episodes`: the scripted pusher `kind` ("expert", "task_only") or
    none ("random": smooth random motion), plus Gaussian action noise whose scale is drawn per episode from
    [0, max_noise], so that a pool of videos spans good to bad by the user's hidden preference."""

    @per_episode
    def factory(env, rng: np.random.Generator):
        std = rng.uniform(0.0, max_noise)
        if kind == "random":
            base = smooth_random_policy(env.action_space, rng)
        else:
            pusher = ScriptedPusher(env, kind)
            base = lambda obs, rng: pusher(obs)  # noqa: E731
        return lambda obs, rng: np.clip(base(obs, rng) + rng.normal(0.0, std, 3), -1.0, 1.0).astype(np.float32)

    return factory


POOL = (("expert", 0.3), ("expert", 1.0), ("task_only", 0.3), ("task_only", 1.0), ("random", 0.0))
"""The mix of policies a preference pool is drawn from: (kind, max_noise), equal shares."""


class ScriptedAgent(Agent):
    """The harness's face of the scripted policies: `expert`, `task_only` or `constant` (the zero action: stand
    still) on a batch of state observations."""

    def __init__(self, make_env, kind: str):
        if kind not in ("expert", "task_only", "constant"):
            raise ValueError(f"kind must be 'expert', 'task_only' or 'constant'; got {kind!r}.")
        self.kind, self.name = kind, f"franka-{kind}"
        self.hyperparameters = {"kind": kind}
        env = make_env()
        self._template = env
        self.pushers: list[ScriptedPusher] = []

    def reset(self, num_envs: int = 1, seed: int | None = None) -> None:
        super().reset(num_envs, seed)
        self.pushers = [ScriptedPusher(self._template, self.kind) for _ in range(num_envs)] if self.kind != \
            "constant" else []

    def act(self, obs_batch):
        if self.kind == "constant":
            return np.zeros((len(obs_batch), 3), np.float32)
        return np.stack([p(o) for p, o in zip(self.pushers, obs_batch)])
