"""BARFI's outer loop with SB3 learners inside: PPO moves the heuristic's weight the right way, SAC and DQN run
end to end on tiny budgets, the off-policy replay buffer blends with phi as it is when sampled, the policy views
give the SB3 policies' own log-probs, and the registered factories run."""
import gymnasium as gym
import numpy as np
import pytest
import torch

import aligngym  # noqa: F401
from aligngym.agents.base import AgentContext
from aligngym.agents.ppo import PPOArgs
from aligngym.agents.shaping.barfi_sb3 import (Args, BlendedReplayBuffer, DQNPolicyView, PPOPolicyView,
                                               SACPolicyView, in_space, train_barfi_sb3)
from aligngym.agents.shaping.args import Args as BarfiArgs
from aligngym.agents.shaping.barfi import RewardFunction
from aligngym.agents.spec import make_agent
from aligngym.envs.shaping import ShapingWrapper

GRID = "AlignGym/ShapingGridWorld-v1"
POLE = "AlignGym/ShapingCartPole-v1"
CHEETAH = "AlignGym/ShapingHalfCheetah-v1"


@pytest.mark.slow
@pytest.mark.parametrize("heuristic", ["bad", "good"])
def test_barfi_ppo_turns_the_bad_heuristic_down_and_the_good_one_up(heuristic):
    """Starting from the naive sum (phi1 = 1): 8192 PPO steps, 4 outer steps. With the farmable centre bonus
    the primary gradient points away from what the heuristic rewards, so phi1 (where the bonus is paid)
    must fall; with the distance-to-goal heuristic they agree and phi1 must rise."""
    result = train_barfi_sb3(GRID, {"heuristic": heuristic}, seed=0, args=Args(budget=8192))
    phi1 = result.reward_params[-1]["phi1_where_aux"]
    assert not np.isnan(phi1), "the last outer batch was never paid the auxiliary reward"
    assert len(result.reward_params) == 4
    if heuristic == "bad":
        assert phi1 < 0.7, result.reward_params
    else:
        assert phi1 > 1.2, result.reward_params
    # the learned discount is what PPO used in its last phase
    assert result.model.gamma == pytest.approx(result.reward_params[-2]["gamma"], abs=1e-6)


@pytest.mark.parametrize("algo, env_id, kwargs", [("dqn", POLE, {"heuristic": "bad", "horizon": 50}),
                                                  ("dqn", GRID, {"heuristic": "bad"}),
                                                  ("sac", CHEETAH, {"heuristic": "bad", "horizon": 20})])
def test_off_policy_learners_run_under_the_outer_loop(algo, env_id, kwargs):
    """Two outer steps of 128 env steps each (gradient steps from step 64): phi moves off the naive sum, and the
    learner trained with the discount BARFI had learned before its last phase."""
    small = {"learning_starts": 64, "batch_size": 32}
    args = Args(algo=algo, budget=256, inner_updates=1, off_policy_phase=128, outer_episodes=4, outer_lr=0.1,
                sac={**Args().sac, **small}, dqn={**Args().dqn, **small})
    result = train_barfi_sb3(env_id, kwargs, seed=0, args=args)
    assert result.steps == [128, 256]
    assert result.reward_params[-1]["phi1"] != pytest.approx(1.0, abs=1e-3)
    assert result.model.gamma == pytest.approx(result.reward_params[-2]["gamma"], abs=1e-6)
    assert type(result.model).__name__ == algo.upper()
    assert isinstance(result.model.replay_buffer, BlendedReplayBuffer)


def test_replay_buffer_blends_with_phi_as_it_is_when_sampled():
    space = gym.spaces.Box(0, 1, (2,), np.float32)
    reward_fn = RewardFunction(space, BarfiArgs())
    buffer = BlendedReplayBuffer(8, space, gym.spaces.Discrete(4), device="cpu", reward_fn=reward_fn)
    obs = np.array([[0.2, 0.3]], np.float32)
    for primary, aux in [(1.0, 2.0), (-0.1, 0.0), (0.5, -3.0)]:
        buffer.add(obs, obs, np.array([1]), np.array([primary]), np.array([False]), [{"aux_reward": aux}])
    inds = np.array([0, 1, 2])
    expected = lambda phi1, phi2: torch.tensor([[1 + 2 * phi1 + phi2], [-0.1 + phi2], [0.5 - 3 * phi1 + phi2]])  # noqa: E731
    torch.testing.assert_close(buffer._get_samples(inds).rewards, expected(1.0, 0.0))  # the naive sum at the start
    with torch.no_grad():
        reward_fn.net[-1].bias.copy_(torch.tensor([-0.5, 0.25]))  # an outer step moves phi ...
    torch.testing.assert_close(buffer._get_samples(inds).rewards, expected(-0.5, 0.25))  # ... and old data follows


