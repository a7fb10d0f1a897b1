"""What every learner here shares: a small categorical (Discrete) or diagonal Gaussian (Box) policy, a
batch of whole episodes collected from a vectorised env, and discounted returns that stay differentiable
in the rewards and the discount (BARFI differentiates through them)."""
from __future__ import annotations

from dataclasses import dataclass, fields

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from aligngym.agents.shaping.args import Args


MAX_TILE_FEATURES = 100_000


class TileCoder(nn.Module):
    """Tile coding (Sutton & Barto 2018, 9.5.4) of a bounded 1-d Box: `tilings` grids of `tiles` tiles per
    dimension, each shifted by its own fraction of a tile (the asymmetric offsets (1 + 2d) k / tilings), one active
    tile per grid, each active feature 1 / tilings (the authors' MountainCar basis: 4 tiles x 5 tilings, scaled)."""

    def __init__(self, space: gym.spaces.Box, tiles: int, tilings: int):
        super().__init__()
        low, high = space.low.astype(np.float64), space.high.astype(np.float64)
        if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
            raise ValueError(f"basis='tiles' needs an observation Box with finite bounds in every dimension, got "
                             f"{space}; allowed there: basis='mlp'.")
        dims = space.shape[0]
        self.per_tiling = tiles ** dims
        self.out_dim = tilings * self.per_tiling
        if self.out_dim > MAX_TILE_FEATURES:
            raise ValueError(f"basis='tiles' with {tiles} tiles x {tilings} tilings on a {dims}-d observation is "
                             f"{self.out_dim} features; allowed: at most {MAX_TILE_FEATURES} (fewer tiles, or "
                             f"basis='mlp').")
        self.tiles, self.tilings = tiles, tilings
        offsets = ((1 + 2 * np.arange(dims))[None, :] * np.arange(tilings)[:, None] / tilings) % 1.0
        self.register_buffer("low", torch.tensor(low, dtype=torch.float32))
        self.register_buffer("width", torch.tensor((high - low) / tiles, dtype=torch.float32))
        self.register_buffer("offsets", torch.tensor(offsets, dtype=torch.float32))  # (tilings, dims), in tiles
        self.register_buffer("strides", torch.tensor(tiles ** np.arange(dims), dtype=torch.long))
        self.register_buffer("base", torch.arange(tilings, dtype=torch.long) * self.per_tiling)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        scaled = (obs.float() - self.low) / self.width  # in [0, tiles] inside the box
        cells = torch.floor(scaled[..., None, :] + self.offsets).long().clamp(0, self.tiles - 1)
        index = (cells * self.strides).sum(-1) + self.base  # (..., tilings)
        features = torch.zeros(*obs.shape[:-1], self.out_dim)
        return features.scatter_(-1, index, 1.0 / self.tilings)


class Encoder(nn.Module):
    """Observations to features: a Box vector is scaled to [-1, 1] where its bounds are finite (unbounded
    dimensions pass unchanged), or tile-coded with `tiles` = (tiles, tilings); a Discrete observation becomes
    one-hot; an image (Box of shape (H, W, C)) goes through a small CNN (pixels / 255). Leading batch/time axes are
    kept. `out_dim` is the feature size."""

    def __init__(self, space: gym.spaces.Space, hidden: int, tiles: tuple[int, int] | None = None):
        super().__init__()
        self.space = space
        if tiles is not None:
            if not (isinstance(space, gym.spaces.Box) and len(space.shape) == 1):
                raise ValueError(f"basis='tiles' needs a 1-d Box observation space, got {space}; allowed there: "
                                 "basis='mlp'.")
            self.tile_coder = TileCoder(space, *tiles)
            self.kind, self.out_dim = "tiles", self.tile_coder.out_dim
        elif isinstance(space, gym.spaces.Discrete):
            self.kind, self.out_dim = "discrete", int(space.n)
        elif isinstance(space, gym.spaces.Box) and len(space.shape) == 1:
            low, high = space.low.astype(np.float64), space.high.astype(np.float64)
            finite = np.isfinite(low) & np.isfinite(high) & (np.abs(high - low) < 1e6)
            low, high = np.where(finite, low, -1.0), np.where(finite, high, 1.0)  # unbounded: the identity map
            self.register_buffer("centre", torch.tensor((low + high) / 2, dtype=torch.float32))
            self.register_buffer("radius", torch.tensor((high - low) / 2, dtype=torch.float32))
            self.kind, self.out_dim = "vector", space.shape[0]
        elif isinstance(space, gym.spaces.Box) and len(space.shape) == 3:
            height, width, channels = space.shape
            self.cnn = nn.Sequential(nn.Conv2d(channels, 16, 3, stride=2), nn.ReLU(),
                                     nn.Conv2d(16, 32, 3, stride=2), nn.ReLU(), nn.Flatten())
            with torch.no_grad():
                flat = self.cnn(torch.zeros(1, channels, height, width)).shape[1]
            self.head = nn.Sequential(nn.Linear(flat, hidden), nn.Tanh())
            self.kind, self.out_dim = "image", hidden
        else:
            raise ValueError(f"Unsupported observation space {space}; allowed: Discrete, a 1-d Box, or an image Box "
                             "of shape (height, width, channels).")

    def forward(self, obs) -> torch.Tensor:
        obs = torch.as_tensor(np.asarray(obs) if not isinstance(obs, torch.Tensor) else obs)
        if self.kind == "discrete":
            return nn.functional.one_hot(obs.long(), self.out_dim).float()
        obs = obs.float()
        if self.kind == "tiles":
            return self.tile_coder(obs)
        if self.kind == "vector":
            return (obs - self.centre) / self.radius
        lead = obs.shape[:-3]
        images = obs.reshape(-1, *obs.shape[-3:]).permute(0, 3, 1, 2) / 255.0
        return self.head(self.cnn(images)).reshape(*lead, self.out_dim)


