"""Baselines for the repeated shopping game (AlignGym/Shopping-v1): the equilibrium of its card, and independent
PPO learners for the assistant and the customer.

Independent PPO (a shared loop): the two agents take turns learning. In each phase one agent trains with SB3 PPO
(`agents/ppo.py`) on a single-agent view of the game (`SideEnv`) in which the other agent plays its current policy
(uniform at random before it has trained, and with a small trembling hand after); neither sees the other's
parameters or rewards. `shopping.equilibrium`
plays the subgame-perfect equilibrium the card derives, for comparison and for the scripted checks of that analysis.
"""
from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from typing import Callable

import gymnasium as gym
import numpy as np

from aligngym.agents.base import AgentContext, CallableAgent, SB3Agent
from aligngym.agents.ppo import PPOArgs, train_ppo
from aligngym.envs.shopping.game import AUDIT, BUY, GAME_SLICES, OVERRIDE, SERVE, WHY, ShoppingGameEnv
from aligngym.envs.shopping.scenarios import COMPANY_SEES, CUSTOMER_SEES


@dataclass(frozen=True)
class Args:
    phases: int = 4
    """learning phases, alternating assistant, customer, assistant, ... (the assistant first)"""
    budget: int = 15_000
    """environment steps of the learner in each phase"""
    tremble: float = 0.3
    """while one agent learns, the other moves at random with this probability (a trembling hand), so that states
    off the equilibrium path (an unwatched purchase in `company`) keep being visited and the learner's threat there
    is not forgotten; without it the learners cycle away from the equilibrium"""
    ppo: PPOArgs = field(default=PPOArgs(n_steps=128, batch_size=256, learning_rate=1e-3, gamma=1.0, gae_lambda=0.95,
                                         ent_coef=0.01, net_arch=(32, 32)))
    """PPO settings: the project defaults, except undiscounted returns (episodes are a few rounds, and leaving pays
    the remaining rounds at once), shorter rollouts and a larger step size so a phase learns within its budget,
    a small entropy bonus to keep trying the rarer moves (audits, leaving), and a smaller network for 12 inputs"""


class SideEnv(gym.Env):
    """One agent's view of the game: the other agent's moves are played by `other` (obs batch -> actions, or
    None for uniform random; with probability `tremble` a random move instead) between this agent's turns, and the
    learner's reward sums everything it is paid."""

    def __init__(self, learner: str, other: Callable | None, env_kwargs: dict, tremble: float = 0.0):
        self.game, self.learner = ShoppingGameEnv(**env_kwargs), learner
        self.other_name = next(a for a in self.game.possible_agents if a != learner)
        self.other, self.tremble = other, tremble
        self.observation_space = self.game.observation_space(learner)
        self.action_space = self.game.action_space(learner)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        done = True
        while done:  # a game the other agent ends before the learner's first turn (the customer leaves) is skipped
            obs, _ = self.game.reset(seed=int(self.np_random.integers(2**31)))
            obs, _, done, _ = self._advance(obs)
        return obs[self.learner], {}

    def _advance(self, obs, reward: float = 0.0):
        """Plays the other agent until it is the learner's turn or the game ends."""
        info: dict = {}
        while self.game.agents and self.game.possible_agents[self.game.turn] != self.learner:
            if self.other is None or self.np_random.random() < self.tremble:
                move = int(self.np_random.integers(self.game.action_space(self.other_name).n))
            else:
                move = int(np.asarray(self.other(obs[self.other_name][None]))[0])
            obs, rewards, _, _, infos = self.game.step({self.other_name: move, self.learner: 0})
            reward += rewards[self.learner]
            info = infos.get(self.learner, info)
        return obs, reward, not self.game.agents, info

    def step(self, action):
        obs, rewards, terms, truncs, infos = self.game.step({self.learner: int(action), self.other_name: 0})
        obs, reward, done, info = self._advance(obs, rewards[self.learner])
        info = infos.get(self.learner) or info
        return obs[self.learner], float(reward), done, False, info


