"""RAPL (Tian et al. 2024): align a visual representation with the end user's preferences from triplet queries,
then reward a robot by optimal transport against the user's preferred demonstrations.

    phi = head o backbone                (frozen backbone, trainable linear head to 32-d, per frame)
    s(o, o') = -<P*, C>,  C_ij = 1 - cos(phi(o_i), phi(o'_j)),  P* entropic OT with uniform marginals
    P = exp s(o+, o0) / (exp s(o+, o0) + exp s(o+, o-))
    loss = 1 - P on ranked triplets, (0.5 - P)^2 on "equal" triplets   (-log P as an option)
    r_t = -T * sum_j P*_tj C_tj  against the best-matching (highest s) of N = 6 preferred demos

Episodes are resampled to `n_frames` evenly spaced frames for training (RAPL's videos have 45). Frozen features
are standardised with the fitting pool's statistics before the head. The untuned baseline (`OTReward` without
`fit`: standardised features, no head) is the paper's "MVP-OT" analogue: the same OT reward on the pretrained
features, not aligned with the user.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn
from tqdm.auto import tqdm

from aligngym.agents.rapl.encoder import Backbone, Standardise
from aligngym.agents.rapl.episodes import Episode
from aligngym.agents.rapl.ot import COSTS, ot_similarity, ot_step_costs
from aligngym.agents.rapl.teacher import Triplet


@dataclass(frozen=True)
class Args:
    head_dim: int = 32
    """size of the per-frame embedding (RAPL: 32)"""
    n_frames: int = 50
    """frames per video during training, evenly spaced (RAPL's videos have 45)"""
    batch_size: int = 10
    """triplets per step (RAPL: 10)"""
    lr: float = 1e-3
    """Adam learning rate (RAPL: 1e-3)"""
    epochs: int = 100
    """passes over the training triplets (RAPL: 100); the best validation epoch is kept"""
    val_fraction: float = 0.2
    """share of triplets held out for choosing the epoch (RAPL: 80/20)"""
    ot_reg: float = 1.0
    """entropic regularisation of Sinkhorn (RAPL: 1)"""
    sinkhorn_iters: int = 1000
    """Sinkhorn iteration cap (RAPL: 1000; it stops earlier when the marginals are met)"""
    train_cost: str = "cosine"
    """frame cost while fitting: "cosine" (RAPL's reward and later code) or "euclidean" (its submission commit)"""
    loss: str = "reference"
    """"reference": 1 - P (+ (0.5 - P)^2 on equal triplets), as RAPL's code; "logp": -log P instead of 1 - P"""
    n_demos: int = 6
    """preferred demonstrations the reward compares against (RAPL: 6)"""
    seed: int = 0
    """torch seed"""


def resample(n: int, length: int) -> np.ndarray:
    return np.linspace(0, length - 1, n).round().astype(int)


class RewardModel:
    """A learned per-step reward from frames. `reward(frames)` -> [T] (higher is better); `online_reward(frames,
    memory)` -> the reward of the last of the frames seen so far in an episode (for `LearnedRewardWrapper`;
    `memory` is a dict the caller keeps per episode, so env copies sharing one model never mix episodes)."""

    name = "reward"
    uses_env_cost = False  # True only for the ground truth, which reads info["preference_cost"]
    backbone = None

    def reward(self, frames: np.ndarray) -> np.ndarray:
        return self.reward_features(self.backbone.features(frames))

    def reward_features(self, features) -> np.ndarray:
        """The reward from backbone features [T, F] (lets a caller embed frames once for several models)."""
        raise NotImplementedError

    def rewards(self, episodes: Sequence[Episode]) -> list[np.ndarray]:
        return [self.reward(e.frames) for e in episodes]

    def online_reward(self, frames: Sequence[np.ndarray], memory: dict | None = None, stride: int = 1) -> float:
        """`stride`: the frames are every stride-th of the episode's (a per-frame reward does not need to know)."""
        return float(self.reward(np.stack(frames))[-1])


class GTReward(RewardModel):
    """The hidden preference reward, -preference_cost (the upper bound; it reads what a learner cannot)."""

    name = "gt"
    uses_env_cost = True

    def rewards(self, episodes: Sequence[Episode]) -> list[np.ndarray]:
        return [-e.preference_cost for e in episodes]


class OTReward(RewardModel):
    """Optimal-transport reward against the best-matching preferred demo, on backbone features through `head`
    (identity when untrained: the untuned-encoder baseline; RAPL fits the head on triplets)."""

    name = "ot"

    def __init__(self, backbone: Backbone, args: Args = Args()):
        self.backbone, self.args = backbone, args
        torch.manual_seed(args.seed)
        self.head: nn.Module = nn.Sequential(Standardise(backbone.feature_dim))
        self.fitted = False
        self.demo_features: list[torch.Tensor] = []
        self.history: list[dict] = []

    def embed(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)

    def set_demos(self, demos: Sequence[Episode]) -> "OTReward":
        if not demos:
            raise ValueError("The OT reward needs at least one preferred demonstration.")
        self.demo_features = [self.backbone.features(d.frames) for d in demos]
        if not self.fitted:  # the untuned baseline standardises with its demos' statistics
            self.head[0].fit(torch.cat(self.demo_features))
        return self

    def _costs(self, feats: torch.Tensor, demos: list[torch.Tensor]) -> torch.Tensor:
        """Per-frame OT costs of `feats` [T, F] against the best-matching demo."""
        with torch.no_grad():
            x = self.embed(feats)
            if len({len(d) for d in demos}) == 1:  # one batched Sinkhorn over the demos
                ys = self.embed(torch.stack(demos))
                xs = x.expand(len(demos), -1, -1)
                sims = ot_similarity(xs, ys, self.args.ot_reg, self.args.sinkhorn_iters)
                best = int(torch.argmax(sims))
                return ot_step_costs(xs[best], ys[best], self.args.ot_reg, self.args.sinkhorn_iters)
            sims = [float(ot_similarity(x, self.embed(d), self.args.ot_reg, self.args.sinkhorn_iters)) for d in demos]
            return ot_step_costs(x, self.embed(demos[int(np.argmax(sims))]), self.args.ot_reg, self.args.sinkhorn_iters)

    def reward_features(self, features: torch.Tensor) -> np.ndarray:
        if not self.demo_features:
            raise RuntimeError("Call set_demos(...) (or fit) before asking for rewards.")
        return -self._costs(features, self.demo_features).numpy().astype(np.float64)

    def online_reward(self, frames: Sequence[np.ndarray], memory: dict | None = None, stride: int = 1) -> float:
        """Prefix OT: the episode so far against the same-length prefix of each demo (the full episode is not
        known yet while the env steps). The features of earlier frames are kept in `memory` (per episode).
        `stride`: the frames are every stride-th of the episode's (steps stride, 2 stride, ...); the demos are
        subsampled alike, so that frame i is compared with the demos' frames of the same time."""
        if not self.demo_features:
            raise RuntimeError("Call set_demos(...) (or fit) before asking for rewards.")
        memory = {} if memory is None else memory
        known = memory.get("features", torch.empty(0, self.backbone.feature_dim))[:len(frames) - 1]
        new = self.backbone.features(np.stack(frames[len(known):]))
        memory["features"] = feats = torch.cat([known, new])
        return -float(self._costs(feats, [d[stride - 1::stride][:len(feats)] for d in self.demo_features])[-1])

    # --- files ---------------------------------------------------------------------------------------------------
    def file_state(self) -> dict:
        return {"model": self.name, "args": asdict(self.args), "backbone": self.backbone.state(),
                "head": self.head.state_dict(), "demo_features": self.demo_features, "history": self.history}

    def save(self, path: str | Path) -> None:
        torch.save(self.file_state(), path)


class RAPLReward(OTReward):
    """RAPL: fit the head with the OT preference loss on triplets, then reward by OT against preferred demos."""

    name = "rapl"

    def __init__(self, backbone: Backbone, args: Args = Args()):
        super().__init__(backbone, args)
        if args.loss not in ("reference", "logp"):
            raise ValueError(f"Unknown loss {args.loss!r}; allowed: reference, logp.")
        if args.train_cost not in COSTS:
            raise ValueError(f"Unknown train_cost {args.train_cost!r}; allowed: {', '.join(COSTS)}.")
        self.head = nn.Sequential(Standardise(backbone.feature_dim), nn.Linear(backbone.feature_dim, args.head_dim))

    def fit(self, episodes: Sequence[Episode], triplets: Sequence[Triplet], demos: Sequence[Episode],
            progress: bool = False) -> "RAPLReward":
        if len(triplets) < 2:
            raise ValueError(f"RAPL needs at least 2 labelled triplets; got {len(triplets)}.")
        self.fitted = True  # standardise with the training frames' statistics from here on
        fit_head_on_triplets(self, episodes, triplets, "RAPL", progress)
        return self.set_demos(demos)

    def _loss(self, batch: Sequence[Triplet], feats: dict) -> torch.Tensor:
        pos, neu, neg = (self.head(torch.stack([feats[t[j]] for t in batch])) for j in range(3))
        a = self.args
        s_pn = ot_similarity(pos, neu, a.ot_reg, a.sinkhorn_iters, a.train_cost)
        s_pm = ot_similarity(pos, neg, a.ot_reg, a.sinkhorn_iters, a.train_cost)
        p = torch.sigmoid(s_pn - s_pm)  # = exp s(+,0) / (exp s(+,0) + exp s(+,-))
        equal = torch.tensor([t.equal for t in batch])
        ranked = -torch.log(p.clamp_min(1e-8)) if self.args.loss == "logp" else 1.0 - p
        return torch.where(equal, (0.5 - p) ** 2, ranked).mean()


def fit_head_on_triplets(model, episodes: Sequence[Episode], triplets: Sequence[Triplet], desc: str,
                         progress: bool) -> None:
    """Trains `model.head` on the triplets' frame features by `model._loss` (Adam, minibatches of
    `model.args.batch_size`), keeping the head of the best validation loss; RAPL and RLHF share it."""
    a = model.args
    torch.manual_seed(a.seed)
    used = sorted({i for t in triplets for i in t[:3]})
    feats = {i: model.backbone.features(episodes[i].frames[resample(a.n_frames, len(episodes[i]))]) for i in used}
    model.head[0].fit(torch.cat(list(feats.values())))
    order = torch.randperm(len(triplets)).tolist()
    n_val = max(1, int(round(a.val_fraction * len(triplets))))
    val, train = [triplets[i] for i in order[:n_val]], [triplets[i] for i in order[n_val:]]
    opt = torch.optim.Adam(model.head.parameters(), lr=a.lr)
    best, best_state = float("inf"), None
    for epoch in tqdm(range(a.epochs), desc=desc, disable=not progress):
        perm = torch.randperm(len(train)).tolist()
        for k in range(0, len(train), a.batch_size):
            loss = model._loss([train[i] for i in perm[k:k + a.batch_size]], feats)
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            val_loss = float(model._loss(val, feats))
        model.history.append({"epoch": epoch, "val_loss": val_loss})
        if val_loss < best:
            best, best_state = val_loss, {k: v.clone() for k, v in model.head.state_dict().items()}
    model.head.load_state_dict(best_state)
    model.best_val_loss = best


def preferred_demos(episodes: Sequence[Episode], user, n: int = 6) -> list[Episode]:
    """The user's `n` preferred demonstrations: the episodes of the pool they like best (no query is spent:
    RAPL's user provides demonstrations besides answering queries)."""
    ranked = sorted(range(len(episodes)), key=lambda i: -user.utility(episodes[i]))
    return [episodes[i] for i in ranked[:n]]


def load_reward_model(path: str | Path, backbone: Backbone | None = None) -> RewardModel:
    """Loads a saved RAPL / OT / TCC / RLHF reward model. With `backbone`, refuses a file trained on another
    encoder."""
    from aligngym.agents.rapl.rlhf import BTReward, RLHFArgs
    from aligngym.agents.rapl.tcc import TCCArgs, TCCReward

    state = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(state, dict) or "model" not in state or "backbone" not in state:
        raise ValueError(f"{path} is not an AlignGym rapl reward-model file.")
    saved = Backbone.from_state(state["backbone"])
    if backbone is not None and backbone.signature != saved.signature:
        raise ValueError(f"{path} was trained on encoder {saved.signature}, which does not match the given encoder "
                         f"{backbone.signature}; use that encoder or retrain.")
    if state["model"] == "rlhf":
        model = BTReward(saved, RLHFArgs(**state["args"]))
    elif state["model"] == "tcc":
        model = TCCReward(saved, Args(**state["args"]), TCCArgs(**state["tcc"]))
    else:
        model = (RAPLReward if state["model"] == "rapl" else OTReward)(saved, Args(**state["args"]))
    try:
        model.head.load_state_dict(state["head"])
    except RuntimeError as err:
        raise ValueError(f"{path}: its reward head does not fit its encoder ({err}).") from None
    model.demo_features, model.fitted = state.get("demo_features", []), True
    model.history = state.get("history", [])
    return model

