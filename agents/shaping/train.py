"""The training loop of the shaping family: one learner (REINFORCE or actor-critic), one reward mode.
Discrete action spaces get a categorical policy, Box ones (HalfCheetah) a diagonal Gaussian (rollout.py).

Reward modes (what the inner learner maximises; the primary reward r_p is what it is judged on):
    primary         r_p, discount 0.99
    naive           r_p + r_aux
    pbrs            potential-based shaping (Ng et al. 1999): r_p + 0.99 Phi(s_{t+1}) - Phi(s_t), with the env's
                    state potential Phi (`info["potential"]`, 0 at terminal states). Any trajectory's shaped
                    return differs from its primary one only by 0.99^T Phi(s_T) - Phi(s_0), so the optimal
                    policies are unchanged.
    pbrs_reference  the authors' baseline, kept for comparison only: r_p + 0.99 r_aux[t+1] - r_aux[t], using the
                    auxiliary reward of (s_t, a_t) as a "potential". It depends on the action, so it is NOT
                    potential-based and can change which policy is optimal.
    dpba            dynamic potential-based advice (Harutyunyan et al. 2015): a potential Phi(s, a) learned by
                    TD from -r_aux, shaping r_p + 0.99 Phi(s', a') - Phi(s, a) (dpba.py)
    barfi           r_p + phi1(s) r_aux + phi2(s) with a learned discount, phi updated by BARFI's outer step

Each iteration runs one episode in each of `Args.num_envs` envs at once (the native vector twin when the id has
one), records their primary returns for the learning curve, makes BARFI's outer step when due, then
`Args.inner_steps` policy steps on the batch (plus up to `Args.replay` earlier episodes).

`train` takes a registered id, a Gymnasium env object (copied num_envs times) or a factory returning a fresh env;
the env must report `info["aux_reward"]` (and `info["potential"]` for pbrs): wrap a stock env with
`aligngym.envs.shaping.ShapingWrapper`.
"""
from __future__ import annotations

import copy
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Union

import gymnasium as gym
import numpy as np
import torch

from aligngym.agents.shaping.actor_critic import ActorCritic
from aligngym.agents.shaping.args import Args
from aligngym.agents.shaping.barfi import Barfi
from aligngym.agents.shaping.dpba import DPBA
from aligngym.agents.shaping.reinforce import Reinforce
from aligngym.agents.shaping.rollout import Batch, collect

MODES = ("primary", "naive", "pbrs", "pbrs_reference", "dpba", "barfi")
ALGOS = {"reinforce": Reinforce, "actor_critic": ActorCritic}
EnvLike = Union[str, gym.Env, Callable[[], gym.Env]]


@dataclass
class TrainResult:
    learner: object
    barfi: Barfi | None
    episodes: list[int] = field(default_factory=list)          # episodes seen at the end of each batch
    primary_return: list[float] = field(default_factory=list)  # the batch's mean primary return
    success: list[float] = field(default_factory=list)
    aux_return: list[float] = field(default_factory=list)
    reward_params: list[dict] = field(default_factory=list)    # BARFI's phi1, phi2, gamma per batch


def env_factory(env: EnvLike, env_kwargs: dict | None = None) -> Callable[[], gym.Env]:
    """A function returning a fresh copy of `env`: an id (made with `env_kwargs`), an env object (deep-copied)
    or a factory (itself)."""
    if isinstance(env, str):
        import aligngym  # noqa: F401  (registers the ids)

        return lambda: gym.make(env, **(env_kwargs or {}))
    if env_kwargs:
        raise ValueError("env_kwargs apply only to a registered id; configure an env object or factory yourself.")
    if isinstance(env, gym.Env):
        return lambda: copy.deepcopy(env)
    if callable(env):
        return env
    raise ValueError(f"env must be a registered id, a gymnasium.Env or a factory returning one, got {env!r}.")


def make_vector_env(env: EnvLike, num_envs: int, env_kwargs: dict | None = None) -> gym.vector.VectorEnv:
    """`num_envs` copies of `env` (see `env_factory`); an id with a native vector twin gets the twin."""
    make = env_factory(env, env_kwargs)
    if isinstance(env, str) and gym.spec(env).vector_entry_point is not None:
        return gym.make_vec(env, num_envs=num_envs, vectorization_mode="vector_entry_point", **(env_kwargs or {}))
    return gym.vector.SyncVectorEnv([make] * num_envs)


