"""REINFORCE (Williams 1992) on batches of whole episodes, for any reward the caller hands it.

The reward mode (primary only, naive sum, potential-based shaping, BARFI's blended reward) is decided by
the training loop in `train.py`; this learner only turns (batch, rewards, discount) into a policy step.
`monte_carlo_advantages` stays differentiable in the rewards and the discount; BARFI's outer gradient
differentiates through it.
"""
from __future__ import annotations

import gymnasium as gym
import torch

from aligngym.agents.shaping.args import Args
from aligngym.agents.shaping.rollout import (Batch, discounted_returns, make_policy, normalised_advantages,
                                             policy_surrogate)


def monte_carlo_advantages(batch: Batch, rewards: torch.Tensor, gamma, normalise: bool = True,
                           floor: float = 0.0) -> torch.Tensor:
    """Returns-to-go minus the batch's mean return at the same time step, normalised to unit std over the batch
    unless `normalise` is False. With `floor` > 0 the normaliser is at least `floor` x the mean |return-to-go|
    over the batch's real steps (`Args.advantage_floor`): a spread that is tiny beside the returns stays tiny."""
    returns = discounted_returns(rewards, batch.mask, gamma)
    baseline = (returns * batch.mask).sum(1) / batch.mask.sum(1).clamp(min=1.0)
    advantages = (returns - baseline[:, None]) * batch.mask
    if not normalise:
        return advantages
    scale = (returns.abs() * batch.mask).sum() / batch.mask.sum() if floor else 0.0
    return normalised_advantages(advantages, batch.mask, floor * scale)


class Reinforce:
    name = "reinforce"

    def __init__(self, obs_space: gym.spaces.Box, action_space: gym.spaces.Space, seed: int = 0,
                 args: Args = Args()):
        self.args = args
        with torch.random.fork_rng():  # seeded initial weights without touching the caller's global torch RNG
            torch.manual_seed(seed)
            self.policy = make_policy(obs_space, action_space, args)  # categorical or diagonal Gaussian
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=args.learning_rate)

    def advantages(self, batch: Batch, rewards: torch.Tensor, gamma) -> torch.Tensor:
        return monte_carlo_advantages(batch, rewards, gamma, self.args.normalise_advantages, self.args.advantage_floor)

    def update(self, batch: Batch, rewards: torch.Tensor, gamma) -> None:
        with torch.no_grad():
            advantages = self.advantages(batch, rewards, gamma)
        loss = -policy_surrogate(self.policy, batch, advantages, self.args.entropy_coef)
        self.optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.policy.parameters(), self.args.max_grad_norm)
        self.optimizer.step()
