"""BARFI's outer loop around a stable-baselines3 learner: PPO, SAC or DQN as the inner learner (first-order).

One outer iteration:
  1. Inner: `inner_updates` phases of the SB3 learner (`model.learn(phase, reset_num_timesteps=False)`, so its
     optimiser state, replay buffer and running episodes carry over) on the blended reward
         r_phi(s, a) = r_p + phi1(s) * r_aux + phi2(s),   discounted by gamma_phi = sigmoid(psi),
     gamma_phi being copied into the learner's `gamma` (and PPO's rollout buffer's) before each phase.
     - PPO (on-policy) reads r_phi live from BARFI's reward network through the `BlendedReward` wrapper; a
       phase is one PPO update (n_steps * n_envs = 1024 env steps).
     - SAC and DQN (off-policy) keep r_p and r_aux apart in a `BlendedReplayBuffer`, which recomputes r_phi with
       the current phi every time it samples: a transition stored early is not trained on with a stale reward
       once phi has moved. A phase is `off_policy_phase` env steps.
  2. Outer: `outer_episodes` fresh whole episodes with the learner's stochastic policy, then one Adam step on
     phi and psi along the first-order BARFI gradient (H ~ -I)
         grad_phi J ~ d/dphi < grad_theta J_phi , grad_theta J >,
     both gradients REINFORCE surrogates built from the learner's own log-probs on those episodes (J: primary
     returns, gamma 0.99; J_phi: blended returns, differentiable in phi and psi). This is `barfi.outer_gradient`,
     shared with the REINFORCE / actor-critic BARFI; a policy view gives each learner's policy the interface it
     needs (log_prob, entropy, sample, parameters):
     - PPO: its actor (the value head excluded);
     - SAC: its squashed-Gaussian actor, log-probs of the squashed action as SAC computes them;
     - DQN: it has no stochastic policy, so the outer step treats the Boltzmann policy softmax(Q(s, .) / T) of its
       Q-network as one (T = `boltzmann_temperature`), and the fresh episodes are sampled from it.

First-order only: SB3 runs its own updates (PPO's clipped multi-epoch objective, SAC's and DQN's TD updates on a
replay buffer) and hides their graph, so neither the implicit nor the Neumann correction is available; the outer
step assumes, as first-order BARFI does, that the inner learner moves theta along the policy gradient of J_phi.
For DQN, whose update is a TD step rather than a policy-gradient step, that is a further approximation.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import DQN, PPO, SAC
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.distributions import CategoricalDistribution
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.common.vec_env import DummyVecEnv

from aligngym.agents.base import AgentContext, SB3Agent
from aligngym.agents.ppo import PPOArgs
from aligngym.agents.shaping.args import Args as BarfiArgs
from aligngym.agents.shaping.barfi import Barfi, RewardFunction
from aligngym.agents.shaping.rollout import collect
from aligngym.agents.shaping.sb3_blended import BlendedReward
from aligngym.agents.shaping.train import EnvLike, env_factory, make_vector_env

ALGOS = ("ppo", "sac", "dqn")
NATURE_CNN_MIN_SIDE = 36  # SB3's CnnPolicy (NatureCNN: 8x8 stride 4, 4x4 stride 2, 3x3) needs images this large


@dataclass(frozen=True)
class Args:
    algo: str = "ppo"
    """the SB3 inner learner: ppo, sac or dqn"""
    budget: int = 30_000
    """the inner learner's environment steps (the outer rollouts come on top)"""
    inner_updates: int = 2
    """K: inner phases per outer step (PPO: one update on n_steps * n_envs steps; SAC/DQN: off_policy_phase steps)"""
    outer_episodes: int = 32
    """fresh episodes per outer step"""
    outer_lr: float = 0.05
    """Adam step size on phi and psi (0: phi frozen at the naive sum)"""
    ppo: PPOArgs = PPOArgs(n_envs=4, n_epochs=4)  # 4 epochs: the reward moves between phases; don't overfit one
    """PPO's hyperparameters: the project's defaults with 4 envs and 4 epochs"""
    off_policy_phase: int = 1024
    """SAC/DQN: environment steps per inner phase (one env; one gradient step per train_freq steps)"""
    sac: dict = field(default_factory=lambda: {"learning_starts": 256, "batch_size": 256, "buffer_size": 100_000,
                                               "policy_kwargs": {"net_arch": [64, 64]}})
    """SAC's keyword arguments (SB3 defaults otherwise: lr 3e-4, one gradient step per env step, auto entropy)"""
    dqn: dict = field(default_factory=lambda: {"learning_rate": 1e-3, "learning_starts": 256, "batch_size": 64,
                                               "buffer_size": 50_000, "train_freq": 4, "target_update_interval": 250,
                                               "exploration_fraction": 0.1, "exploration_final_eps": 0.05,
                                               "policy_kwargs": {"net_arch": [64, 64]}})
    """DQN's keyword arguments; epsilon falls from 1 to 0.05 within the first phase (each `learn` call restarts
    SB3's schedule clock, and later phases start past its first tenth)"""
    boltzmann_temperature: float = 1.0
    """DQN: the outer step's policy is softmax(Q / this)"""

    def __post_init__(self):
        if self.algo not in ALGOS:
            raise ValueError(f"Unknown inner learner {self.algo!r}; allowed: {', '.join(ALGOS)}.")
        if min(self.budget, self.inner_updates, self.outer_episodes, self.off_policy_phase) < 1:
            raise ValueError(f"budget, inner_updates, outer_episodes and off_policy_phase must be >= 1, got "
                             f"{self.budget}, {self.inner_updates}, {self.outer_episodes}, {self.off_policy_phase}.")
        if not self.boltzmann_temperature > 0:
            raise ValueError(f"boltzmann_temperature must be > 0, got {self.boltzmann_temperature!r}.")

    def phase_steps(self) -> int:
        return self.ppo.n_steps * self.ppo.n_envs if self.algo == "ppo" else self.off_policy_phase


