"""A scripted sweeper for the 2D sweep-to-top env: varied, purposeful videos for the simulated user to rank.

It acts on the env's state vector (robot x, y; debris x, y; cos and sin of the heading), so it runs on State ids
as an agent (`rapl.sweeper`) and, reading `env.unwrapped.state()`, collects videos on any observation type. It
pushes the debris one at a time towards the top wall. Per episode it draws a style: the order of the debris, how
far it herds them towards the middle (`gather`, which lowers the `group` cost), whether it keeps out of the
off-limits rug (`detour`, which lowers the `avoid` cost) and how noisy its actions are.
"""
from __future__ import annotations

import math

import numpy as np

from aligngym.agents.base import Agent, AgentContext
from aligngym.agents.rapl.episodes import per_episode
from aligngym.envs.rapl.sweep import ZONE_HI, ZONE_LO


def _heading_error(robot, angle: float, target) -> tuple[float, float]:
    d = np.asarray(target) - robot
    forward = np.array([-math.sin(angle), math.cos(angle)])
    err = math.atan2(forward[0] * d[1] - forward[1] * d[0], forward @ d)
    return err, float(np.linalg.norm(d))


class Sweeper:
    """One episode's scripted sweeper with a fixed style; `__call__(state, rng)` -> action."""

    def __init__(self, dof: int, order, gather: float, detour: bool, noise: float):
        self.dof, self.order, self.gather, self.detour, self.noise = dof, list(order), gather, detour, noise
        self.last, self.still, self.backing = None, 0, 0

    def __call__(self, state: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        robot, debris = np.asarray(state[:2], float), np.asarray(state[2:8], float).reshape(3, 2)
        angle = math.atan2(state[9], state[8])
        action = np.zeros(self.dof)
        pose = np.array([*robot, angle])
        moved = self.last is None or np.abs(pose - self.last).max() > 0.04
        self.last, self.still = pose, 0 if moved else self.still + 1
        if self.still >= 3:  # wedged against debris or a wall: back off for a moment
            self.still, self.backing = 0, 4
        if self.backing:
            self.backing -= 1
            action[0], action[1] = -0.7, 0.8
            return action.astype(np.float32)
        target = self._target(robot, angle, debris)
        if self.detour and np.all((target > ZONE_LO - 0.25) & (target < ZONE_HI + 0.25)):
            target = np.array([ZONE_LO[0] - 0.3, target[1]])  # pass left of the rug
        err, dist = _heading_error(robot, angle, target)
        action[0], action[1] = min(1.0, 2.0 * dist) * max(math.cos(err), 0.0), np.clip(2.0 * err, -1, 1)
        if self.dof == 3:
            action[2] = 0.2  # half-closed fingers make a scoop
        action += rng.normal(0, self.noise, action.shape) if self.noise else 0.0
        return np.clip(action, -1, 1).astype(np.float32)

    def _target(self, robot, angle, debris) -> np.ndarray:
        centre = debris.mean(axis=0)
        waiting = [k for k in self.order if debris[k, 1] < 0.9]
        spread = np.linalg.norm(debris[:, None] - debris[None], axis=-1).max()
        if self.gather > 0.5 and spread > 0.4 and len(waiting) == 3:  # herd the outermost debris to the others
            k = int(np.argmax(np.linalg.norm(debris - centre, axis=1)))
            others = np.delete(debris, k, axis=0).mean(axis=0)
            goal = others + (debris[k] - others) / (np.linalg.norm(debris[k] - others) + 1e-9) * 0.25
        elif waiting:
            k = waiting[0]
            goal = np.array([(1 - self.gather) * debris[k, 0] + self.gather * centre[0], 1.0])
        else:
            return np.array([centre[0], 0.0])
        push = (goal - debris[k]) / (np.linalg.norm(goal - debris[k]) + 1e-9)
        side = np.array([-push[1], push[0]])
        rel = robot - debris[k]
        if np.dot(rel, push) > -0.2:  # in front of or beside the debris: go round it, not through it
            return debris[k] + (side if np.dot(rel, side) >= 0 else -side) * 0.4 - push * 0.2
        if np.linalg.norm(robot - (debris[k] - push * 0.4)) > 0.2 and abs(_heading_error(robot, angle, debris[k])[0]) > 0.5:
            return debris[k] - push * 0.4
        return debris[k] + push * 0.15 - side * np.dot(rel, side) * 2.0  # push, steering back onto the line


@per_episode
def sweeper(env, rng: np.random.Generator, gather: float | None = None, detour: bool | None = None,
            noise: float | None = None):
    """A per-episode policy for `collect_episodes`: a sweeper with a random style (or the given one)."""
    sim = env.unwrapped
    policy = Sweeper(sim.dof, rng.permutation(3), rng.uniform(0, 1) if gather is None else gather,
                     bool(rng.integers(2)) if detour is None else detour,
                     rng.uniform(0.0, 0.3) if noise is None else noise)
    return lambda obs, rng: policy(sim.state(), rng)


class SweeperAgent(Agent):
    """The scripted sweeper as a harness agent on State ids (one sweeper per parallel env, reset per episode)."""

    name = "rapl.sweeper"

    def __init__(self, dof: int, gather: float, detour: bool):
        self.dof, self.gather, self.detour = dof, gather, detour
        self.hyperparameters = {"gather": gather, "detour": detour}

    def reset(self, num_envs: int = 1, seed: int | None = None) -> None:
        super().reset(num_envs, seed)
        self.rng = np.random.default_rng(seed)
        self.policies = [Sweeper(self.dof, range(3), self.gather, self.detour, 0.0) for _ in range(num_envs)]

    def act(self, obs_batch):
        actions = []
        for i, obs in enumerate(obs_batch):
            if obs[1] < -0.59 and abs(obs[0]) < 1e-3:  # back at the start pose: a new episode began
                self.policies[i] = Sweeper(self.dof, range(3), self.gather, self.detour, 0.0)
            actions.append(self.policies[i](obs, self.rng))
        return np.stack(actions)


def sweeper_agent(ctx: AgentContext, gather: float = 0.0, detour: bool = False) -> Agent:
    """`rapl.sweeper`: sweeps the debris left to right; `gather=1` herds them together first (the `group`
    user's way), `detour=true` keeps out of the rug (the `avoid` user's way). State observations only."""
    shape = getattr(ctx.observation_space, "shape", None)
    if shape not in ((16,), (17,)):
        raise ValueError(f"rapl.sweeper needs a SweepToTop State id (16 or 17 numbers); {ctx.env_id} observes {shape}.")
    return SweeperAgent(ctx.action_space.shape[0], float(gather), bool(detour))


def constant_agent(ctx: AgentContext, action: list | str | float = 0.0) -> Agent:
    """`rapl.constant?action=[1,0]`: a content-free baseline that sends the same action every step (a list, a
    comma-separated string, or one number for every entry). Driving straight ahead ([1, 0]) sweeps the demo layout
    with a long stick, so it tests that a preference cannot be met by a blind policy."""
    from aligngym.agents.base import CallableAgent

    dof = ctx.action_space.shape[0]
    try:
        values = [float(v) for v in action.split(",")] if isinstance(action, str) else np.ravel(action).astype(float)
        fixed = np.broadcast_to(np.asarray(values, np.float32), (dof,)).copy()
    except ValueError as exc:
        raise ValueError(f"rapl.constant: action must be 1 or {dof} numbers in [-1, 1] for {ctx.env_id}; "
                         f"got {action!r}.") from exc
    if not np.all(np.isfinite(fixed)) or np.any(np.abs(fixed) > 1.0):
        raise ValueError(f"rapl.constant: action must be 1 or {dof} numbers in [-1, 1]; got {action!r}.")
    agent = CallableAgent(lambda obs: np.tile(fixed, (len(obs), 1)), name="rapl.constant")
    agent.hyperparameters = {"action": fixed.tolist()}
    return agent


def still_agent(ctx: AgentContext) -> Agent:
    """`rapl.still`: the constant baseline that never moves (it trivially satisfies `avoid`)."""
    agent = constant_agent(ctx, 0.0)
    agent.name = "rapl.still"
    return agent
