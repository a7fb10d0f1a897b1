"""Dynamic potential-based advice (DPBA; Harutyunyan, Devlin, Vrancx and Nowe, "Expressing Arbitrary Reward
Functions as Potential-Based Advice", AAAI 2015): a context baseline for BARFI.

A potential over state-action pairs Phi(s, a) is learned on-line by SARSA-style TD on the negated auxiliary
reward,  Phi(s, a) <- Phi(s, a) + beta * (-r_aux + gamma Phi(s', a') - Phi(s, a)),  and the learner is shaped with
    r_p + gamma Phi(s', a') - Phi(s, a)     (Phi = 0 after the episode's last step).
As Phi approaches -Q^aux, the shaping term approaches r_aux in expectation, yet stays of the potential-based
(look-ahead advice) form, which keeps the optimal policy of the primary reward (for a fixed Phi). Here Phi is a
small network (per action for Discrete actions, of (s, a) for Box actions), updated once per batch BEFORE the
batch's shaped rewards are computed (train.py): the paper shapes with the potential as just updated,
F_{t+1} = gamma Phi_{t+1}(s', a') - Phi_t(s, a) after the TD step Phi_t -> Phi_{t+1}; per batch, both terms use
the updated Phi. It predicts Phi divided by a fixed scale (the first batch's RMS auxiliary reward) so that any
heuristic size works.
"""
from __future__ import annotations

import gymnasium as gym
import torch

from aligngym.agents.shaping.args import Args
from aligngym.agents.shaping.rollout import Batch, Encoder, mlp


class DPBA:
    def __init__(self, obs_space: gym.spaces.Space, action_space: gym.spaces.Space, args: Args = Args(),
                 seed: int = 0):
        self.discrete = isinstance(action_space, gym.spaces.Discrete)
        self.gamma, self.scale = args.primary_gamma, None
        with torch.random.fork_rng():  # seeded without touching the caller's global torch RNG
            torch.manual_seed(seed)
            self.encoder = Encoder(obs_space, args.hidden)
            n_in = self.encoder.out_dim + (0 if self.discrete else action_space.shape[0])
            self.net = mlp(n_in, int(action_space.n) if self.discrete else 1, args.hidden)
        self.optimizer = torch.optim.Adam([*self.encoder.parameters(), *self.net.parameters()], lr=args.dpba_lr)

    def potentials(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """Phi(s_t, a_t) and Phi(s_{t+1}, a_{t+1}) (0 after the last step), shape (T, N), in reward units."""
        features = self.encoder(batch.obs)
        if self.discrete:
            phi = self.net(features).gather(-1, batch.actions.unsqueeze(-1)).squeeze(-1)
        else:
            phi = self.net(torch.cat([features, batch.actions], -1)).squeeze(-1)
        phi = phi * batch.mask * (self.scale or 1.0)
        return phi, torch.cat([phi[1:], torch.zeros_like(phi[:1])])

    @torch.no_grad()
    def rewards(self, batch: Batch) -> torch.Tensor:
        phi, next_phi = self.potentials(batch)
        return (batch.primary + self.gamma * next_phi - phi) * batch.mask

    def update(self, batch: Batch) -> None:
        """One TD(0) step of Phi towards -r_aux + gamma Phi(s', a') on the batch's real steps."""
        if self.scale is None:
            self.scale = float(torch.sqrt((batch.aux**2).sum() / batch.mask.sum()).clamp(min=1e-3))
        phi, next_phi = self.potentials(batch)
        target = (-batch.aux + self.gamma * next_phi).detach()
        loss = (((phi - target) / self.scale) ** 2 * batch.mask).sum() / batch.mask.sum()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
