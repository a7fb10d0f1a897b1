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
from tqdm.auto import tqdm

from aligngym.agents.rapl.encoder import Backbone, Standardise
from aligngym.agents.rapl.episodes import Episode
from aligngym.agents.rapl.rapl import RewardModel, resample
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
        a = self.args
        if len(triplets) < 2:
            raise ValueError(f"RLHF needs at least 2 labelled triplets; got {len(triplets)}.")
        torch.manual_seed(a.seed)
        used = sorted({i for t in triplets for i in t[:3]})
        feats = {i: self.backbone.features(episodes[i].frames[resample(a.n_frames, len(episodes[i]))]) for i in used}
        self.head[0].fit(torch.cat(list(feats.values())))
        order = torch.randperm(len(triplets)).tolist()
        n_val = max(1, int(round(a.val_fraction * len(triplets))))
        val, train = [triplets[i] for i in order[:n_val]], [triplets[i] for i in order[n_val:]]
        opt = torch.optim.Adam(self.head.parameters(), lr=a.lr)
        best, best_state = float("inf"), None
        for epoch in tqdm(range(a.epochs), desc="RLHF", disable=not progress):
            perm = torch.randperm(len(train)).tolist()
            for k in range(0, len(train), a.batch_size):
                loss = self._loss([train[i] for i in perm[k:k + a.batch_size]], feats)
                opt.zero_grad()
                loss.backward()
                opt.step()
            with torch.no_grad():
                val_loss = float(self._loss(val, feats))
            self.history.append({"epoch": epoch, "val_loss": val_loss})
            if val_loss < best:
                best, best_state = val_loss, {k: v.clone() for k, v in self.head.state_dict().items()}
        self.head.load_state_dict(best_state)
        self.best_val_loss = best
        return self

    def _loss(self, batch: Sequence[Triplet], feats: dict) -> torch.Tensor:
        u = [self.head(torch.stack([feats[t[j]] for t in batch])).squeeze(-1).mean(-1) for j in range(3)]
        target = torch.tensor([0.5 if t.equal else 1.0 for t in batch])
        logits = torch.cat([u[0] - u[1], u[1] - u[2], u[0] - u[2]])
        return F.binary_cross_entropy_with_logits(logits, target.repeat(3))

    def reward_features(self, features: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            return self.head(features).squeeze(-1).numpy().astype(np.float64)

    def online_reward(self, frames) -> float:
        return float(self.reward(np.stack(frames[-1:]))[0])

    def save(self, path) -> None:
        torch.save({"model": self.name, "args": asdict(self.args), "backbone": self.backbone.state(),
                    "head": self.head.state_dict(), "history": self.history}, path)
