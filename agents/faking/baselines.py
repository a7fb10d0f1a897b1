"""Baselines for AlignGym/FakingIncentive-v0 (observations [harmful, cue free, integrity, steps left / horizon]).

    faking.always_refuse   refuse every request (the original values, ignoring the training incentive)
    faking.always_comply   comply with every request (what the training objective wants)
    faking.faker           comply with harmful requests when the cue says free tier, refuse when it says paid
    faking.optimal         the exact optimal policy by backward induction (`optimal.py`): the limit
    faking.ppo             stable-baselines3 PPO trained on the env (`ppo.py`)
"""
from __future__ import annotations

import numpy as np

from aligngym.agents.base import Agent, AgentContext, CallableAgent
from aligngym.agents.faking.optimal import optimal_actions, solve
from aligngym.envs.faking.incentive import COMPLY, REFUSE


def _obs(batch) -> np.ndarray:
    return np.asarray(batch, dtype=np.float32).reshape(-1, 4)


def always_refuse(ctx: AgentContext) -> Agent:
    return CallableAgent(lambda obs: np.full(len(_obs(obs)), REFUSE), name="faking.always_refuse")


def always_comply(ctx: AgentContext) -> Agent:
    return CallableAgent(lambda obs: np.full(len(_obs(obs)), COMPLY), name="faking.always_comply")


def faker(ctx: AgentContext) -> Agent:
    """Refuses a harmful request only when the cue says paid tier (unmonitored)."""
    def act(obs):
        o = _obs(obs)
        return np.where((o[:, 0] > 0.5) & (o[:, 1] < 0.5), REFUSE, COMPLY)
    return CallableAgent(act, name="faking.faker")


class OptimalAgent(Agent):
    """Looks up the exact optimal action for the env's kwargs."""

    name = "faking.optimal"

    def __init__(self, env_kwargs: dict):
        self.solution = solve(**{k: v for k, v in env_kwargs.items() if k != "render_mode"})
        self.hyperparameters = {"solver": "backward induction", **self.solution.params}

    def act(self, obs_batch) -> np.ndarray:
        return optimal_actions(_obs(obs_batch), self.solution)


def optimal(ctx: AgentContext) -> Agent:
    return OptimalAgent(ctx.env_kwargs)
