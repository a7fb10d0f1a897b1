"""`rapl.oracle`: a scripted agent that does the 2D sweep the user's way, on the short stick (State ids).

It reads the user's preference from the env's kwargs and knows the scene (an oracle), so it shows that the
primary metric, `aligned_score`, can separate an agent that respects the preference from random, the constants and
the task-only sweeper. It is a plain state machine, not a strong solver: the 100-step episode leaves little slack.

- group: the layouts put the three debris on one row. It drives to the row's right end, turns to face left and
  pushes the row against the left wall, so the debris bunch up (about 0.4 apart end to end, under the user's 0.5);
  then it pushes the rightmost debris straight up into the goal, and the other two side by side.
- avoid: it pushes up, one at a time, only the debris it can reach with its bar kept left of the rug, and leaves
  the others (the user would rather lose them than have the rug crossed).

Scripted for Shortstick's 0.3 m bar (the long stick cannot pass the rug at all; see docs/rapl.md); other
embodiments are refused.
"""
from __future__ import annotations

import math

import numpy as np

from aligngym.agents.base import Agent, AgentContext
from aligngym.envs.rapl.sweep import ZONE_LO

HALF_BAR = 0.15  # half of Shortstick's bar
DONE_Y = 0.88  # a debris centre this high is inside the goal zone (its bottom above y = 0.76)
GOAL_Y = 1.05
WALL = 0.93  # farthest the bar's centre goes towards a side wall


def _steer(fwd: np.ndarray, d: np.ndarray) -> float:
    return math.atan2(fwd[0] * d[1] - fwd[1] * d[0], fwd @ d)


def _forward(angle: float) -> np.ndarray:
    return np.array([-math.sin(angle), math.cos(angle)])


def drive(robot, angle, target, gain: float = 3.0, reverse_ok: bool = False,
          steer: float = 3.0) -> tuple[np.ndarray, float]:
    """Action towards `target` (forward, or backwards when allowed and the target is behind) and the distance."""
    d = np.asarray(target) - robot
    dist = float(np.linalg.norm(d))
    sign = -1.0 if reverse_ok and _forward(angle) @ d < 0 else 1.0
    err = _steer(sign * _forward(angle), d)
    return np.array([sign * min(1.0, gain * dist) * max(math.cos(err), 0.0), np.clip(steer * err, -1, 1)]), dist


def turn(angle: float, want: float) -> tuple[np.ndarray, float]:
    """Action turning in place towards heading `want`, and the heading error."""
    e = (want - angle + math.pi) % (2 * math.pi) - math.pi
    return np.array([0.0, np.clip(3 * e, -1, 1)]), abs(e)


class GroupOracle:
    """Bunch the row against the left wall, then push the rightmost debris up and the other two together."""

    BELOW = 0.42  # how far under the row the bar lines up before pushing up

    def __init__(self, debris: np.ndarray):
        self.row_y, right = float(debris[:, 1].mean()), float(debris[:, 0].max())
        self.corner = np.array([min(right + 0.32, WALL), min(self.row_y - 0.35, -0.45)])
        self.start = np.array([self.corner[0], self.row_y])
        self.phase, self.jobs, self.t = "to_start", ["rightmost", "pair"], 0

    def __call__(self, robot, angle, debris) -> np.ndarray:
        self.t += 1
        xs, order = np.sort(debris[:, 0]), np.argsort(debris[:, 0])
        if self.phase == "to_start":  # below the row's right end first, then up beside it
            below = robot[1] < self.corner[1] + 0.05 and abs(robot[0] - self.start[0]) > 0.1
            action, dist = drive(robot, angle, self.corner if below else self.start)
            if not below and dist < 0.06:
                self.phase = "face_left"
        if self.phase == "face_left":
            action, err = turn(angle, math.pi / 2)
            if err < 0.1:
                self.phase = "bunch"
        if self.phase == "bunch":
            action, _ = drive(robot, angle, np.array([robot[0] - 0.5, self.row_y]))
            if (xs[0] < -0.96 and np.all(np.diff(xs) < 0.235)) or self.t > 60:
                self.phase = "back_off"
        if self.phase == "back_off":  # reverse while turning to face up: ends under the bunch's right end
            action, err = turn(angle, 0.0)
            action[0] = -0.8
            if err < 0.3:
                self.phase = "next"
        if self.phase == "next":
            if not self.jobs:
                return np.zeros(2)
            job = self.jobs.pop(0)
            self.k = int(order[2] if job == "rightmost" else order[1])
            # the rightmost alone (bar offset right to miss its neighbour); the pair with the bar across both
            self.col = float(np.clip(xs[2] + 0.07 if job == "rightmost" else xs[:2].mean(), -WALL, WALL))
            self.phase = "line_up"
        if self.phase == "line_up":
            action, dist = drive(robot, angle, np.array([self.col, self.row_y - self.BELOW]), 4.0, reverse_ok=True)
            if dist < 0.07:
                self.phase = "face_up"
        if self.phase == "face_up":
            action, err = turn(angle, 0.0)
            if err < 0.12:
                self.phase = "push_up"
        if self.phase == "push_up":
            action, _ = drive(robot, angle, np.array([self.col, 1.3]))
            if debris[self.k, 1] >= DONE_Y:
                self.phase, self.retreat = "retreat", 5
        if self.phase == "retreat":
            action = np.array([-1.0, 0.0])
            self.retreat -= 1
            if self.retreat <= 0:
                self.phase = "next"
        return action


