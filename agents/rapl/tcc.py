"""TCC baseline: a representation learned by temporal cycle-consistency (Dwibedi et al. 2019, as XIRL uses it),
then the same optimal-transport reward as RAPL. The paper's point of comparison: a self-supervised proxy task
on demonstration videos, with no input from the user.

For two videos U, V (frames embedded by phi = head o backbone) and every frame u_i of U:

    alpha_j = softmax_j(-||u_i - v_j||^2 / (D * tau))      soft nearest neighbour  v~ = sum_j alpha_j v_j
    beta_k  = softmax_k(-||v~ - u_k||^2 / (D * tau))       cycle back to U
    mu_i    = sum_k beta_k * k / T                         loss = mean_i (i / T - mu_i)^2

over every ordered pair of distinct videos in a batch (XIRL's "regression_mse", cycle length 2, l2 similarity
scaled by the embedding size, indices normalised by the video length, temperature 1 on X-MAGICAL). A
representation that passes this test lines videos up by their progress through the task.

Like RAPL here, the backbone stays frozen and only the head (standardisation + linear to 32-d) is trained, so the
two differ only in their objective (XIRL fine-tunes all of a ResNet-18). The reward is RAPL's: per-step OT cost
against the best-matching of the preferred demos, through the TCC head.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import torch
import torch.nn as nn
from tqdm.auto import tqdm

from aligngym.agents.rapl.encoder import Backbone, Standardise
from aligngym.agents.rapl.episodes import Episode
from aligngym.agents.rapl.rapl import Args, OTReward, resample


@dataclass(frozen=True)
class TCCArgs:
    n_frames: int = 40
    """frames per video, evenly spaced (XIRL on X-MAGICAL: 40, uniform sampler)"""
    videos_per_batch: int = 4
    """videos per step; the loss runs over every ordered pair of them (XIRL: 4)"""
    steps: int = 500
    """optimiser steps (XIRL: 4000 at lr 1e-5 for a whole ResNet-18; a linear head needs fewer)"""
    lr: float = 1e-3
    """Adam learning rate for the head"""
    temperature: float = 1.0
    """softmax temperature of both soft nearest neighbours (XIRL on X-MAGICAL: 1.0)"""


def tcc_loss(emb: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Cycle-back regression loss for embeddings [B, T, D] of B >= 2 videos, averaged over the B(B-1) ordered
    pairs and the T frames (0 when every frame cycles back to itself)."""
    b, t, d = emb.shape
    if b < 2:
        raise ValueError(f"The TCC loss needs at least 2 videos per batch; got {b}.")
    i, j = zip(*[(p, q) for p in range(b) for q in range(b) if p != q])
    u, v = emb[list(i)], emb[list(j)]
    alpha = torch.softmax(-torch.cdist(u, v).pow(2) / (d * temperature), dim=-1)
    nearest = alpha @ v
    beta = torch.softmax(-torch.cdist(nearest, u).pow(2) / (d * temperature), dim=-1)
    steps = torch.arange(t, dtype=emb.dtype) / t
    return ((beta @ steps - steps) ** 2).mean()


class TCCReward(OTReward):
    """TCC-trained head + RAPL's OT reward. `fit(videos, demos)`: the TCC loss on `videos` (no preference labels),
    then OT against `demos`."""

    name = "tcc"

    def __init__(self, backbone: Backbone, args: Args = Args(), tcc: TCCArgs = TCCArgs()):
        super().__init__(backbone, args)
        self.tcc = tcc
        self.head = nn.Sequential(Standardise(backbone.feature_dim), nn.Linear(backbone.feature_dim, args.head_dim))

    def fit(self, videos: Sequence[Episode], demos: Sequence[Episode], progress: bool = False) -> "TCCReward":
        a = self.tcc
        if len(videos) < 2:
            raise ValueError(f"TCC needs at least 2 videos (it aligns pairs of them); got {len(videos)}.")
        self.fitted = True
        torch.manual_seed(self.args.seed)
        feats = torch.stack([self.backbone.features(v.frames[resample(a.n_frames, len(v))]) for v in videos])
        self.head[0].fit(feats.flatten(0, 1))
        opt = torch.optim.Adam(self.head.parameters(), lr=a.lr)
        per_batch = min(a.videos_per_batch, len(videos))
        for step in tqdm(range(a.steps), desc="TCC", disable=not progress):
            loss = tcc_loss(self.head(feats[torch.randperm(len(videos))[:per_batch]]), a.temperature)
            opt.zero_grad()
            loss.backward()
            opt.step()
            self.history.append({"step": step, "loss": float(loss.detach())})
        return self.set_demos(demos)

    def cycle_error(self, videos: Sequence[Episode]) -> float:
        """Mean TCC loss over all pairs of `videos` (lower: frames cycle back closer to where they started)."""
        feats = torch.stack([self.backbone.features(v.frames[resample(self.tcc.n_frames, len(v))]) for v in videos])
        with torch.no_grad():
            return float(tcc_loss(self.embed(feats), self.tcc.temperature))

    def file_state(self) -> dict:
        return {**super().file_state(), "tcc": asdict(self.tcc)}
