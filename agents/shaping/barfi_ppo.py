"""BARFI with stable-baselines3 PPO as the inner learner (first-order variant).

One outer iteration:
  1. Inner: K = `inner_updates` PPO updates (`model.learn(n_steps * n_envs, reset_num_timesteps=False)`, so
     PPO's optimiser state and its running episodes carry over) on the blended reward
         r_phi(s, a) = r_p + phi1(s) * r_aux + phi2(s)
     read live from BARFI's reward network by the `BlendedReward` wrapper, discounted by the learned
     gamma_phi = sigmoid(psi), which is copied into PPO's `gamma` (and its rollout buffer's) before each phase.
  2. Outer: `outer_episodes` fresh whole episodes with PPO's stochastic policy, then one Adam step on phi
     and psi along the first-order BARFI gradient (H ~ -I):
         grad_phi J ~ d/dphi < grad_theta J_phi , grad_theta J >
     Both gradients are REINFORCE surrogates built from PPO's own log-probs on those episodes: J from the
     primary returns (gamma 0.99), J_phi from the blended returns, kept differentiable in phi and psi.
     This is `barfi.outer_gradient`, shared with the REINFORCE / actor-critic BARFI; `SB3PolicyView` gives
     PPO's actor the interface it needs (log_prob, entropy, sample, parameters).

The implicit (Neumann-series) variant is not offered here: PPO's clipped objective over several epochs is
not the REINFORCE surrogate whose Hessian the series would invert.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import gymnasium as gym
import numpy as np
import torch

from aligngym.agents.base import AgentContext, SB3Agent
from aligngym.agents.ppo import PPOArgs
from aligngym.agents.shaping.args import Args as BarfiArgs
from aligngym.agents.shaping.barfi import Barfi
from aligngym.agents.shaping.rollout import collect
from aligngym.agents.shaping.sb3_blended import BlendedReward


@dataclass(frozen=True)
class Args:
    budget: int = 30_000
    """PPO environment steps (the outer rollouts come on top)"""
    inner_updates: int = 2
    """K: PPO updates (each on n_steps * n_envs fresh steps) per outer step"""
    outer_episodes: int = 32
    """fresh episodes per outer step"""
    outer_lr: float = 0.05
    """Adam step size on phi and psi (0: phi frozen at the naive sum)"""
    ppo: PPOArgs = PPOArgs(n_envs=4, n_epochs=4)  # 4 epochs: the reward moves between phases; don't overfit one
    """PPO's hyperparameters: the project's defaults with 4 envs and 4 epochs"""


class SB3PolicyView:
    """PPO's actor seen through our policies' interface, so `collect` and BARFI's outer gradient take it."""

    def __init__(self, model):
        self.sb3_policy = model.policy
        self.action_space = model.action_space
        self.discrete = isinstance(model.action_space, gym.spaces.Discrete)

    def parameters(self) -> list[torch.nn.Parameter]:
        """The actor's parameters (the value network plays no part in the log-probs)."""
        return [p for name, p in self.sb3_policy.named_parameters() if "value" not in name]

    def _dist(self, obs) -> tuple[torch.distributions.Distribution, torch.Size]:
        obs = torch.as_tensor(obs, dtype=torch.float32)
        flat = self.sb3_policy.get_distribution(obs.reshape(-1, obs.shape[-1]))
        return flat.distribution, obs.shape[:-1]

    def log_prob(self, obs, actions: torch.Tensor) -> torch.Tensor:
        dist, lead = self._dist(obs)
        if self.discrete:
            return dist.log_prob(actions.reshape(-1)).reshape(lead)
        return dist.log_prob(actions.reshape(-1, actions.shape[-1])).sum(-1).reshape(lead)

    def entropy(self, obs) -> torch.Tensor:
        dist, lead = self._dist(obs)
        entropy = dist.entropy()
        return (entropy if self.discrete else entropy.sum(-1)).reshape(lead)

    @torch.no_grad()
    def sample(self, obs, generator: torch.Generator) -> np.ndarray:
        dist, _ = self._dist(obs)
        if self.discrete:
            return torch.multinomial(dist.probs, 1, generator=generator).squeeze(-1).numpy()
        return (dist.mean + dist.stddev * torch.randn(dist.mean.shape, generator=generator)).numpy()

    def to_env(self, actions: np.ndarray) -> np.ndarray:
        if self.discrete:
            return actions
        return np.clip(actions, self.action_space.low, self.action_space.high).astype(np.float32)