def test_policy_views_give_the_sb3_policies_log_probs():
    from stable_baselines3 import DQN, PPO, SAC

    cheetah = gym.make(CHEETAH, horizon=10)
    obs = torch.randn(3, 2, 17)
    ppo = PPO("MlpPolicy", cheetah, n_steps=16, batch_size=16, seed=0)
    view = PPOPolicyView(ppo, cheetah.observation_space)
    actions = torch.randn(3, 2, 6)
    _, expected, _ = ppo.policy.evaluate_actions(obs.reshape(6, 17), actions.reshape(6, 6))
    torch.testing.assert_close(view.log_prob(obs, actions), expected.reshape(3, 2))
    assert not any("value" in n for n, p in ppo.policy.named_parameters() if any(p is q for q in view.parameters()))

    sac = SACPolicyView(SAC("MlpPolicy", cheetah, seed=0), cheetah.observation_space)
    sampled = sac.sample(obs[0].numpy(), torch.Generator().manual_seed(0))
    assert np.all(np.abs(sampled) <= 1.0) and np.all(np.abs(sac.to_env(sampled)) <= 1.0)
    log_prob = sac.log_prob(obs[0], torch.as_tensor(sampled))
    assert log_prob.shape == (2,) and torch.isfinite(log_prob).all()
    grads = torch.autograd.grad(log_prob.sum(), sac.parameters(), allow_unused=True)
    assert any(g is not None and g.abs().sum() > 0 for g in grads)  # the actor's weights, not the critic's
    assert not any(p is q for p in sac.parameters() for q in sac.model.critic.parameters())

    dqn = DQN("MlpPolicy", gym.make(POLE), seed=0)
    view = DQNPolicyView(dqn, dqn.observation_space, temperature=2.0)
    states = torch.randn(5, 4)
    expected = torch.log_softmax(dqn.q_net(states) / 2.0, -1)
    torch.testing.assert_close(view.log_prob(states, torch.tensor([0, 1, 1, 0, 1])),
                               expected.gather(1, torch.tensor([[0], [1], [1], [0], [1]])).squeeze(1))


def test_barfi_sb3_factories_record_their_learned_reward_and_refuse_bad_input():
    ctx = AgentContext(GRID, gym.spaces.Box(0, 1, (2,)), gym.spaces.Discrete(4), {"heuristic": "bad"}, seed=0)
    agent = make_agent("shaping.barfi_ppo?budget=2048", ctx)
    assert agent.name == "shaping.barfi_ppo"
    assert {"phi1", "phi2", "gamma", "budget", "inner_updates", "algo"} <= set(agent.hyperparameters)
    assert agent.act(np.zeros((3, 2), np.float32)).shape == (3,)
    agent = make_agent("shaping.barfi_dqn?budget=300&outer_episodes=4", ctx)
    assert agent.name == "shaping.barfi_dqn" and agent.act(np.zeros((3, 2), np.float32)).shape == (3,)
    with pytest.raises(ValueError, match="budget, inner_updates, outer_episodes and off_policy_phase must be >= 1"):
        make_agent("shaping.barfi_ppo?budget=0", ctx)
    with pytest.raises(ValueError, match="Unknown inner learner 'a2c'; allowed: ppo, sac, dqn"):
        Args(algo="a2c")
    with pytest.raises(ValueError, match="SAC needs a Box action space"):
        make_agent("shaping.barfi_sac?budget=64", ctx)
    with pytest.raises(ValueError, match="DQN needs a Discrete action space"):
        train_barfi_sb3(CHEETAH, {"horizon": 5}, args=Args(algo="dqn", budget=64))