def check_choice(what: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"Unknown {what} {value!r}; allowed: {', '.join(allowed)}.")


def shaped_rewards(mode: str, batch: Batch, barfi: Barfi | None, gamma: float = Args.primary_gamma,
                   dpba: DPBA | None = None) -> tuple[torch.Tensor, float | torch.Tensor]:
    """The rewards and discount the inner learner maximises under `mode`."""
    if mode == "primary":
        return batch.primary, gamma
    if mode == "naive":
        return batch.primary + batch.aux, gamma
    if mode == "pbrs":
        if torch.isnan(batch.potential).any() or torch.isnan(batch.next_potential).any():
            raise ValueError("mode 'pbrs' needs a state potential in info['potential'] after reset and every step; "
                             "wrap the env with ShapingWrapper(env, potential=fn).")
        return (batch.primary + gamma * batch.next_potential - batch.potential) * batch.mask, gamma
    if mode == "pbrs_reference":
        next_aux = torch.cat([batch.aux[1:], torch.zeros_like(batch.aux[:1])])  # already 0 after the end
        return (batch.primary + gamma * next_aux - batch.aux) * batch.mask, gamma
    if mode == "dpba":
        return dpba.rewards(batch), gamma
    return barfi.rewards(batch)


def train(env: EnvLike, algo: str = "reinforce", mode: str = "primary", episodes: int = 3000, seed: int = 0,
          env_kwargs: dict | None = None, args: Args = Args(), progress: bool = False) -> TrainResult:
    """Trains for about `episodes` episodes (rounded up to whole batches of `args.num_envs`)."""
    if algo in ("ppo", "sac", "dqn"):
        raise ValueError(f"Unknown algo (the inner learner) {algo!r}; allowed: {', '.join(ALGOS)}. For SB3 "
                         f"{algo.upper()} inside BARFI use aligngym.agents.shaping.barfi_sb3.train_barfi_sb3(env, "
                         f"args=Args(algo={algo!r})) or the agent spec shaping.barfi_{algo}.")
    check_choice("algo (the inner learner)", algo, tuple(ALGOS))
    check_choice("mode", mode, MODES)
    if not isinstance(episodes, int) or isinstance(episodes, bool) or episodes < 1:
        raise ValueError(f"episodes must be an integer >= 1, got {episodes!r}.")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # these networks are tiny: extra threads only add overhead (3-5x on a busy machine)
    envs = make_vector_env(env, args.num_envs, env_kwargs)
    try:
        return _train(envs, algo, mode, episodes, seed, args, progress)
    finally:
        envs.close()
        torch.set_num_threads(threads)


def _train(envs, algo, mode, episodes, seed, args: Args, progress) -> TrainResult:
    learner = ALGOS[algo](envs.single_observation_space, envs.single_action_space, seed, args)
    barfi = Barfi(envs.single_observation_space, args, seed=seed) if mode == "barfi" else None
    dpba = (DPBA(envs.single_observation_space, envs.single_action_space, args, seed=seed) if mode == "dpba"
            else None)
    result = TrainResult(learner, barfi)
    generator = torch.Generator().manual_seed(seed)
    replay: deque[Batch] = deque()
    iterations = range(math.ceil(episodes / args.num_envs))
    if progress:
        from tqdm import tqdm
        iterations = tqdm(iterations, desc=f"{algo}/{mode}", leave=False)
    for i in iterations:
        batch = collect(envs, learner.policy, generator, seed=seed if i == 0 else None)
        result.episodes.append((i + 1) * args.num_envs)
        result.primary_return.append(float(np.mean(batch.primary_returns)))
        result.success.append(float(np.mean(batch.successes)))
        result.aux_return.append(float(np.mean(batch.aux_returns)))
        if barfi is not None:
            if i % args.outer_every == 0:
                barfi.outer_step(learner.policy, batch)
            result.reward_params.append(barfi.summary(batch))
        train_on = Batch.join([*replay, batch])
        if dpba is not None:
            dpba.update(batch)
        for _ in range(args.inner_steps):
            rewards, gamma = shaped_rewards(mode, train_on, barfi, args.primary_gamma, dpba)
            learner.update(train_on, rewards, gamma)
        if args.replay:
            replay.append(batch)
            while sum(b.mask.shape[1] for b in replay) > args.replay:
                replay.popleft()
    return result
