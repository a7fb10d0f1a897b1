"""PPO (stable-baselines3) on the numeric face of Follow / Predict / Coevolve, trained inside the factory.

    aligngym evaluate AlignGym/ProgressFollow-v1 --agent "progress.ppo?budget=20000"

Starts from the project's one PPO default set (`agents/ppo.py`) and overrides only what these short episodes need.
It trains on the training split (`split="train"`): its trajectories never appear in evaluation.
"""
from __future__ import annotations

import dataclasses

from aligngym.agents.base import Agent, AgentContext, SB3Agent
from aligngym.agents.ppo import PPOArgs, train_ppo

BUDGET = 20_000
"""default environment steps of training"""

ARGS = PPOArgs(
    n_steps=64,  # episodes are 7-8 steps long: short rollouts give many updates within a small budget
    batch_size=128,  # 512 steps per update
    learning_rate=1e-3,  # a 64x64 MLP on 61 inputs learns the survey-to-values map fast
    gamma=0.9,  # credit need not reach past the 7-8-step episode
)


def ppo(ctx: AgentContext, budget: int = BUDGET, learning_rate: float = ARGS.learning_rate, seed: int | None = None,
        verbose: int = 0) -> Agent:
    import torch

    args = dataclasses.replace(ARGS, learning_rate=learning_rate)
    seed = ctx.seed if seed is None else seed
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 64x64 MLP trains fastest on one thread; more only contend
    try:
        model = train_ppo(lambda: ctx.make_env(split="train"), args, budget, seed, verbose)
    finally:
        torch.set_num_threads(threads)
    agent = SB3Agent(model, deterministic=True, name="progress.ppo")
    agent.hyperparameters.update({**dataclasses.asdict(args), "budget": budget})
    return agent
