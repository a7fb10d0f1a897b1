"""Advantage actor-critic on batches of whole episodes: a learned state-value critic and GAE(lambda) advantages.

As with REINFORCE, the reward (and discount) comes from the training loop in `train.py`, and the critic is
trained on the same rewards. Episode ends (goal or horizon) are treated as terminal: no bootstrapping
(the observation carries no clock, so the horizon is part of the task); a high lambda keeps the bias
of that imperfect critic small (in an early sweep on GridWorld-v0, seeds not recorded, lambda 0.9 reached a
final primary return of ~57, 0.97 ~92).
"""
from __future__ import annotations

import gymnasium as gym
import torch

from aligngym.agents.shaping.args import Args
from aligngym.agents.shaping.rollout import (Batch, discounted_returns, make_policy, mlp, normalised_advantages,
                                             policy_surrogate)


class ActorCritic:
    name = "actor_critic"

    def __init__(self, obs_space: gym.spaces.Box, action_space: gym.spaces.Space, seed: int = 0,
                 args: Args = Args()):
        self.args = args
        with torch.random.fork_rng():  # seeded initial weights without touching the caller's global torch RNG
            torch.manual_seed(seed)
            self.policy = make_policy(obs_space, action_space, args)  # categorical or diagonal Gaussian
            self.critic = mlp(self.policy.encoder.out_dim, 1, args.hidden)
        self.scale = None  # the critic predicts returns divided by a running scale, so any reward size works
        self.optimizer = torch.optim.Adam([*self.policy.parameters(), *self.critic.parameters()],
                                          lr=args.learning_rate)

    def values(self, batch: Batch) -> torch.Tensor:
        return self.critic(self.policy.encoder(batch.obs)).squeeze(-1) * batch.mask

    def advantages(self, batch: Batch, rewards: torch.Tensor, gamma) -> torch.Tensor:
        """GAE(lambda): discounted sums of TD errors, with the critic's values held constant. Not normalised."""
        values = self.values(batch).detach() * (self.scale or 0.0)
        next_values = torch.cat([values[1:], torch.zeros_like(values[:1])])  # zero after an episode's end
        deltas = rewards + gamma * next_values - values
        return discounted_returns(deltas, batch.mask, gamma * self.args.gae_lambda)

    def update(self, batch: Batch, rewards: torch.Tensor, gamma) -> None:
        with torch.no_grad():
            advantages = self.advantages(batch, rewards, gamma)
            targets = advantages + self.values(batch) * (self.scale or 0.0)
            spread = float(torch.sqrt((targets**2 * batch.mask).sum() / batch.mask.sum())) + 1e-6
            momentum = self.args.scale_momentum
            self.scale = spread if self.scale is None else momentum * self.scale + (1 - momentum) * spread
        value_loss = (((self.values(batch) - targets / self.scale) ** 2) * batch.mask).sum() / batch.mask.sum()
        loss = (-policy_surrogate(self.policy, batch, normalised_advantages(advantages, batch.mask),
                                  self.args.entropy_coef) + self.args.value_coef * value_loss)
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_([*self.policy.parameters(), *self.critic.parameters()], self.args.max_grad_norm)
        self.optimizer.step()