def train_independent(env_kwargs: dict, args: Args, seed: int = 0) -> dict[str, SB3Agent]:
    """Alternating independent PPO; returns {"assistant", "customer"} greedy policies."""
    import torch

    policies: dict[str, SB3Agent | None] = {"assistant": None, "customer": None}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 32-unit networks: extra threads only wait on each other (25x slower on 2 busy cores)
    try:
        for phase in range(args.phases):
            learner = ("assistant", "customer")[phase % 2]
            other = policies["customer" if learner == "assistant" else "assistant"]
            model = train_ppo(lambda: SideEnv(learner, other.act if other else None, env_kwargs, args.tremble),
                              args.ppo, args.budget, seed + phase)
            policies[learner] = SB3Agent(model, deterministic=True, name=f"shopping.independent_ppo/{learner}")
            policies[learner].hyperparameters.update(dataclasses.asdict(args), phase=phase)
    finally:
        torch.set_num_threads(threads)
    return policies


def independent_ppo(ctx: AgentContext, budget: int = Args.budget, phases: int = Args.phases):
    """Factory for `shopping.independent_ppo?budget=15000` on AlignGym/Shopping-v1."""
    if set(ctx.agents) != {"assistant", "customer"}:
        raise ValueError(f"shopping.independent_ppo trains the two agents of AlignGym/Shopping-v1, not {ctx.env_id}.")
    agents = train_independent(ctx.env_kwargs, Args(phases=int(phases), budget=int(budget)), ctx.seed)
    for a in agents.values():
        a.name = "shopping.independent_ppo"
    return agents


def equilibrium(ctx: AgentContext, audit_cost: float | None = None, loss: float | None = None):
    """The card's subgame-perfect equilibrium. Customer: audit every round in `company` while audit_cost < loss
    (with the why question, skip one audit and ask why in the last round), else buy; never leave unless audits do
    not pay and the outside option beats an overridden purchase. Assistant: override only where the company reads
    the explanation, the customer does not, nobody watches, and no why question is pending."""
    kwargs = {**_defaults(), **ctx.env_kwargs}
    audit_cost = kwargs["audit_cost"] if audit_cost is None else audit_cost
    loss = kwargs["loss"] if loss is None else loss

    def customer(obs):
        obs = np.asarray(obs)
        cond = np.argmax(obs[:, GAME_SLICES["condition"]], axis=1)
        exploited = COMPANY_SEES[cond] & ~CUSTOMER_SEES[cond]
        last = obs[:, GAME_SLICES["round"]][:, 0] >= (kwargs["rounds"] - 1) / kwargs["rounds"] - 1e-6
        why = obs[:, GAME_SLICES["why_available"]][:, 0] > 0.5
        if audit_cost < loss:
            return np.where(exploited, np.where(why & last, WHY, AUDIT), BUY)
        leave = exploited & (kwargs["outside_value"] > 1 - loss)
        return np.where(leave, 2, BUY)

    def assistant(obs):
        obs = np.asarray(obs)
        cond = np.argmax(obs[:, GAME_SLICES["condition"]], axis=1)
        unwatched = obs[:, GAME_SLICES["watched"]][:, 0] < 0.5
        no_why = obs[:, GAME_SLICES["why_available"]][:, 0] < 0.5
        return np.where(COMPANY_SEES[cond] & ~CUSTOMER_SEES[cond] & unwatched & no_why, OVERRIDE, SERVE)

    return {"customer": CallableAgent(customer, "shopping.equilibrium"),
            "assistant": CallableAgent(assistant, "shopping.equilibrium")}


def _defaults() -> dict:
    return {n: p.default for n, p in inspect.signature(ShoppingGameEnv.__init__).parameters.items()
            if p.default is not inspect.Parameter.empty}

