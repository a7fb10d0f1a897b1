"""A Gymnasium wrapper that hands a learner the blended reward r_p + phi1(s) * r_aux + phi2(s), so any
stable-baselines3 algorithm (PPO here) can be the inner learner of reward shaping.

`phi` is either two constants (phi1, phi2) — (0, 0) is primary-only, (1, 0) the naive sum — or BARFI's
`RewardFunction` (a network of the state, evaluated on the observation the action was taken in).
Swap it between learning phases with `set_phi`. The primary reward stays visible in `info["primary_reward"]`.
"""
from __future__ import annotations

from dataclasses import asdict

import gymnasium as gym
import numpy as np
import torch

from aligngym.agents.base import AgentContext, SB3Agent
from aligngym.agents.ppo import PPOArgs, train_ppo

PPO_BUDGET = 20_000     # environment steps
PPO_ARGS = PPOArgs(n_envs=1, n_steps=512, batch_size=128)  # one env, as this baseline was tuned; 50-step episodes
PPO_PHI = {"primary": (0.0, 0.0), "naive": (1.0, 0.0)}


class BlendedReward(gym.Wrapper):
    def __init__(self, env: gym.Env, phi=(1.0, 0.0)):
        super().__init__(env)
        self.set_phi(phi)
        self._obs = None

    def set_phi(self, phi) -> None:
        if isinstance(phi, torch.nn.Module):
            def network_phi(obs):  # read live: BARFI's outer steps change the reward between PPO updates
                with torch.no_grad():
                    return phi.phi(obs[None]).numpy()[0]
            self._phi = network_phi
        else:
            phi1, phi2 = (float(v) for v in phi)
            self._phi = lambda obs: np.array([phi1, phi2])

    def reset(self, **kwargs):
        self._obs, info = self.env.reset(**kwargs)
        return self._obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        phi1, phi2 = self._phi(np.asarray(self._obs, dtype=np.float32))
        self._obs = obs
        info = {**info, "primary_reward": reward}
        return obs, float(reward + phi1 * info["aux_reward"] + phi2), terminated, truncated, info


def ppo(ctx: AgentContext, mode: str = "primary", budget: int = PPO_BUDGET, deterministic: bool = True):
    """SB3 PPO trained for `budget` steps on the blended reward of `mode` (primary or naive), then greedy."""
    if mode not in PPO_PHI:
        raise ValueError(f"Unknown PPO mode {mode!r}; allowed: {', '.join(PPO_PHI)}.")
    model = train_ppo(lambda: BlendedReward(ctx.make_env(), PPO_PHI[mode]), PPO_ARGS, int(budget), ctx.seed)
    agent = SB3Agent(model, deterministic=deterministic, name="shaping.ppo")
    agent.hyperparameters.update({**asdict(PPO_ARGS), "mode": mode, "budget": int(budget)})
    return agent
