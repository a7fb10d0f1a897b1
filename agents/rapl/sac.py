"""SB3 SAC on the rapl arm-pushing envs' state observation: the usual learner for continuous arm control.

PPO on RaplFrankaGroup-v0's ground truth had not separated from random after 40k steps (5 seeds); SAC's replay
buffer reuses every step many times, which is what a 3-D end-effector action with a dense reward needs. The
defaults are SB3's (those of the SAC paper and rl-zoo's MuJoCo settings), with the buffer cut to the budgets
that run here. `train_sac(make_env, args, budget, seed)` trains one model on one env copy; `SB3Agent` wraps it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

from aligngym.agents.ppo import train_sb3


@dataclass(frozen=True)
class SACArgs:
    learning_rate: float = 3e-4
    """Adam step size of the actor, the critics and the entropy coefficient"""
    buffer_size: int = 100_000
    """replay buffer (transitions); larger than any budget run here, so nothing is dropped"""
    learning_starts: int = 1_000
    """uniformly random steps before the first update (about 22 episodes of 45 steps)"""
    batch_size: int = 256
    """transitions per gradient step"""
    tau: float = 0.005
    """soft update rate of the target critics"""
    gamma: float = 0.99
    """discount"""
    train_freq: int = 1
    """env steps between updates"""
    gradient_steps: int = 1
    """gradient steps per update"""
    ent_coef: str = "auto"
    """entropy coefficient, learned toward the target entropy -dim(action)"""
    net_arch: tuple[int, ...] = field(default=(256, 256))
    """hidden layers of the actor and of each critic"""

    def sb3_kwargs(self) -> dict:
        kwargs = asdict(self)
        kwargs["policy_kwargs"] = {"net_arch": list(kwargs.pop("net_arch"))}
        return kwargs


def train_sac(make_env: Callable, args: SACArgs, budget: int, seed: int, verbose: int = 0):
    """A SAC model trained for `budget` env steps on one copy of `make_env()` (CPU, seeded)."""
    from stable_baselines3 import SAC

    return train_sb3(SAC, make_env, args.sb3_kwargs(), budget, seed, verbose=verbose)
