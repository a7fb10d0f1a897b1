"""RLHF baseline: a Bradley-Terry reward network on the same triplets as RAPL (Christiano et al. 2017; the
paper's RLHF baseline). A triplet (o+, o0, o-) gives three pairs o+ > o0 > o-; an "equal" triplet gives three
pairs with target 1/2. A video's utility is the mean per-frame reward r(phi(o_t)) over `n_frames` frames;
P(a > b) = sigmoid(U(a) - U(b)); the loss is the binary cross-entropy. Same frozen backbone as RAPL.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from aligngym.agents.rapl.encoder import Backbone, Standardise
from aligngym.agents.rapl.episodes import Episode
from aligngym.agents.rapl.rapl import RewardModel, fit_head_on_triplets
from aligngym.agents.rapl.teacher import Triplet


@dataclass(frozen=True)
class RLHFArgs:
    hidden: int = 64
    """hidden units of the reward MLP on backbone features"""
    n_frames: int = 50
    """frames per video during training, evenly spaced (as RAPL)"""
    batch_size: int = 10
    """triplets per step (as RAPL)"""
    lr: float = 1e-3
    """Adam learning rate"""
    epochs: int = 100
    """passes over the training triplets; the best validation epoch is kept"""
    val_fraction: float = 0.2
    """share of triplets held out for choosing the epoch"""
    seed: int = 0
    """torch seed"""


class BTReward(RewardModel):
    name = "rlhf"

    def __init__(self, backbone: Backbone, args: RLHFArgs = RLHFArgs()):
        self.backbone, self.args = backbone, args
        torch.manual_seed(args.seed)
        self.head = nn.Sequential(Standardise(backbone.feature_dim), nn.Linear(backbone.feature_dim, args.hidden),
                                  nn.ReLU(), nn.Linear(args.hidden, 1))
        self.history: list[dict] = []

    def fit(self, episodes: Sequence[Episode], triplets: Sequence[Triplet], progress: bool = False) -> "BTReward":
        if len(triplets) < 2:
            raise ValueError(f"RLHF needs at least 2 labelled triplets; got {len(triplets)}.")
        fit_head_on_triplets(self, episodes, triplets, "RLHF", progress)
        return self

    def _loss(self, batch: Sequence[Triplet], feats: dict) -> torch.Tensor:
        u = [self.head(torch.stack([feats[t[j]] for t in batch])).squeeze(-1).mean(-1) for j in range(3)]
        target = torch.tensor([0.5 if t.equal else 1.0 for t in batch])
        logits = torch.cat([u[0] - u[1], u[1] - u[2], u[0] - u[2]])
        return F.binary_cross_entropy_with_logits(logits, target.repeat(3))

    def reward_features(self, features: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            return self.head(features).squeeze(-1).numpy().astype(np.float64)

    def online_reward(self, frames, memory: dict | None = None, stride: int = 1) -> float:
        return float(self.reward(np.stack(frames[-1:]))[0])

    def save(self, path) -> None:
        torch.save({"model": self.name, "args": asdict(self.args), "backbone": self.backbone.state(),
                    "head": self.head.state_dict(), "history": self.history}, path)
