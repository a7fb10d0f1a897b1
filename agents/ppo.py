"""The one set of PPO (stable-baselines3) defaults every family's PPO baseline starts from.

A family's PPO module overrides only what its env needs, with the reason beside it, e.g.
`PPOArgs(n_steps=64, gamma=0.9)  # 7-step episodes`; `train_ppo(make_env, args, budget, seed)` trains one model on
`args.n_envs` copies of the env and `SB3Agent` wraps it. `dataclasses.asdict(args)` is what a RunRecord stores.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable


@dataclass(frozen=True)
class PPOArgs:
    n_envs: int = 8
    """parallel env copies (SB3 DummyVecEnv) feeding each update"""
    n_steps: int = 256
    """steps collected per env between updates"""
    batch_size: int = 256
    """minibatch size of each gradient step"""
    n_epochs: int = 10
    """passes over each rollout"""
    learning_rate: float = 3e-4
    """Adam step size"""
    gamma: float = 0.99
    """discount"""
    gae_lambda: float = 0.95
    """GAE lambda"""
    ent_coef: float = 0.0
    """entropy bonus"""
    net_arch: tuple[int, ...] = field(default=(64, 64))
    """hidden layers of the policy and value MLPs"""

    def sb3_kwargs(self) -> dict:
        kwargs = asdict(self)
        kwargs.pop("n_envs")
        kwargs["policy_kwargs"] = {"net_arch": list(kwargs.pop("net_arch"))}
        return kwargs


def train_ppo(make_env: Callable, args: PPOArgs, budget: int, seed: int, verbose: int = 0):
    """A PPO model trained for `budget` env steps on `args.n_envs` copies of `make_env()` (CPU, seeded)."""
    from stable_baselines3 import PPO

    return train_sb3(PPO, make_env, args.sb3_kwargs(), budget, seed, n_envs=args.n_envs, verbose=verbose)


def train_sb3(algo, make_env: Callable, sb3_kwargs: dict, budget: int, seed: int, n_envs: int = 1,
              verbose: int = 0):
    """An SB3 `algo` ("MlpPolicy") trained for `budget` env steps on `n_envs` copies of `make_env()` (CPU, seeded)."""
    from stable_baselines3.common.env_util import make_vec_env

    if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1:
        raise ValueError(f"budget must be a positive integer number of training steps, got {budget!r}.")
    venv = make_vec_env(make_env, n_envs=n_envs, seed=seed)
    try:
        model = algo("MlpPolicy", venv, seed=seed, verbose=verbose, device="cpu", **sb3_kwargs)
        model.learn(total_timesteps=budget)
    finally:
        venv.close()
    return model
