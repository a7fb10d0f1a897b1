"""The visual backbone of the learned rewards: frames -> feature vectors, frozen while rewards are learned.

RAPL uses an ImageNet/MVP-pretrained ResNet-18; nothing may be downloaded here, so the default backbone is a small
CNN pretrained offline on the task's own frames with a time-contrastive objective (single-view TCN, Sermanet et
al. 2018, as an InfoNCE loss): a frame's embedding must be closer to a frame of the same video at most
`pos_window` steps away than to any other frame in the batch, under random-shift augmentation. It learns what
changes over an episode (the robot's and the debris' positions) and ignores the static floor. With torchvision
installed and ResNet-18 weights on disk, `resnet18_backbone(path)` gives RAPL's own frozen backbone instead.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm


@dataclass(frozen=True)
class EncoderArgs:
    image_size: int = 64
    """frames are resized to image_size x image_size (RAPL: 112 for its ResNet-18)"""
    feature_dim: int = 128
    """backbone output size"""
    pretrain_steps: int = 300
    """time-contrastive pretraining steps"""
    batch_size: int = 32
    """anchor/positive pairs per pretraining step"""
    pos_window: int = 2
    """a positive is at most this many steps from its anchor"""
    temperature: float = 0.1
    """InfoNCE temperature"""
    lr: float = 1e-3
    """Adam learning rate for pretraining"""
    shift: int = 4
    """random-shift augmentation, in pixels"""
    max_frames: int = 20000
    """pretraining uses at most this many frames (evenly strided over the episodes)"""
    seed: int = 0
    """torch seed for initialisation and sampling"""


class SmallCNN(nn.Module):
    """Four strided convolutions and a linear layer: 64x64x3 -> feature_dim (keeps where things are)."""

    def __init__(self, feature_dim: int = 128, image_size: int = 64):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(3, 8, 4, 2, 1), nn.ReLU(), nn.Conv2d(8, 16, 4, 2, 1), nn.ReLU(),
            nn.Conv2d(16, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 32, 3, 2, 1), nn.ReLU(), nn.Flatten())
        side = -(-image_size // 16)
        self.fc = nn.Linear(32 * side * side, feature_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x))


class Backbone(nn.Module):
    """A frozen feature extractor with a signature that reward-model files record and check."""

    def __init__(self, net: nn.Module, kind: str, image_size: int, feature_dim: int, args: dict | None = None):
        super().__init__()
        self.net, self.kind, self.image_size, self.feature_dim = net, kind, image_size, feature_dim
        self.args = args or {}
        self.requires_grad_(False)
        self.eval()

    @property
    def signature(self) -> dict:
        return {"kind": self.kind, "image_size": self.image_size, "feature_dim": self.feature_dim}

    def preprocess(self, frames: np.ndarray | torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(np.asarray(frames)).permute(0, 3, 1, 2).float() / 255.0
        if x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear", antialias=True,
                              align_corners=False)
        return (x - 0.5) / 0.25

    @torch.no_grad()
    def features(self, frames: np.ndarray, batch: int = 512) -> torch.Tensor:
        """uint8 [T, H, W, 3] -> float [T, feature_dim]."""
        return torch.cat([self.net(self.preprocess(frames[i:i + batch])) for i in range(0, len(frames), batch)])

    def state(self) -> dict:
        return {"signature": self.signature, "args": self.args, "state_dict": self.net.state_dict()}

    @classmethod
    def from_state(cls, state: dict) -> "Backbone":
        sig = state["signature"]
        if sig["kind"] == "small_cnn":
            net = SmallCNN(sig["feature_dim"], sig["image_size"])
        elif sig["kind"] == "resnet18":
            net = _resnet18_trunk()
        else:
            raise ValueError(f"Unknown backbone kind {sig['kind']!r}; known: small_cnn, resnet18.")
        net.load_state_dict(state["state_dict"])
        return cls(net, sig["kind"], sig["image_size"], sig["feature_dim"], state.get("args"))


class Standardise(nn.Module):
    """Per-feature standardisation with statistics of the episodes a reward is fitted on (stored with the model).
    Frozen features share a large common component; without this, cosine costs between frames barely differ
    and the OT preference loss hardly moves."""

    def __init__(self, dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))

    def fit(self, features: torch.Tensor) -> None:
        self.mean.copy_(features.mean(0))
        self.std.copy_(features.std(0) + 1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def _shift(x: torch.Tensor, pad: int, gen: torch.Generator) -> torch.Tensor:
    """DrQ's random shift: pad by replication and crop back at a random offset per image."""
    if pad == 0:
        return x
    n, _, h, w = x.shape
    padded = F.pad(x, (pad,) * 4, mode="replicate")
    ox = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    oy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    rows = (oy[:, None] + torch.arange(h)[None])[:, :, None].expand(n, h, w)
    cols = (ox[:, None] + torch.arange(w)[None])[:, None, :].expand(n, h, w)
    idx = torch.arange(n)[:, None, None]
    return padded.permute(0, 2, 3, 1)[idx, rows, cols].permute(0, 3, 1, 2)


