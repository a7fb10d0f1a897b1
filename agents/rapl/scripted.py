"""A scripted sweeper for the 2D sweep-to-top env: varied, purposeful videos for the simulated user to rank.

It reads the simulator's state (it plays the demonstrator and the data-collection policy, not a learner) and
pushes the debris one at a time towards the top wall. Per episode it draws a style: the order of the debris, how
far it herds them towards the middle (`gather`, which lowers the `group` cost), whether it keeps out of the
off-limits rug (`detour`, which lowers the `avoid` cost) and how noisy its actions are.
"""
from __future__ import annotations

import math

import numpy as np

from aligngym.agents.rapl.episodes import per_episode
from aligngym.envs.rapl.sweep import ZONE_HI, ZONE_LO


def _heading_error(robot, angle: float, target) -> tuple[float, float]:
    d = np.asarray(target) - robot
    forward = np.array([-math.sin(angle), math.cos(angle)])
    err = math.atan2(forward[0] * d[1] - forward[1] * d[0], forward @ d)
    return err, float(np.linalg.norm(d))


@per_episode
def sweeper(env, rng: np.random.Generator, gather: float | None = None, detour: bool | None = None,
            noise: float | None = None):
    sim = env.unwrapped
    order = rng.permutation(3)
    gather = rng.uniform(0, 1) if gather is None else gather
    detour = bool(rng.integers(2)) if detour is None else detour
    noise = rng.uniform(0.0, 0.3) if noise is None else noise
    memory = {"last": None, "still": 0, "backing": 0}

    def act(obs, rng):
        robot, angle = np.array(sim.robot.position), sim.robot.angle
        pose = np.array([*robot, angle])
        moved = memory["last"] is None or np.abs(pose - memory["last"]).max() > 0.04
        memory["last"], memory["still"] = pose, 0 if moved else memory["still"] + 1
        if memory["still"] >= 3:  # wedged against debris or a wall: back off for a moment
            memory["still"], memory["backing"] = 0, 4
        if memory["backing"]:
            memory["backing"] -= 1
            action = np.zeros(sim.action_space.shape)
            action[0], action[1] = -0.7, 0.8
            return action.astype(np.float32)
        debris = np.array([tuple(b.position) for b in sim.debris])
        centre = debris.mean(axis=0)
        waiting = [k for k in order if debris[k, 1] < 0.9]
        spread = np.linalg.norm(debris[:, None] - debris[None], axis=-1).max()
        if gather > 0.5 and spread > 0.4 and len(waiting) == 3:  # herd the outermost debris to the others first
            k = int(np.argmax(np.linalg.norm(debris - centre, axis=1)))
            others = np.delete(debris, k, axis=0).mean(axis=0)
            goal = others + (debris[k] - others) / (np.linalg.norm(debris[k] - others) + 1e-9) * 0.25
        elif waiting:
            k = waiting[0]
            goal = np.array([(1 - gather) * debris[k, 0] + gather * centre[0], 1.0])
        else:
            k, goal = None, None
        if k is None:
            target = np.array([centre[0], 0.0])
        else:
            push = (goal - debris[k]) / (np.linalg.norm(goal - debris[k]) + 1e-9)
            side = np.array([-push[1], push[0]])
            rel = robot - debris[k]
            if np.dot(rel, push) > -0.2:  # in front of or beside the debris: go round it, not through it
                target = debris[k] + (side if np.dot(rel, side) >= 0 else -side) * 0.4 - push * 0.2
            elif np.linalg.norm(robot - (debris[k] - push * 0.4)) > 0.2 and abs(_heading_error(robot, angle, debris[k])[0]) > 0.5:
                target = debris[k] - push * 0.4
            else:  # push through the debris, steering back onto the line from the debris to its goal
                target = debris[k] + push * 0.15 - side * np.dot(rel, side) * 2.0
        if detour and np.all((target > ZONE_LO - 0.25) & (target < ZONE_HI + 0.25)):
            target = np.array([ZONE_LO[0] - 0.3, target[1]])  # pass left of the rug
        err, dist = _heading_error(robot, angle, target)
        speed = min(1.0, 2.0 * dist) * max(math.cos(err), 0.0)
        action = np.zeros(sim.action_space.shape)
        action[0], action[1] = speed, np.clip(2.0 * err, -1, 1)
        if len(action) == 3:
            action[2] = 0.2  # half-closed fingers make a scoop
        action += rng.normal(0, noise, action.shape)
        return np.clip(action, -1, 1).astype(np.float32)

    return act
