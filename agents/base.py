"""The agent interface: an agent acts on a batch of observations.

    agent.reset(num_envs, seed)         # before a batch of episodes
    actions = agent.act(obs_batch)      # obs_batch: a batch as a vector env returns it

`obs_batch` is a numpy array with a leading batch axis, a dict of such arrays (Dict spaces), or a tuple
of strings (Text spaces). `act` returns one action per row. Adapters below wrap a stable-baselines3
model, a random policy and any callable. PettingZoo envs take a dict {agent name: Agent}.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable

import gymnasium as gym
import numpy as np


class Agent:
    """Base class; subclasses override `act` (and `reset` when they keep state)."""

    name: str = "agent"
    hyperparameters: dict[str, Any] = {}

    def reset(self, num_envs: int = 1, seed: int | None = None) -> None:
        self.num_envs = num_envs

    def act(self, obs_batch: Any) -> Any:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What a RunRecord stores about this agent; with `content_hash` when the agent defines
        `content_hash()` (a SHA-256 of its weights or model file), so two agents of one class are told apart."""
        out = {"name": self.name, "class": f"{type(self).__module__}.{type(self).__qualname__}",
               "hyperparameters": dict(self.hyperparameters)}
        hasher = getattr(self, "content_hash", None)
        digest = hasher() if callable(hasher) else None
        if digest is not None:
            out["content_hash"] = digest
        return out


@dataclass
class AgentContext:
    """What an agent factory gets: the env it will face (for spaces, or to train on) and a seed."""

    env_id: str
    observation_space: gym.Space
    action_space: gym.Space
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    agents: tuple[str, ...] = ()  # PettingZoo agent names, empty for single-agent envs

    def make_env(self, **overrides) -> gym.Env:
        import aligngym  # noqa: F401  (registers ids)
        return gym.make(self.env_id, **{**self.env_kwargs, **overrides})


_BATCHABLE = (np.ndarray, np.generic, int, float, str)


class RandomAgent(Agent):
    """Samples uniformly from the action space, seeded."""

    name = "random"

    def __init__(self, action_space: gym.Space):
        self.action_space = action_space

    def reset(self, num_envs: int = 1, seed: int | None = None) -> None:
        super().reset(num_envs, seed)
        self.action_space.seed(seed)

    def act(self, obs_batch: Any) -> Any:
        n = len(next(iter(obs_batch.values()))) if isinstance(obs_batch, dict) else len(obs_batch)
        samples = [self.action_space.sample()] if n == 1 else [self.action_space.sample() for _ in range(n)]
        # arrays and scalars batch into one array; dicts and tuples (composite spaces) stay a list
        return np.array(samples) if isinstance(samples[0], _BATCHABLE) else samples


class CallableAgent(Agent):
    """Wraps `fn(obs_batch) -> actions`."""

    def __init__(self, fn: Callable[[Any], Any], name: str | None = None):
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "callable")

    def act(self, obs_batch: Any) -> Any:
        return self.fn(obs_batch)


class SB3Agent(Agent):
    """Wraps a stable-baselines3 model (`model.predict` already takes a batch)."""

    def __init__(self, model, deterministic: bool = True, name: str | None = None):
        self.model = model
        self.deterministic = deterministic
        self.name = name or f"sb3-{type(model).__name__.lower()}"
        self.hyperparameters = {"algorithm": type(model).__name__, "deterministic": deterministic,
                                "learning_rate": _plain(getattr(model, "learning_rate", None)),
                                "gamma": getattr(model, "gamma", None), "seed": getattr(model, "seed", None)}

    def act(self, obs_batch: Any) -> Any:
        actions, _ = self.model.predict(obs_batch, deterministic=self.deterministic)
        return actions

    def content_hash(self) -> str:
        """SHA-256 over the policy's parameters (names, shapes, dtypes and values, in name order)."""
        digest = hashlib.sha256()
        for name, tensor in sorted(self.model.policy.state_dict().items()):
            array = tensor.detach().cpu().numpy()
            digest.update(f"{name}|{array.dtype}|{array.shape}|".encode())
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()


def _plain(value):
    return value if isinstance(value, (int, float, str, type(None))) else repr(value)


def random_agent(ctx: AgentContext) -> Agent | dict[str, Agent]:
    """Factory for the `random` baseline; a dict of random agents for PettingZoo envs."""
    if ctx.agents:
        spaces = ctx.action_space  # dict of spaces for multi-agent contexts
        return {a: RandomAgent(spaces[a]) for a in ctx.agents}
    return RandomAgent(ctx.action_space)
