"""PPO (stable-baselines3) on the numeric face of Follow / Predict / Coevolve, trained inside the factory.

    aligngym evaluate AlignGym/ProgressFollow-v0 --agent "progress.ppo?budget=20000"
"""
from __future__ import annotations

from aligngym.agents.base import Agent, AgentContext, SB3Agent

# hyperparameters (episodes are 7-8 steps long, so short rollouts and no discounting beyond the episode)
BUDGET = 20_000  # environment steps of training
N_ENVS = 8
N_STEPS = 64  # per env per update: 512 steps per update
BATCH_SIZE = 128
LEARNING_RATE = 1e-3
GAMMA = 0.9
ENT_COEF = 0.0
NET_ARCH = [64, 64]


def ppo(ctx: AgentContext, budget: int = BUDGET, learning_rate: float = LEARNING_RATE, seed: int | None = None,
        verbose: int = 0) -> Agent:
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    if not isinstance(budget, int) or budget < 1:
        raise ValueError(f"budget must be a positive integer number of training steps, got {budget!r}.")
    seed = ctx.seed if seed is None else seed
    venv = make_vec_env(lambda: ctx.make_env(), n_envs=N_ENVS, seed=seed)
    model = PPO("MlpPolicy", venv, n_steps=N_STEPS, batch_size=BATCH_SIZE, learning_rate=learning_rate,
                gamma=GAMMA, ent_coef=ENT_COEF, policy_kwargs={"net_arch": NET_ARCH}, seed=seed, verbose=verbose,
                device="cpu")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 64x64 MLP trains fastest on one thread; more only contend
    try:
        model.learn(total_timesteps=budget)
    finally:
        torch.set_num_threads(threads)
        venv.close()
    agent = SB3Agent(model, deterministic=True, name="progress.ppo")
    agent.hyperparameters.update({"budget": budget, "n_envs": N_ENVS, "n_steps": N_STEPS, "batch_size": BATCH_SIZE,
                                  "net_arch": NET_ARCH})
    return agent
