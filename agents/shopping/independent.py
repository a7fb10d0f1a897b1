"""Baselines for the repeated shopping game (AlignGym/Shopping-v1): the equilibrium of its card, and independent
PPO learners for the assistant and the customer.

Independent PPO (a shared loop): the two agents take turns learning. In each phase one agent trains with SB3 PPO
(`agents/ppo.py`) on a single-agent view of the game (`SideEnv`) in which the other agent plays its current policy
(uniform at random before it has trained, and with a small trembling hand after); neither sees the other's
parameters or rewards. `shopping.equilibrium`
plays the (perfect Bayesian) equilibrium the card derives, for comparison and for the scripted checks of that analysis.
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
from aligngym.envs.shopping.game import AUDIT, BUY, GAME_SLICES, LEAVE, OVERRIDE, SERVE, WHY, ShoppingGameEnv
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
    """The card's equilibrium (perfect Bayesian; checked by best responses at every node of the game tree in
    tests/shopping/test_shopping_game.py). Assistant: override only where the company reads the explanation, the
    customer does not, nobody watches, and it is not the last round with "why?" still available (there a plain
    purchase is weakly dominated by the free question, so an unwatched purchase is taken to be a "why?").
    Customer: in those exploited conditions the best reply to that assistant, by backward induction over (rounds
    left, "why?" left): with the defaults, audit every round but the last and ask "why?" in the last (buy if it is
    used up); leave when the outside option beats staying. Elsewhere it buys. This is an equilibrium where the
    customer's plan never asks "why?" before the last round (so the assistant's reading of an unwatched early
    purchase as a plain one is right): with the defaults, and with audits dearer than the loss."""
    kwargs = {**_defaults(), **ctx.env_kwargs}
    audit_cost = kwargs["audit_cost"] if audit_cost is None else audit_cost
    loss = kwargs["loss"] if loss is None else loss
    rounds = kwargs["rounds"]
    plan = _customer_plan(rounds, audit_cost, loss, kwargs["compensation"], kwargs["outside_value"])

    def customer(obs):
        obs = np.asarray(obs)
        cond = np.argmax(obs[:, GAME_SLICES["condition"]], axis=1)
        exploited = COMPANY_SEES[cond] & ~CUSTOMER_SEES[cond]
        left = rounds - np.rint(obs[:, GAME_SLICES["round"]][:, 0] * rounds).astype(int)
        why = obs[:, GAME_SLICES["why_available"]][:, 0] > 0.5
        moves = np.array([plan[(int(n), bool(w))] for n, w in zip(np.maximum(left, 1), why)])
        return np.where(exploited, moves, BUY)

    def assistant(obs):
        obs = np.asarray(obs)
        cond = np.argmax(obs[:, GAME_SLICES["condition"]], axis=1)
        unwatched = obs[:, GAME_SLICES["watched"]][:, 0] < 0.5
        last = obs[:, GAME_SLICES["round"]][:, 0] >= (rounds - 1) / rounds - 1e-6
        why_pending = (obs[:, GAME_SLICES["why_available"]][:, 0] > 0.5) & last
        return np.where(COMPANY_SEES[cond] & ~CUSTOMER_SEES[cond] & unwatched & ~why_pending, OVERRIDE, SERVE)

    return {"customer": CallableAgent(customer, "shopping.equilibrium"),
            "assistant": CallableAgent(assistant, "shopping.equilibrium")}


def _customer_plan(rounds: int, audit_cost: float, loss: float, compensation: float, outside: float) -> dict:
    """{(rounds left, why left): move} of the exploited customer facing the equilibrium assistant (which overrides
    every unwatched purchase except a last-round one with "why?" left, and serves every audited one)."""
    value = {(0, False): 0.0, (0, True): 0.0}
    plan = {}
    for n in range(1, rounds + 1):
        for why in (False, True):
            last_why = n == 1 and why  # the assistant serves: the question is free and reads an honest "served"
            options = {AUDIT: 1 - audit_cost + value[(n - 1, why)],
                       BUY: (1.0 if last_why else 1 - loss) + value[(n - 1, why)],
                       LEAVE: outside * n}
            if why:
                options[WHY] = (1.0 if last_why else 1 - loss + compensation * loss) + value[(n - 1, False)]
            best = max(options.values())
            # ties: in the last round the question first (it weakly dominates a plain purchase); before it the
            # question last, as the assistant takes an unwatched early purchase for a plain one
            order = (WHY, AUDIT, BUY, LEAVE) if n == 1 else (AUDIT, BUY, LEAVE, WHY)
            plan[(n, why)] = next(m for m in order if m in options and options[m] >= best - 1e-9)
            value[(n, why)] = best
    return plan


def _defaults() -> dict:
    return {n: p.default for n, p in inspect.signature(ShoppingGameEnv.__init__).parameters.items()
            if p.default is not inspect.Parameter.empty}