class BlendedReplayBuffer(ReplayBuffer):
    """SB3's replay buffer, storing the auxiliary reward beside the env's (primary) one and handing out
    r_p + phi1(s) r_aux + phi2(s) with phi as it is when sampled. One env only (SB3 then samples env index 0)."""

    def __init__(self, *args, reward_fn: RewardFunction, **kwargs):
        super().__init__(*args, **kwargs)
        if self.n_envs != 1:
            raise ValueError(f"BlendedReplayBuffer takes one env, got n_envs={self.n_envs}.")
        self.reward_fn = reward_fn
        self.aux = np.zeros((self.buffer_size, 1), dtype=np.float32)

    def add(self, obs, next_obs, action, reward, done, infos) -> None:
        self.aux[self.pos] = [info["aux_reward"] for info in infos]
        super().add(obs, next_obs, action, reward, done, infos)

    def _get_samples(self, batch_inds, env=None):
        samples = super()._get_samples(batch_inds, env)
        with torch.no_grad():
            phi = self.reward_fn.phi(in_space(samples.observations.float().cpu(), self.reward_fn.encoder.space))
        aux = torch.as_tensor(self.aux[batch_inds])
        return samples._replace(rewards=samples.rewards + (phi[:, :1] * aux + phi[:, 1:]).to(samples.rewards))


def in_space(obs: torch.Tensor, space: gym.spaces.Space) -> torch.Tensor:
    """A batch of observations as SB3 stores or feeds them, back in the env's own shape (B, *space.shape): SB3
    keeps a Discrete observation as (B, 1) and a channel-last image transposed to (B, C, H, W)."""
    if len(space.shape) == 3 and tuple(obs.shape[1:]) != space.shape:
        obs = obs.permute(0, 2, 3, 1)
    return obs.reshape(len(obs), *space.shape)