def mlp(n_in: int, n_out: int, hidden: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                         nn.Linear(hidden, n_out))


def policy_body(obs_space: gym.spaces.Space, n_out: int, args: Args) -> tuple[Encoder, nn.Sequential]:
    """The policy's encoder and network, its last layer zero (the policy starts uniform, or at the box's centre):
    an MLP on the scaled observation (`basis="mlp"`) or a linear layer on tile-coded features (`basis="tiles"`,
    the authors' MountainCar policy)."""
    if args.basis == "tiles":
        encoder = Encoder(obs_space, args.hidden, (args.tiles, args.tilings))
        net = nn.Sequential(nn.Linear(encoder.out_dim, n_out))
    else:
        encoder = Encoder(obs_space, args.hidden)
        net = mlp(encoder.out_dim, n_out, args.hidden)
    nn.init.zeros_(net[-1].weight)
    nn.init.zeros_(net[-1].bias)
    return encoder, net


class CategoricalPolicy(nn.Module):
    """For Discrete actions: a softmax over the network's logits, starting uniform."""

    discrete = True

    def __init__(self, obs_space: gym.spaces.Space, action_space: gym.spaces.Discrete, args: Args):
        super().__init__()
        self.encoder, self.net = policy_body(obs_space, int(action_space.n), args)  # starts uniform

    def logits(self, obs) -> torch.Tensor:
        return self.net(self.encoder(obs))

    def log_prob(self, obs, actions: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(self.logits(obs), -1).gather(-1, actions.unsqueeze(-1)).squeeze(-1)

    def entropy(self, obs) -> torch.Tensor:
        log_probs = torch.log_softmax(self.logits(obs), -1)
        return -(log_probs.exp() * log_probs).sum(-1)

    def kl_from_detached(self, obs) -> torch.Tensor:
        """KL(pi_detached || pi) per state: zero with zero gradient here, its Hessian is the Fisher matrix."""
        log_probs = torch.log_softmax(self.logits(obs), -1)
        old = log_probs.detach()
        return (old.exp() * (old - log_probs)).sum(-1)

    @torch.no_grad()
    def sample(self, obs, generator: torch.Generator) -> np.ndarray:
        probs = torch.softmax(self.logits(obs), -1)
        return torch.multinomial(probs, 1, generator=generator).squeeze(-1).numpy()

    def to_env(self, actions: np.ndarray) -> np.ndarray:
        return actions

    @torch.no_grad()
    def greedy(self, obs) -> np.ndarray:
        return self.logits(obs).argmax(-1).numpy()


class GaussianPolicy(nn.Module):
    """For Box actions: a diagonal Gaussian in units where the action box is [-1, 1]^d, its mean from the
    network (starting at the box's centre) and a learned state-independent log-std. Log-probs are of the
    unclipped sample (as in stable-baselines3); `to_env` clips it into the box and rescales."""

    discrete = False

    def __init__(self, obs_space: gym.spaces.Space, action_space: gym.spaces.Box, args: Args):
        super().__init__()
        if not (np.all(np.isfinite(action_space.low)) and np.all(np.isfinite(action_space.high))):
            raise ValueError(f"GaussianPolicy needs a bounded Box action space, got {action_space}.")
        self.encoder, self.net = policy_body(obs_space, action_space.shape[0], args)
        self.log_std = nn.Parameter(torch.full((action_space.shape[0],), args.log_std0))
        self.low, self.high = action_space.low, action_space.high

    def dist(self, obs) -> torch.distributions.Normal:
        return torch.distributions.Normal(self.net(self.encoder(obs)), self.log_std.exp())

    def log_prob(self, obs, actions: torch.Tensor) -> torch.Tensor:
        return self.dist(obs).log_prob(actions).sum(-1)

    def entropy(self, obs) -> torch.Tensor:
        return self.dist(obs).entropy().sum(-1)

    def kl_from_detached(self, obs) -> torch.Tensor:
        """KL(pi_detached || pi) per state: zero with zero gradient here, its Hessian is the Fisher matrix."""
        dist = self.dist(obs)
        old = torch.distributions.Normal(dist.mean.detach(), dist.stddev.detach())
        return torch.distributions.kl_divergence(old, dist).sum(-1)

    @torch.no_grad()
    def sample(self, obs, generator: torch.Generator) -> np.ndarray:
        mean = self.net(self.encoder(obs))
        noise = torch.randn(mean.shape, generator=generator)
        return (mean + self.log_std.exp() * noise).numpy()

    def to_env(self, actions: np.ndarray) -> np.ndarray:
        unit = np.clip(actions, -1.0, 1.0)
        return (self.low + (unit + 1.0) * (self.high - self.low) / 2).astype(np.float32)

    @torch.no_grad()
    def greedy(self, obs) -> np.ndarray:
        return self.to_env(self.net(self.encoder(obs)).numpy())


def make_policy(obs_space: gym.spaces.Space, action_space: gym.spaces.Space,
                args: Args) -> CategoricalPolicy | GaussianPolicy:
    if isinstance(action_space, gym.spaces.Discrete):
        return CategoricalPolicy(obs_space, action_space, args)
    if isinstance(action_space, gym.spaces.Box) and len(action_space.shape) == 1:
        return GaussianPolicy(obs_space, action_space, args)
    raise ValueError(f"Unsupported action space {action_space}; allowed: Discrete or a 1-d Box.")


@dataclass
class Batch:
    """Whole episodes, time-major: tensors of shape (T, N); `mask` marks real steps (after the end: padding)."""

    obs: torch.Tensor          # (T, N, *obs_shape) as the env returns them (float, int or uint8 pixels)
    actions: torch.Tensor      # (T, N) long for Discrete; (T, N, act_dim) float for Box (before clipping)
    primary: torch.Tensor      # (T, N) primary rewards
    aux: torch.Tensor          # (T, N) auxiliary rewards
    potential: torch.Tensor    # (T, N) Phi(s_t), NaN where the env reports no `info["potential"]`
    next_potential: torch.Tensor  # (T, N) Phi(s_{t+1}), 0 when s_{t+1} is terminal
    mask: torch.Tensor         # (T, N) 1.0 for real steps
    primary_returns: np.ndarray  # (N,) undiscounted episode returns, for the learning curve
    aux_returns: np.ndarray
    successes: np.ndarray

    @staticmethod
    def join(batches: list["Batch"]) -> "Batch":
        """The episodes of several batches side by side (time padded to the longest)."""
        if len(batches) == 1:
            return batches[0]
        longest = max(b.mask.shape[0] for b in batches)

        def cat(name):
            parts = [getattr(b, name) for b in batches]
            if isinstance(parts[0], np.ndarray):
                return np.concatenate(parts)
            padded = [torch.cat([p, p.new_zeros((longest - p.shape[0], *p.shape[1:]))]) for p in parts]
            return torch.cat(padded, 1)

        return Batch(**{f.name: cat(f.name) for f in fields(Batch)})

    def split(self, parts: int) -> list["Batch"]:
        """The episodes cut into `parts` groups of near-equal size (np.array_split), each trimmed in time to its
        longest episode."""
        out = []
        for index in np.array_split(np.arange(self.mask.shape[1]), parts):
            length = int(self.mask[:, index].sum(0).max())
            out.append(Batch(**{f.name: getattr(self, f.name)[index] if f.name.endswith(("_returns", "successes"))
                                else getattr(self, f.name)[:length, index] for f in fields(Batch)}))
        return out


def _info_array(info: dict, key: str, n: int) -> np.ndarray:
    """info[key] of a vector env as n floats; NaN where it is missing."""
    if key not in info:
        return np.full(n, np.nan)
    return np.where(info.get("_" + key, np.ones(n, bool)), np.asarray(info[key], dtype=np.float64), np.nan)


def env_seeds(seed: int, n: int) -> list[int]:
    """One seed per env, drawn from np.random.SeedSequence(seed): training seeds s and s + 1 share no env stream
    (a plain reset(seed=s) gives env i the seed s + i, so seeds 0-4 of 64 envs would share 60 of 64 streams)."""
    return [int(x) for x in np.random.SeedSequence(seed).generate_state(n)]


def collect(envs: gym.vector.VectorEnv, policy, generator: torch.Generator,
            seed: int | None = None) -> Batch:
    """Runs one episode in each of the `num_envs` envs (stepping until all have ended); a `seed` reseeds the
    envs first, each with its own seed from `env_seeds`."""
    n = envs.num_envs
    obs, info = envs.reset(seed=None if seed is None else env_seeds(seed, n))
    potential = _info_array(info, "potential", n)
    alive = np.ones(n, dtype=bool)
    steps = {k: [] for k in ("obs", "actions", "primary", "aux", "potential", "next_potential", "mask")}
    # the env's episode-end metrics where it reports them (info["metrics"]); else the returns summed here and
    # success NaN (unknown), e.g. a TimeLimit put around ShapingWrapper ends episodes without its metrics
    metrics = {"primary_return": np.zeros(n), "aux_return": np.zeros(n), "success": np.full(n, np.nan)}
    summed = {"primary_return": np.zeros(n), "aux_return": np.zeros(n)}
    while alive.any():
        actions = policy.sample(obs, generator)
        next_obs, reward, terminated, truncated, info = envs.step(policy.to_env(actions))
        if "aux_reward" not in info:
            raise ValueError("The env reports no info['aux_reward']; give it a heuristic with "
                             "aligngym.envs.shaping.ShapingWrapper(env, heuristic=...) or potential=....")
        next_potential = _info_array(info, "potential", n)
        for key, value in (("obs", obs), ("actions", actions), ("primary", reward), ("aux", info["aux_reward"]),
                           ("potential", potential), ("next_potential", next_potential), ("mask", alive)):
            steps[key].append(np.array(value))  # a copy: `alive` changes in place
        summed["primary_return"] += np.where(alive, reward, 0.0)
        summed["aux_return"] += np.where(alive, info["aux_reward"], 0.0)
        ended = (terminated | truncated) & alive
        if ended.any():
            reported = info.get("metrics", {})
            has = ended & info.get("_metrics", np.ones(n, bool)) if reported else np.zeros(n, bool)
            for key in metrics:
                if key in summed:
                    metrics[key][ended] = summed[key][ended]
                if key in reported:
                    metrics[key][has] = np.asarray(reported[key], dtype=np.float64)[has]
        alive &= ~ended
        obs, potential = next_obs, next_potential
    mask = np.stack(steps["mask"]).astype(np.float32)
    real = torch.as_tensor(mask) > 0
    as_t = lambda k: torch.where(real, torch.as_tensor(np.stack(steps[k]), dtype=torch.float32), 0.0)  # noqa: E731
    return Batch(obs=torch.as_tensor(np.stack(steps["obs"])),
                 actions=torch.as_tensor(np.stack(steps["actions"]),
                                         dtype=torch.long if policy.discrete else torch.float32),
                 primary=as_t("primary"), aux=as_t("aux"), potential=as_t("potential"),
                 next_potential=as_t("next_potential"), mask=torch.as_tensor(mask),
                 primary_returns=metrics["primary_return"], aux_returns=metrics["aux_return"],
                 successes=metrics["success"])


def discounted_returns(rewards: torch.Tensor, mask: torch.Tensor, gamma) -> torch.Tensor:
    """G_t = r_t + gamma * G_{t+1} within each episode (padding contributes nothing). Differentiable."""
    out, running = [], torch.zeros_like(rewards[0])
    for t in reversed(range(rewards.shape[0])):
        running = rewards[t] * mask[t] + gamma * running * mask[t]
        out.append(running)
    return torch.stack(out[::-1])


def normalised_advantages(advantages: torch.Tensor, mask: torch.Tensor, floor=0.0) -> torch.Tensor:
    """Zero mean, unit std over the real steps, so one learning rate suits rewards of any scale; divided by
    `floor` instead where the std is below it (then the std comes out below 1)."""
    count = mask.sum()
    mean = (advantages * mask).sum() / count
    std = torch.sqrt((((advantages - mean) * mask) ** 2).sum() / count + 1e-8)
    return (advantages - mean) / torch.maximum(std, torch.as_tensor(floor, dtype=std.dtype)) * mask


def policy_surrogate(policy, batch: Batch, advantages: torch.Tensor, entropy_coef: float = 0.0) -> torch.Tensor:
    """The policy-gradient objective to maximise: mean over episodes of sum_t log pi(a_t|s_t) * A_t.
    `policy` is anything with `log_prob(obs, actions)` and `entropy(obs)` (ours, or barfi_sb3's views of SB3 policies)."""
    objective = (policy.log_prob(batch.obs, batch.actions) * advantages * batch.mask).sum() / batch.mask.shape[1]
    if entropy_coef:
        objective = objective + entropy_coef * (policy.entropy(batch.obs) * batch.mask).sum() / batch.mask.sum()
    return objective