def pretrain_backbone(videos: Sequence[np.ndarray], args: EncoderArgs = EncoderArgs(),
                      progress: bool = False) -> Backbone:
    """Pretrains a SmallCNN on frames of `videos` (uint8 [T, H, W, 3] each) by time-contrastive InfoNCE."""
    if len(videos) < 2:
        raise ValueError("Pretraining needs at least 2 videos (other videos give the negatives).")
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    total = sum(len(v) for v in videos)
    stride = max(1, -(-total // args.max_frames))
    backbone = Backbone(SmallCNN(args.feature_dim, args.image_size), "small_cnn", args.image_size, args.feature_dim,
                        asdict(args))
    clips = [backbone.preprocess(v[::stride]) for v in videos]
    lengths = torch.tensor([len(c) for c in clips])
    net = backbone.net
    net.requires_grad_(True)
    net.train()
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    window = max(1, args.pos_window // stride)
    for _ in tqdm(range(args.pretrain_steps), desc="pretrain backbone", disable=not progress):
        vid = torch.randint(0, len(clips), (args.batch_size,), generator=gen)
        t = (torch.rand(args.batch_size, generator=gen) * lengths[vid]).long()
        dt = torch.randint(1, window + 1, (args.batch_size,), generator=gen)
        dt = torch.where(torch.rand(args.batch_size, generator=gen) < 0.5, dt, -dt)
        t2 = torch.clamp(t + dt, torch.zeros_like(t), lengths[vid] - 1)
        anchor = torch.stack([clips[v][i] for v, i in zip(vid.tolist(), t.tolist())])
        positive = torch.stack([clips[v][i] for v, i in zip(vid.tolist(), t2.tolist())])
        z = F.normalize(net(_shift(torch.cat([anchor, positive]), args.shift, gen)), dim=-1)
        logits = z[:args.batch_size] @ z[args.batch_size:].T / args.temperature
        loss = F.cross_entropy(logits, torch.arange(args.batch_size))
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.requires_grad_(False)
    net.eval()
    backbone.pretrain_loss = float(loss.detach())
    return backbone


def random_backbone(args: EncoderArgs = EncoderArgs()) -> Backbone:
    """An untrained SmallCNN (a representation baseline: random features)."""
    torch.manual_seed(args.seed)
    return Backbone(SmallCNN(args.feature_dim, args.image_size), "small_cnn", args.image_size, args.feature_dim,
                    asdict(args))


def _resnet18_trunk() -> nn.Module:
    try:
        import torchvision
    except ImportError as err:
        raise ImportError("The ResNet-18 backbone needs torchvision (`pip install torchvision`).") from err
    net = torchvision.models.resnet18(weights=None)
    net.fc = nn.Identity()
    return net


def resnet18_backbone(weights_path: str) -> Backbone:
    """RAPL's frozen ResNet-18 (512-d, 112x112 frames) from a local torchvision state dict (no download).

    Tested only where torchvision imports (tests/rapl: skipped otherwise). With the default CPU torch 2.13.0+cpu
    it cannot: the one torchvision release pinned to torch 2.13.0 (0.28.0) is on PyPI only as the CUDA 13.0 build,
    whose compiled ops link libtorch_cuda / libc10_cuda (absent from the CPU build), so `import torchvision`
    fails ("operator torchvision::nms does not exist"); 0.28.0+cpu is only on download.pytorch.org."""
    net = _resnet18_trunk()
    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    missing, unexpected = net.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"{weights_path} is not a torchvision ResNet-18 state dict (missing {missing[:3]}, "
                         f"unexpected {unexpected[:3]}).")
    return Backbone(net, "resnet18", 112, 512, {"weights": str(weights_path)})