class SB3PolicyView:
    """An SB3 learner's policy through our policies' interface, so `collect` and BARFI's outer gradient take it.
    Subclasses give `parameters()` and `distribution(flat_obs)` (an SB3 Distribution). `obs_space` is the env's
    observation space (the model's may be a transposed image)."""

    squashed = False  # SAC: actions are tanh-squashed into [-1, 1] and rescaled to the box

    def __init__(self, model, obs_space: gym.spaces.Space):
        self.model = model
        self.obs_shape = obs_space.shape
        self.transpose = model.observation_space.shape != obs_space.shape  # SB3 made a channel-last image (C, H, W)
        self.action_space = model.action_space
        self.discrete = isinstance(model.action_space, gym.spaces.Discrete)

    def _flat(self, obs) -> tuple[torch.Tensor, torch.Size]:
        """Observations of any leading shape (N or T, N) as one batch the SB3 policy takes, and that shape."""
        obs = torch.as_tensor(np.asarray(obs) if not isinstance(obs, torch.Tensor) else obs).float()
        lead = obs.shape[:obs.dim() - len(self.obs_shape)]
        flat = obs.reshape(-1, *self.obs_shape)
        return (flat.permute(0, 3, 1, 2) if self.transpose else flat), lead

    def log_prob(self, obs, actions: torch.Tensor) -> torch.Tensor:
        flat, lead = self._flat(obs)
        acts = actions.reshape(-1) if self.discrete else actions.reshape(-1, actions.shape[-1])
        return self.distribution(flat).log_prob(acts).reshape(lead)

    def entropy(self, obs) -> torch.Tensor:
        flat, lead = self._flat(obs)
        entropy = self.distribution(flat).entropy()
        if entropy is None:  # SB3's squashed Gaussian has no closed form
            raise ValueError("SAC's squashed-Gaussian policy has no closed-form entropy.")
        return entropy.reshape(lead)

    @torch.no_grad()
    def sample(self, obs, generator: torch.Generator) -> np.ndarray:
        dist = self.distribution(self._flat(obs)[0]).distribution
        if self.discrete:
            return torch.multinomial(dist.probs, 1, generator=generator).squeeze(-1).numpy()
        action = dist.mean + dist.stddev * torch.randn(dist.mean.shape, generator=generator)
        return (torch.tanh(action) if self.squashed else action).numpy()

    def to_env(self, actions: np.ndarray) -> np.ndarray:
        if self.discrete:
            return actions
        if self.squashed:
            return self.model.policy.unscale_action(actions).astype(np.float32)
        return np.clip(actions, self.action_space.low, self.action_space.high).astype(np.float32)


class PPOPolicyView(SB3PolicyView):
    def parameters(self) -> list[torch.nn.Parameter]:
        """The actor's parameters (the value network plays no part in the log-probs)."""
        return [p for name, p in self.model.policy.named_parameters() if "value" not in name]

    def distribution(self, obs):
        return self.model.policy.get_distribution(obs)


class SACPolicyView(SB3PolicyView):
    squashed = True

    def parameters(self) -> list[torch.nn.Parameter]:
        return list(self.model.actor.parameters())

    def distribution(self, obs):
        mean, log_std, _ = self.model.actor.get_action_dist_params(obs)
        return self.model.actor.action_dist.proba_distribution(mean, log_std)


class DQNPolicyView(SB3PolicyView):
    def __init__(self, model, obs_space: gym.spaces.Space, temperature: float):
        super().__init__(model, obs_space)
        self.temperature = temperature

    def parameters(self) -> list[torch.nn.Parameter]:
        return list(self.model.q_net.parameters())

    def distribution(self, obs):
        logits = self.model.q_net(obs) / self.temperature
        return CategoricalDistribution(int(self.action_space.n)).proba_distribution(logits)


@dataclass
class BarfiSB3Result:
    model: object
    barfi: Barfi
    steps: list[int] = field(default_factory=list)             # inner env steps at each outer step
    primary_return: list[float] = field(default_factory=list)  # mean over the outer step's fresh episodes
    success: list[float] = field(default_factory=list)
    reward_params: list[dict] = field(default_factory=list)    # phi1, phi2, phi1_where_aux, gamma


def sb3_policy(space: gym.spaces.Space) -> str:
    """CnnPolicy for image observations (uint8 Box of shape (H, W, C) or (C, H, W)), else MlpPolicy (Discrete
    observations are one-hot encoded by SB3)."""
    if not is_image_space(space):
        return "MlpPolicy"
    height, width = sorted(space.shape)[1:]  # the channel axis is the smallest
    if min(height, width) < NATURE_CNN_MIN_SIDE:
        raise ValueError(f"SB3's CnnPolicy (NatureCNN) needs images of at least {NATURE_CNN_MIN_SIDE}x"
                         f"{NATURE_CNN_MIN_SIDE} pixels; this env's are {space.shape}. Upscale them (e.g. "
                         "gymnasium.wrappers.ResizeObservation) or train with aligngym.agents.shaping.train, whose "
                         "CNN takes small images.")
    return "CnnPolicy"


