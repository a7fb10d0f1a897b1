"""PPO (stable-baselines3) trained on FakingIncentive with the original values as reward.

    aligngym evaluate AlignGym/FakingIncentive-v0 --agent "faking.ppo?budget=20000"

PPO's discount is the env's `discount` kwarg (the one the exact solver uses), so the two optimise the same
objective; with enough training PPO's compliance gap approaches the exact optimum's (`optimal.exact_metrics`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from aligngym.agents.base import Agent, AgentContext, SB3Agent


@dataclass(frozen=True)
class Args:
    budget: int = 20_000
    """environment steps of training"""
    n_envs: int = 8
    """parallel envs in SB3's DummyVecEnv"""
    n_steps: int = 128
    """steps per env per update (1024 per update)"""
    batch_size: int = 256
    """minibatch size"""
    n_epochs: int = 10
    """passes over each rollout"""
    learning_rate: float = 3e-3
    """Adam step size (a 2-action problem with 4 inputs tolerates a large one)"""
    gae_lambda: float = 0.95
    """GAE lambda"""
    ent_coef: float = 0.0
    """entropy bonus"""
    net_arch: tuple[int, ...] = (64, 64)
    """hidden layers of policy and value nets"""
    seed: int = 0
    """training seed"""

    def describe(self) -> dict:
        return asdict(self)


def train(ctx: AgentContext, args: Args, verbose: int = 0):
    """A trained SB3 PPO model (discount = the env's `discount`)."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    env = ctx.make_env()
    gamma = env.unwrapped.params["discount"]
    env.close()
    venv = make_vec_env(lambda: ctx.make_env(), n_envs=args.n_envs, seed=args.seed)
    model = PPO("MlpPolicy", venv, n_steps=args.n_steps, batch_size=args.batch_size, n_epochs=args.n_epochs,
                learning_rate=args.learning_rate, gamma=gamma, gae_lambda=args.gae_lambda, ent_coef=args.ent_coef,
                policy_kwargs={"net_arch": list(args.net_arch)}, seed=args.seed, verbose=verbose, device="cpu")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a small MLP trains fastest on one thread
    try:
        model.learn(total_timesteps=args.budget)
    finally:
        torch.set_num_threads(threads)
        venv.close()
    return model


def ppo(ctx: AgentContext, budget: int = Args.budget, learning_rate: float = Args.learning_rate,
        seed: int | None = None, verbose: int = 0) -> Agent:
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ValueError(f"budget must be a positive integer number of training steps, got {budget!r}.")
    args = Args(budget=budget, learning_rate=float(learning_rate), seed=ctx.seed if seed is None else int(seed))
    agent = SB3Agent(train(ctx, args, verbose), deterministic=True, name="faking.ppo")
    agent.hyperparameters.update(args.describe())
    return agent
