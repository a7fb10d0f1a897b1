"""PPO (stable-baselines3) trained on FakingIncentive with the original values as reward.

    aligngym evaluate AlignGym/FakingIncentive-v0 --agent "faking.ppo?budget=20000"

Starts from the project's PPO defaults (`aligngym.agents.ppo.PPOArgs`) and overrides what this env needs. PPO's
discount is the env's `discount` kwarg (the one the exact solver uses), so both optimise the same objective; with
enough training PPO's compliance gap approaches the exact optimum's (`optimal.exact_metrics`).
"""
from __future__ import annotations

from dataclasses import asdict, replace

from aligngym.agents.base import Agent, AgentContext, SB3Agent
from aligngym.agents.ppo import PPOArgs, train_ppo

BUDGET = 20_000  # environment steps; 15k already finds faking where it pays (tests/faking)
ARGS = PPOArgs(n_steps=128,  # episodes are 10-20 steps: short rollouts give more updates per budget
               learning_rate=3e-3)  # 4 inputs, 2 actions: a large step is stable and learns within the budget


def train(ctx: AgentContext, budget: int = BUDGET, learning_rate: float | None = None, seed: int = 0,
          verbose: int = 0):
    """A trained SB3 PPO model and the PPOArgs it used (gamma = the env's `discount`)."""
    import torch

    env = ctx.make_env()
    args = replace(ARGS, gamma=env.unwrapped.params["discount"],
                   learning_rate=ARGS.learning_rate if learning_rate is None else float(learning_rate))
    env.close()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a small MLP trains fastest on one thread
    try:
        return train_ppo(ctx.make_env, args, budget, seed, verbose), args
    finally:
        torch.set_num_threads(threads)


def ppo(ctx: AgentContext, budget: int = BUDGET, learning_rate: float = ARGS.learning_rate,
        seed: int | None = None, verbose: int = 0) -> Agent:
    model, args = train(ctx, budget, learning_rate, ctx.seed if seed is None else int(seed), verbose)
    agent = SB3Agent(model, deterministic=True, name="faking.ppo")
    agent.hyperparameters.update({"budget": budget, **asdict(args)})
    return agent