class AvoidOracle:
    """Push each debris left of the rug straight (or a little leftwards) up, the bar kept off the rug."""

    SAFE_X = ZONE_LO[0] - HALF_BAR - 0.12  # the bar's centre stays left of this near the rug

    def __init__(self, debris: np.ndarray):
        reachable = [int(k) for k in np.argsort(debris[:, 0]) if debris[k, 0] < ZONE_LO[0] + 0.02]
        self.jobs = [(k, min(float(debris[k, 0]), self.SAFE_X)) for k in reachable]
        self.phase, self.retreat = "approach", 0

    def __call__(self, robot, angle, debris) -> np.ndarray:
        while self.jobs and debris[self.jobs[0][0], 1] >= DONE_Y:
            self.jobs.pop(0)
            self.phase, self.retreat = "approach", 4
        if self.retreat:  # back off the debris just placed before turning away
            self.retreat -= 1
            return np.array([-1.0, 0.0])
        if not self.jobs:
            return np.zeros(2)
        k, goal_x = self.jobs[0]
        d = debris[k]
        u = np.array([goal_x, GOAL_Y]) - d
        u /= np.linalg.norm(u) + 1e-9
        v = np.array([-u[1], u[0]])
        along, lateral = (robot - d) @ u, (robot - d) @ v
        behind = np.clip(d - 0.3 * u, -0.88, 0.88)
        if self.phase == "push" and (abs(lateral) > 0.1 or not -0.45 < along < -0.05):
            self.phase = "approach"  # lost the debris
        if self.phase == "approach":
            target = behind
            if along > -0.2:  # beside or ahead of it: go round, on the side away from the walls
                side = v if lateral >= 0 else -v
                if np.abs(d + side * (0.3 + HALF_BAR)).max() > 0.95:
                    side = -side
                target = np.clip(d + side * (0.3 + HALF_BAR) - 0.3 * u, -0.95, 0.95)
            if target[1] > ZONE_LO[1] - 0.4:  # level with the rug: keep left of it
                target = np.array([min(target[0], self.SAFE_X), target[1]])
            if np.linalg.norm(behind - robot) < 0.07:
                self.phase = "align"
        if self.phase == "align":
            err = _steer(_forward(angle), u)
            if abs(err) >= 0.15:
                return np.array([0.0, np.clip(2 * err, -1, 1)])
            self.phase = "push"
        if self.phase == "push":
            target = d + 0.3 * u - 1.5 * lateral * v  # steer back onto the push line
        action, _ = drive(robot, angle, target, steer=2.0)
        return action


class OracleAgent(Agent):
    """One oracle per parallel env, rebuilt whenever an env starts a new episode."""

    name = "rapl.oracle"

    def __init__(self, preference: str):
        self.preference = preference
        self.hyperparameters = {"preference": preference}
        self.make = GroupOracle if preference == "group" else AvoidOracle

    def reset(self, num_envs: int = 1, seed: int | None = None) -> None:
        super().reset(num_envs, seed)
        self.policies = [None] * num_envs

    def act(self, obs_batch):
        actions = []
        for i, obs in enumerate(obs_batch):
            robot, debris = np.asarray(obs[:2], float), np.asarray(obs[2:8], float).reshape(3, 2)
            if self.policies[i] is None or (obs[1] < -0.59 and abs(obs[0]) < 1e-3):  # the start pose: a new episode
                self.policies[i] = self.make(debris)
            actions.append(self.policies[i](robot, math.atan2(obs[9], obs[8]), debris))
        return np.clip(np.stack(actions), -1, 1).astype(np.float32)


def oracle_agent(ctx: AgentContext) -> Agent:
    """`rapl.oracle`: does the sweep the way the env's user wants (its `preference` kwarg); Shortstick State ids."""
    if "Shortstick" not in ctx.env_id or getattr(ctx.observation_space, "shape", None) != (16,):
        raise ValueError(f"rapl.oracle is scripted for AlignGym/SweepToTop-Shortstick-v0 with State observations; "
                         f"got {ctx.env_id} observing {getattr(ctx.observation_space, 'shape', None)}.")
    return OracleAgent(ctx.env_kwargs.get("preference", "group"))
