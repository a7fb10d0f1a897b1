"""Box actions (HalfCheetah): the diagonal Gaussian policy, REINFORCE learning to run forward on a tiny
budget, and every trained shaping baseline (BARFI included) running end to end on a Box action space."""
import gymnasium as gym
import numpy as np
import pytest
import torch

import aligngym  # noqa: F401
from aligngym.agents.base import AgentContext
from aligngym.agents.shaping.rollout import GaussianPolicy, make_policy
from aligngym.agents.shaping.args import Args
from aligngym.agents.shaping.train import train
from aligngym.agents.spec import make_agent

CHEETAH = "AlignGym/ShapingHalfCheetah-v1"
SHORT = {"horizon": 20}  # HalfCheetah episodes are 1000 steps by default; these tests only need a few


def test_gaussian_policy_log_probs_and_action_box():
    obs_space = gym.spaces.Box(-np.inf, np.inf, (3,), np.float32)
    policy = make_policy(obs_space, gym.spaces.Box(np.array([-2.0, 0.0]), np.array([2.0, 1.0]), dtype=np.float32), Args())
    assert isinstance(policy, GaussianPolicy)
    obs, actions = torch.randn(4, 5, 3), torch.randn(4, 5, 2)
    mean = policy.net(obs)
    expected = torch.distributions.Normal(mean, policy.log_std.exp()).log_prob(actions).sum(-1)
    torch.testing.assert_close(policy.log_prob(obs, actions), expected)
    # unit actions map onto the box, clipped: -1 -> low, +1 -> high, 0 -> the centre
    np.testing.assert_allclose(policy.to_env(np.array([[-1.0, 1.0], [0.0, 0.0], [5.0, -5.0]])),
                               [[-2.0, 1.0], [0.0, 0.5], [2.0, 0.0]])
    with pytest.raises(ValueError, match="Unsupported action space"):
        make_policy(obs_space, gym.spaces.MultiBinary(3), Args())


@pytest.mark.slow
def test_reinforce_learns_to_run_forward_on_halfcheetah():
    """48 batches of 16 episodes of 50 steps (38k steps): the primary (forward) return of the last batches
    beats the initial policy's (about -5: random torques drift backwards) by a clear margin."""
    result = train(CHEETAH, algo="reinforce", mode="primary", episodes=16 * 48, args=Args(num_envs=16), seed=0,
                   env_kwargs={"heuristic": "none", "horizon": 50})
    returns = np.array(result.primary_return)
    assert returns[-8:].mean() > returns[:4].mean() + 5, returns.round(1)


@pytest.mark.parametrize("spec", ["shaping.reinforce?mode=naive", "shaping.actor_critic?mode=pbrs",
                                  "shaping.barfi?variant=implicit",
                                  "shaping.barfi?inner=actor_critic&variant=first_order",
                                  "shaping.barfi_ppo?budget=512&inner_updates=1&outer_episodes=4",
                                  "shaping.barfi_sac?budget=300&outer_episodes=4"])
def test_shaping_baselines_run_end_to_end_on_halfcheetah(spec):
    env = gym.make(CHEETAH, **SHORT)
    ctx = AgentContext(CHEETAH, env.observation_space, env.action_space, {"heuristic": "bad", **SHORT}, seed=0)
    if "barfi_" not in spec:
        spec += "&budget=16&num_envs=8"
    agent = make_agent(spec, ctx)
    agent.reset(seed=0)
    obs, _ = env.reset(seed=0)
    done = False
    while not done:
        action = agent.act(obs[None])[0]
        assert action.shape == (6,) and np.all(np.abs(action) <= 1.0)
        obs, _, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    assert set(info["metrics"]) == {"primary_return", "aux_return", "length"}
    if "barfi" in spec:
        assert np.isfinite(agent.hyperparameters["phi1"])