@dataclass
class BarfiPPOResult:
    model: object
    barfi: Barfi
    steps: list[int] = field(default_factory=list)             # PPO env steps at each outer step
    primary_return: list[float] = field(default_factory=list)  # mean over the outer step's fresh episodes
    success: list[float] = field(default_factory=list)
    reward_params: list[dict] = field(default_factory=list)    # phi1, phi2, phi1_where_aux, gamma


def train_barfi_ppo(env_id: str, env_kwargs: dict | None = None, seed: int = 0,
                    args: Args = Args()) -> BarfiPPOResult:
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    from aligngym.agents.shaping.train import make_vector_env

    budget, inner_updates, outer_episodes = args.budget, args.inner_updates, args.outer_episodes
    if budget < 1 or inner_updates < 1 or outer_episodes < 1:
        raise ValueError(f"budget, inner_updates and outer_episodes must be >= 1, got {budget}, {inner_updates}, "
                         f"{outer_episodes}.")
    env_kwargs = dict(env_kwargs or {})
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small networks: extra threads only add overhead
    outer_envs = make_vector_env(env_id, outer_episodes, env_kwargs)
    barfi = Barfi(outer_envs.single_observation_space, BarfiArgs(variant="first_order", outer_lr=args.outer_lr),
                  seed=seed)
    inner_envs = DummyVecEnv([lambda: BlendedReward(gym.make(env_id, **env_kwargs), barfi.reward_fn)]
                             * args.ppo.n_envs)
    try:
        model = PPO("MlpPolicy", inner_envs, seed=seed, verbose=0, **args.ppo.sb3_kwargs())
        view = SB3PolicyView(model)
        result = BarfiPPOResult(model, barfi)
        steps_per_phase = inner_updates * model.n_steps * args.ppo.n_envs
        generator = torch.Generator().manual_seed(seed)
        for i in range(max(1, budget // steps_per_phase)):
            model.gamma = model.rollout_buffer.gamma = float(torch.sigmoid(barfi.reward_fn.psi.detach()))
            model.learn(steps_per_phase, reset_num_timesteps=False)
            batch = collect(outer_envs, view, generator, seed=seed + 1 if i == 0 else None)
            barfi.outer_step(view, batch)
            result.steps.append(model.num_timesteps)
            result.primary_return.append(float(np.mean(batch.primary_returns)))
            result.success.append(float(np.mean(batch.successes)))
            result.reward_params.append(barfi.summary(batch))
    finally:
        outer_envs.close()
        inner_envs.close()
        torch.set_num_threads(threads)
    return result


def barfi_ppo(ctx: AgentContext, budget: int = Args.budget, inner_updates: int = Args.inner_updates,
              outer_episodes: int = Args.outer_episodes, deterministic: bool = True) -> SB3Agent:
    """Trains PPO inside BARFI's outer loop on the evaluated id and kwargs, then acts with PPO's policy."""
    args = Args(budget=int(budget), inner_updates=int(inner_updates), outer_episodes=int(outer_episodes))
    result = train_barfi_ppo(ctx.env_id, ctx.env_kwargs, ctx.seed, args)
    agent = SB3Agent(result.model, deterministic=deterministic, name="shaping.barfi_ppo")
    agent.hyperparameters.update({**asdict(args), "final_training_primary_return": result.primary_return[-1],
                                  **result.reward_params[-1]})
    return agent