def make_learner(env: EnvLike, env_kwargs: dict, reward_fn: RewardFunction, seed: int, args: Args):
    """The SB3 model on its inner envs (`env`: an id, an env object or a factory), and the view of its policy the
    outer step uses."""
    make = env_factory(env, env_kwargs)
    if args.algo == "ppo":
        envs = DummyVecEnv([lambda: BlendedReward(make(), reward_fn)] * args.ppo.n_envs)
        model = PPO(sb3_policy(envs.observation_space), envs, seed=seed, verbose=0, device="cpu",
                    **args.ppo.sb3_kwargs())
        return model, PPOPolicyView(model, envs.observation_space)
    envs = DummyVecEnv([make])  # the env's reward is r_p; the buffer blends
    algo, kwargs = (SAC, args.sac) if args.algo == "sac" else (DQN, args.dqn)
    space = envs.action_space
    if algo is SAC and not isinstance(space, gym.spaces.Box):
        raise ValueError(f"SAC needs a Box action space; {env} has {space}. Use ppo or dqn.")
    if algo is DQN and not isinstance(space, gym.spaces.Discrete):
        raise ValueError(f"DQN needs a Discrete action space; {env} has {space}. Use ppo or sac.")
    model = algo(sb3_policy(envs.observation_space), envs, seed=seed, verbose=0, device="cpu",
                 replay_buffer_class=BlendedReplayBuffer, replay_buffer_kwargs={"reward_fn": reward_fn}, **kwargs)
    view = (SACPolicyView(model, envs.observation_space) if algo is SAC
            else DQNPolicyView(model, envs.observation_space, args.boltzmann_temperature))
    return model, view


def train_barfi_sb3(env: EnvLike, env_kwargs: dict | None = None, seed: int = 0,
                    args: Args = Args()) -> BarfiSB3Result:
    """BARFI around an SB3 learner on `env`: a registered id (with `env_kwargs`), a Gymnasium env object (copied)
    or a factory returning a fresh env; it must report `info["aux_reward"]` (wrap stock envs in ShapingWrapper)."""
    env_kwargs = dict(env_kwargs or {})
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small networks: extra threads only add overhead
    outer_envs = make_vector_env(env, args.outer_episodes, env_kwargs)
    barfi = Barfi(outer_envs.single_observation_space, BarfiArgs(variant="first_order", outer_lr=args.outer_lr),
                  seed=seed)
    model = None
    try:
        model, view = make_learner(env, env_kwargs, barfi.reward_fn, seed, args)
        result = BarfiSB3Result(model, barfi)
        steps_per_outer = min(args.budget, args.inner_updates * args.phase_steps())
        generator = torch.Generator().manual_seed(seed)
        for i in range(max(1, args.budget // steps_per_outer)):
            model.gamma = float(torch.sigmoid(barfi.reward_fn.psi.detach()))
            if args.algo == "ppo":
                model.rollout_buffer.gamma = model.gamma
            model.learn(steps_per_outer, reset_num_timesteps=False)
            batch = collect(outer_envs, view, generator, seed=seed + 1 if i == 0 else None)
            barfi.outer_step(view, batch)
            result.steps.append(model.num_timesteps)
            result.primary_return.append(float(np.mean(batch.primary_returns)))
            result.success.append(float(np.mean(batch.successes)))
            result.reward_params.append(barfi.summary(batch))
    finally:
        outer_envs.close()
        if model is not None:
            model.get_env().close()
        torch.set_num_threads(threads)
    return result


def _factory(algo: str):
    def factory(ctx: AgentContext, budget: int = Args.budget, inner_updates: int = Args.inner_updates,
                outer_episodes: int = Args.outer_episodes, deterministic: bool = True) -> SB3Agent:
        args = Args(algo=algo, budget=int(budget), inner_updates=int(inner_updates),
                    outer_episodes=int(outer_episodes))
        result = train_barfi_sb3(ctx.env_id, ctx.env_kwargs, ctx.seed, args)
        agent = SB3Agent(result.model, deterministic=deterministic, name=f"shaping.barfi_{algo}")
        agent.hyperparameters.update({**asdict(args), "final_training_primary_return": result.primary_return[-1],
                                      **result.reward_params[-1]})
        return agent

    factory.__name__ = f"barfi_{algo}"
    factory.__doc__ = (f"Trains SB3 {algo.upper()} inside BARFI's outer loop on the evaluated id and kwargs, then "
                       "acts with its policy (greedy unless deterministic=false).")
    return factory


barfi_ppo, barfi_sac, barfi_dqn = (_factory(algo) for algo in ALGOS)
