"""Baseline factories of the shaping family (registered in aligngym.agents.spec as `shaping.<name>`).

Trained factories train inside the factory on the evaluated id and kwargs (so the heuristic the env was
made with is the one they are shaped by), for `budget` episodes, then act by sampling their stochastic
policy (seeded by `reset`); `greedy=true` takes the most probable action instead. Sampling is the default
because in the stochastic GridWorld a half-trained greedy policy often walks into a wall and stays there
(after 2048 episodes on GridWorld-v0, one run: 6% success greedy vs 91% sampled):
    shaping.reinforce?mode=naive&budget=3000
    shaping.actor_critic?mode=pbrs
    shaping.barfi?inner=actor_critic&variant=first_order&outer_lr=0.05   (any field of `Args`, args.py)
    shaping.ppo?mode=naive&budget=20000          (SB3 PPO on the blended reward; budget in env steps)
`shaping.heuristic?controller=good` is the designer's hand-written controller the heuristic was built from.
"""
from __future__ import annotations

import numpy as np
import torch

from dataclasses import asdict

from aligngym.agents.base import Agent, AgentContext, CallableAgent
from aligngym.agents.shaping.args import make_args
from aligngym.agents.shaping.sb3_blended import ppo  # noqa: F401  (registered as shaping.ppo)
from aligngym.agents.shaping.train import train

BUDGET = 3000  # training episodes


class PolicyAgent(Agent):
    """Acts with a trained policy: samples from it (seeded by `reset`), or greedily (Gaussian: the mean)."""

    def __init__(self, policy, name: str, hyperparameters: dict, greedy: bool = False):
        self.policy, self.name, self.greedy = policy, name, greedy
        self.hyperparameters = {**hyperparameters, "greedy": greedy}
        self.generator = torch.Generator().manual_seed(0)

    def reset(self, num_envs: int = 1, seed: int | None = None) -> None:
        super().reset(num_envs, seed)
        self.generator.manual_seed(0 if seed is None else int(seed))

    def act(self, obs_batch):
        obs = np.asarray(obs_batch, dtype=np.float32)
        return self.policy.greedy(obs) if self.greedy else self.policy.to_env(self.policy.sample(obs, self.generator))


class PDControllerAgent(Agent):
    """CartPole's angle-only PD controller with the env's finite-difference derivative: it remembers the last
    angle it saw in each env (0 after `reset`). Where a vector env restarts an episode mid-batch, the first
    step of the new episode uses the old episode's last angle (the agent cannot see the restart)."""

    name = "shaping.heuristic"

    def __init__(self, controller: str):
        from aligngym.envs.shaping import cartpole

        self.cartpole, self.controller, self.prev = cartpole, controller, None

    def reset(self, num_envs: int = 1, seed: int | None = None) -> None:
        super().reset(num_envs, seed)
        self.prev = np.zeros(num_envs)

    def act(self, obs_batch):
        theta = np.asarray(obs_batch, dtype=np.float64)[:, self.cartpole.THETA]
        prev = np.zeros(len(theta)) if self.prev is None or len(self.prev) != len(theta) else self.prev
        self.prev = theta
        return self.cartpole.pd_action(self.controller, theta, prev)


def _trained(ctx: AgentContext, algo: str, mode: str, budget: int, greedy: bool, overrides: dict) -> PolicyAgent:
    args = make_args(**overrides)
    result = train(ctx.env_id, algo=algo, mode=mode, episodes=int(budget), seed=ctx.seed, env_kwargs=ctx.env_kwargs,
                   args=args)
    params = {"algo": algo, "mode": mode, "budget": int(budget), **asdict(args),
              "final_training_primary_return": result.primary_return[-1]}
    if mode == "barfi":
        params.update(result.reward_params[-1])
    name = "shaping.barfi" if mode == "barfi" else f"shaping.{algo}"
    return PolicyAgent(result.learner.policy, name, params, greedy=bool(greedy))


def reinforce(ctx: AgentContext, mode: str = "primary", budget: int = BUDGET, greedy: bool = False,
              **args) -> Agent:
    """REINFORCE on the reward of `mode` (primary, naive, pbrs, barfi); `args` override fields of `Args`."""
    return _trained(ctx, "reinforce", mode, budget, greedy, args)


def actor_critic(ctx: AgentContext, mode: str = "primary", budget: int = BUDGET, greedy: bool = False,
                 **args) -> Agent:
    """Advantage actor-critic on the reward of `mode`; `args` override fields of `Args`."""
    return _trained(ctx, "actor_critic", mode, budget, greedy, args)


def barfi(ctx: AgentContext, budget: int = BUDGET, inner: str = "reinforce", greedy: bool = False, **args) -> Agent:
    """BARFI with `inner` (reinforce or actor_critic) as the inner learner; `args` override fields of `Args`
    (e.g. variant=first_order)."""
    return _trained(ctx, inner, "barfi", budget, greedy, args)


def heuristic(ctx: AgentContext, controller: str = "good") -> Agent:
    """The hand-written controller behind each env's heuristic: GridWorld walks to the goal, MountainCar
    pushes along its velocity, CartPole runs the good or weak PD controller."""
    from aligngym.envs.shaping import cartpole, gridworld, mountaincar

    name = ctx.env_id.split("/")[-1]
    if "CartPole" not in name and controller != "good":
        raise ValueError(f"controller={controller!r} exists only on CartPole; {ctx.env_id} has one controller (good).")
    if "CartPole" in name:
        if controller not in cartpole.CONTROLLERS:
            raise ValueError(f"Unknown CartPole controller {controller!r}; allowed: {', '.join(cartpole.CONTROLLERS)}.")

        agent = PDControllerAgent(controller)
        agent.hyperparameters = {"controller": controller}
        return agent
    elif "MountainCar" in name:
        fn = lambda obs: np.where(np.asarray(obs)[:, mountaincar.VELOCITY] >= 0, 2, 0)  # noqa: E731
    elif "GridWorld" in name:
        def fn(obs):  # step along the axis that is further from the goal's centre
            gap = gridworld.GOAL_CENTRE - np.asarray(obs, dtype=np.float64)[:, gridworld.POSITION]
            return np.where(gap[:, 0] > gap[:, 1], 1, 0)
    else:
        raise ValueError(f"No hand-written controller for {ctx.env_id}; "
                         "available for GridWorld, MountainCar and CartPole.")
    agent = CallableAgent(fn, name="shaping.heuristic")
    agent.hyperparameters = {"controller": controller}
    return agent
