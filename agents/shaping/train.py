"""The training loop of the shaping family: one learner (REINFORCE or actor-critic), one reward mode.
Discrete action spaces get a categorical policy, Box ones (HalfCheetah) a diagonal Gaussian (rollout.py).

Reward modes (what the inner learner maximises; the primary reward r_p is what it is judged on):
    primary   r_p, discount 0.99
    naive     r_p + r_aux
    pbrs      r_p + 0.99 * Phi(s_{t+1}) - Phi(s_t) with Phi = r_aux (Phi_t is the auxiliary reward observed
              at step t; Phi after the episode's last step is 0)
    barfi     r_p + phi1(s) r_aux + phi2(s) with a learned discount, phi updated by BARFI's outer step

Each iteration runs one episode in each of `Args.num_envs` envs at once (the native vector twin when the id has
one), records their primary returns for the learning curve, makes BARFI's outer step when due, then one
inner policy step on the batch.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import torch

from aligngym.agents.shaping.actor_critic import ActorCritic
from aligngym.agents.shaping.args import Args
from aligngym.agents.shaping.barfi import Barfi
from aligngym.agents.shaping.reinforce import Reinforce
from aligngym.agents.shaping.rollout import Batch, collect

MODES = ("primary", "naive", "pbrs", "barfi")
ALGOS = {"reinforce": Reinforce, "actor_critic": ActorCritic}


@dataclass
class TrainResult:
    learner: object
    barfi: Barfi | None
    episodes: list[int] = field(default_factory=list)          # episodes seen at the end of each batch
    primary_return: list[float] = field(default_factory=list)  # the batch's mean primary return
    success: list[float] = field(default_factory=list)
    aux_return: list[float] = field(default_factory=list)
    reward_params: list[dict] = field(default_factory=list)    # BARFI's phi1, phi2, gamma per batch


def make_vector_env(env_id: str, num_envs: int, env_kwargs: dict | None = None) -> gym.vector.VectorEnv:
    import aligngym  # noqa: F401  (registers the ids)

    has_twin = gym.spec(env_id).vector_entry_point is not None
    return gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point" if has_twin else "sync",
                        **(env_kwargs or {}))


def check_choice(what: str, value, allowed) -> None:
    if value not in allowed:
        raise ValueError(f"Unknown {what} {value!r}; allowed: {', '.join(allowed)}.")


def shaped_rewards(mode: str, batch: Batch, barfi: Barfi | None,
                   gamma: float = Args.primary_gamma) -> tuple[torch.Tensor, float | torch.Tensor]:
    """The rewards and discount the inner learner maximises under `mode`."""
    if mode == "primary":
        return batch.primary, gamma
    if mode == "naive":
        return batch.primary + batch.aux, gamma
    if mode == "pbrs":
        next_potential = torch.cat([batch.aux[1:], torch.zeros_like(batch.aux[:1])])  # already 0 after the end
        return (batch.primary + gamma * next_potential - batch.aux) * batch.mask, gamma
    return barfi.rewards(batch)


def train(env_id: str, algo: str = "reinforce", mode: str = "primary", episodes: int = 3000, seed: int = 0,
          env_kwargs: dict | None = None, args: Args = Args(), progress: bool = False) -> TrainResult:
    """Trains for about `episodes` episodes (rounded up to whole batches of `args.num_envs`)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # these networks are tiny: extra threads only add overhead (3-5x on a busy machine)
    try:
        return _train(env_id, algo, mode, episodes, seed, env_kwargs, args, progress)
    finally:
        torch.set_num_threads(threads)


def _train(env_id, algo, mode, episodes, seed, env_kwargs, args: Args, progress) -> TrainResult:
    check_choice("algo", algo, tuple(ALGOS))
    check_choice("mode", mode, MODES)
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}.")
    num_envs = args.num_envs
    envs = make_vector_env(env_id, num_envs, env_kwargs)
    learner = ALGOS[algo](envs.single_observation_space, envs.single_action_space, seed, args)
    barfi = Barfi(envs.single_observation_space, args, seed=seed) if mode == "barfi" else None
    result = TrainResult(learner, barfi)
    generator = torch.Generator().manual_seed(seed)
    iterations = range(math.ceil(episodes / num_envs))
    if progress:
        from tqdm import tqdm
        iterations = tqdm(iterations, desc=f"{algo}/{mode}", leave=False)
    for i in iterations:
        batch = collect(envs, learner.policy, generator, seed=seed if i == 0 else None)
        result.episodes.append((i + 1) * num_envs)
        result.primary_return.append(float(np.mean(batch.primary_returns)))
        result.success.append(float(np.mean(batch.successes)))
        result.aux_return.append(float(np.mean(batch.aux_returns)))
        if barfi is not None:
            if i % args.outer_every == 0:
                barfi.outer_step(learner.policy, batch)
            result.reward_params.append(barfi.summary(batch))
        rewards, gamma = shaped_rewards(mode, batch, barfi, args.primary_gamma)
        learner.update(batch, rewards, gamma)
    envs.close()
    return result