class CorridorImage(gym.Env):
    """A corridor of 8 cells shown as a `side` x `side` RGB image (a bright column where the agent is); the right
    end pays 1."""

    action_space = gym.spaces.Discrete(2)

    def __init__(self, side: int = 36):
        self.side = side
        self.observation_space = gym.spaces.Box(0, 255, (side, side, 3), np.uint8)

    def _obs(self):
        img = np.zeros((self.side, self.side, 3), np.uint8)
        img[:, self.x * (self.side // 8)] = 255
        return img

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x, self.t = 0, 0
        return self._obs(), {}

    def step(self, action):
        self.x, self.t = int(np.clip(self.x + (1 if action == 1 else -1), 0, 7)), self.t + 1
        return self._obs(), float(self.x == 7), self.x == 7, self.t >= 20 and self.x != 7, {}


def open_lake():
    """FrozenLake without holes (Discrete(16) observations), shaped by distance to the goal."""
    return ShapingWrapper(gym.make("FrozenLake-v1", desc=["SFFF", "FFFF", "FFFF", "FFFG"], is_slippery=False,
                                   max_episode_steps=30), potential=lambda s: -float(6 - s // 4 - s % 4))


class BoxCorridorImage(CorridorImage):
    """The corridor with a Box action: moves right when the action is positive."""

    action_space = gym.spaces.Box(-1, 1, (1,), np.float32)

    def step(self, action):
        return super().step(int(float(np.asarray(action).reshape(-1)[0]) > 0))


def tiny(algo: str) -> Args:
    small = {"learning_starts": 32, "batch_size": 32, "buffer_size": 1000}
    return Args(algo=algo, budget=128, inner_updates=1, off_policy_phase=64, outer_episodes=4, outer_lr=0.1,
                ppo=PPOArgs(n_envs=2, n_steps=32, batch_size=32, n_epochs=1),
                dqn={**Args().dqn, **small}, sac={**Args().sac, **small})


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
@pytest.mark.parametrize("env, policy", [
    (open_lake, {"ppo": "ActorCriticPolicy", "dqn": "DQNPolicy"}),                  # Discrete observations
    (lambda: ShapingWrapper(CorridorImage(), heuristic=lambda s, a, s2: float(a)),  # images: SB3's CNN
     {"ppo": "ActorCriticCnnPolicy", "dqn": "CnnPolicy"}),
    (gym.make(GRID, heuristic="bad"), {"ppo": "ActorCriticPolicy", "dqn": "DQNPolicy"}),  # an env object
])
def test_sb3_learners_take_env_objects_factories_discrete_and_image_observations(algo, env, policy):
    """Two outer steps on envs given as objects or factories; phi moves off the naive sum on every one."""
    result = train_barfi_sb3(env, seed=0, args=tiny(algo))
    assert result.steps == [64, 128] and type(result.model.policy).__name__ == policy[algo]
    assert all(np.isfinite(result.primary_return))
    assert result.reward_params[-1]["phi1"] != pytest.approx(1.0, abs=1e-3)


def test_sac_takes_image_observations():
    make = lambda: ShapingWrapper(BoxCorridorImage(), heuristic=lambda s, a, s2: float(a[0]))  # noqa: E731
    result = train_barfi_sb3(make, seed=0, args=tiny("sac"))
    assert result.steps == [64, 128] and type(result.model.policy).__name__ == "CnnPolicy"
    assert result.reward_params[-1]["phi1"] != pytest.approx(1.0, abs=1e-3)


def test_policy_views_of_image_and_discrete_observations_give_the_sb3_log_probs():
    """The view feeds SB3 its own layout: a channel-last image transposed to (C, H, W) as SB3's VecTransposeImage
    does, a Discrete observation as an index (SB3 one-hot encodes it); (T, N) leading axes are kept."""
    from stable_baselines3 import PPO

    env = CorridorImage()
    ppo = PPO("CnnPolicy", env, n_steps=16, batch_size=16, seed=0)
    obs = np.stack([[env.observation_space.sample() for _ in range(2)] for _ in range(3)])  # (T=3, N=2, H, W, C)
    actions = torch.tensor([[0, 1], [1, 1], [0, 0]])
    chw = torch.as_tensor(obs).reshape(6, 36, 36, 3).permute(0, 3, 1, 2).float()
    _, expected, _ = ppo.policy.evaluate_actions(chw, actions.reshape(6))
    torch.testing.assert_close(PPOPolicyView(ppo, env.observation_space).log_prob(obs, actions),
                               expected.reshape(3, 2))

    lake = open_lake()
    ppo = PPO("MlpPolicy", lake, n_steps=16, batch_size=16, seed=0)
    states = np.array([[0, 5], [15, 3]])
    _, expected, _ = ppo.policy.evaluate_actions(torch.as_tensor(states.reshape(4)), torch.tensor([0, 1, 2, 3]))
    torch.testing.assert_close(PPOPolicyView(ppo, lake.observation_space).log_prob(
        states, torch.tensor([[0, 1], [2, 3]])), expected.reshape(2, 2))


def test_replay_buffer_hands_phi_observations_in_the_envs_own_shape():
    """SB3 stores a Discrete observation as (1,) and a channel-last image as (C, H, W); phi must see the env's."""
    for space, stored, expected in [
        (gym.spaces.Discrete(16), torch.tensor([[3.0], [7.0]]), torch.tensor([3.0, 7.0])),
        (gym.spaces.Box(0, 255, (4, 5, 3), np.uint8), torch.arange(120.0).reshape(2, 3, 4, 5),
         torch.arange(120.0).reshape(2, 3, 4, 5).permute(0, 2, 3, 1)),
    ]:
        torch.testing.assert_close(in_space(stored, space), expected)


def test_sb3_learners_refuse_images_too_small_for_their_cnn_and_train_points_to_them():
    with pytest.raises(ValueError, match=r"CnnPolicy \(NatureCNN\) needs images of at least 36x36 pixels; this "
                                         r"env's are \(8, 8, 3\)"):
        train_barfi_sb3(lambda: ShapingWrapper(CorridorImage(8), heuristic=lambda s, a, s2: 0.0), args=tiny("ppo"))
    from aligngym.agents.shaping.train import train
    with pytest.raises(ValueError, match=r"allowed: reinforce, actor_critic. For SB3 PPO inside BARFI use .*train_barfi_sb3.* shaping.barfi_ppo"):
        train(GRID, algo="ppo", episodes=2)
