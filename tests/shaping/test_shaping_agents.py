"""The shaping learners: BARFI's inverse-Hessian product, reward modes, learning beats random, SB3 PPO
through the blended-reward wrapper, and the registered baseline factories."""
import gymnasium as gym
import numpy as np
import pytest
import torch

import aligngym  # noqa: F401
from aligngym.agents.base import AgentContext
from aligngym.agents.shaping.args import make_args
from aligngym.agents.shaping.barfi import Barfi, neumann_inverse_hvp
from aligngym.agents.shaping.rollout import collect, discounted_returns
from aligngym.agents.shaping.sb3_blended import BlendedReward
from aligngym.agents.shaping.train import make_vector_env, shaped_rewards, train
from aligngym.agents.spec import make_agent
from aligngym.benchmarks.shaping.scoring import parse_method

GRID, POLE = "AlignGym/ShapingGridWorld-v0", "AlignGym/ShapingCartPole-v0"


def success_rate(agent, heuristic="bad", episodes=64):
    envs = gym.make_vec(GRID, num_envs=episodes, vectorization_mode="vector_entry_point", heuristic=heuristic)
    obs, _ = envs.reset(seed=123)
    alive, success = np.ones(episodes, bool), np.zeros(episodes)
    while alive.any():
        obs, _, term, trunc, info = envs.step(agent.act(obs))
        ended = (term | trunc) & alive
        if ended.any():
            success[ended] = info["metrics"]["success"][ended]
        alive &= ~ended
    return success.mean()


def test_neumann_series_approximates_the_inverse_hessian_product():
    """On f(theta) = -theta'A theta/2 (H = -A): the series equals step * sum_k (I - step A)^k v, and with
    enough terms it converges to A^-1 v."""
    a = torch.tensor([[2.0, 0.5], [0.5, 1.0]])
    theta = torch.zeros(2, requires_grad=True)
    grad = torch.autograd.grad(-0.5 * theta @ a @ theta + theta.sum(), [theta], create_graph=True)
    v = [torch.tensor([1.0, -2.0])]
    five = neumann_inverse_hvp(grad, [theta], v, terms=5, step=0.1)[0]
    m = torch.eye(2) - 0.1 * a
    expected = 0.1 * sum(torch.linalg.matrix_power(m, k) @ v[0] for k in range(6))
    torch.testing.assert_close(five, expected)
    many = neumann_inverse_hvp(grad, [theta], v, terms=400, step=0.1)[0]
    torch.testing.assert_close(many, torch.linalg.solve(a, v[0]), rtol=1e-4, atol=1e-4)


def test_returns_are_differentiable_in_rewards_and_discount():
    rewards = torch.tensor([[1.0], [2.0], [3.0]], requires_grad=True)
    gamma = torch.tensor(0.5, requires_grad=True)
    mask = torch.tensor([[1.0], [1.0], [0.0]])  # the third step is padding after the episode ended
    g = discounted_returns(rewards, mask, gamma)
    assert g[:, 0].tolist() == [2.0, 2.0, 0.0]
    g[0, 0].backward()
    assert rewards.grad[:, 0].tolist() == [1.0, 0.5, 0.0] and gamma.grad.item() == 2.0


def test_reward_modes():
    envs = make_vector_env(GRID, 8, {"heuristic": "bad"})
    from aligngym.agents.shaping.reinforce import Reinforce
    learner = Reinforce(envs.single_observation_space, envs.single_action_space)
    batch = collect(envs, learner.policy, torch.Generator().manual_seed(0), seed=0)
    naive, _ = shaped_rewards("naive", batch, None)
    torch.testing.assert_close(naive, batch.primary + batch.aux)
    barfi = Barfi(envs.single_observation_space)
    blended, gamma = shaped_rewards("barfi", batch, barfi)
    torch.testing.assert_close(blended, naive)  # initialised to the naive sum
    assert gamma.item() == pytest.approx(0.99, abs=1e-3)
    pbrs, _ = shaped_rewards("pbrs", batch, None)
    # potential-based shaping telescopes: sum_t 0.99^t F_t = -Phi_0 for every episode
    discount = 0.99 ** torch.arange(batch.mask.shape[0]).float()[:, None]
    shaping = ((pbrs - batch.primary) * discount).sum(0)
    torch.testing.assert_close(shaping, -batch.aux[0], rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("spec", ["shaping.reinforce?mode=primary&budget=1024",
                                  "shaping.actor_critic?mode=primary&budget=1024"])
def test_trained_agents_beat_random(spec):
    ctx = AgentContext(GRID, gym.spaces.Box(0, 1, (2,)), gym.spaces.Discrete(4), {"heuristic": "bad"}, seed=0)
    agent = make_agent(spec, ctx)
    random_agent = make_agent("random", ctx)
    random_agent.reset(seed=0)
    agent.reset(seed=0)
    assert success_rate(agent) > success_rate(random_agent) + 0.3


def test_barfi_factory_records_its_learned_reward():
    ctx = AgentContext(GRID, gym.spaces.Box(0, 1, (2,)), gym.spaces.Discrete(4), {"heuristic": "bad"}, seed=0)
    agent = make_agent("shaping.barfi?budget=128&variant=first_order", ctx)
    assert {"phi1", "phi2", "gamma", "variant", "budget"} <= set(agent.hyperparameters)
    assert agent.act(np.zeros((3, 2), np.float32)).shape == (3,)


def test_actor_critic_learns_cartpole():
    result = train(POLE, algo="actor_critic", mode="primary", episodes=1280, env_kwargs={"heuristic": "none"})
    assert np.mean(result.primary_return[-2:]) > 2 * np.mean(result.primary_return[:2])


def test_blended_reward_wrapper_and_sb3_ppo_train_through_it():
    from stable_baselines3 import PPO

    env = BlendedReward(gym.make(GRID, heuristic="bad", random_action_prob=0.0), phi=(1.0, 0.5))
    env.reset(seed=0)
    for action in (1, 0, 1, 0, 1, 0):
        _, reward, _, _, info = env.step(action)
        assert reward == pytest.approx(info["primary_reward"] + info["aux_reward"] + 0.5)
    assert info["aux_reward"] == 50.0  # reached the centre square
    env.set_phi(Barfi(env.observation_space).reward_fn)  # a BARFI reward function also plugs in
    model = PPO("MlpPolicy", env, n_steps=128, batch_size=64, n_epochs=2, seed=0, verbose=0)
    model.learn(total_timesteps=256)
    assert model.num_timesteps >= 256


def test_ppo_factory():
    ctx = AgentContext(GRID, None, None, {"heuristic": "good"}, seed=0)
    agent = make_agent("shaping.ppo?mode=naive&budget=256", ctx)
    assert agent.act(np.zeros((2, 2), np.float32)).shape == (2,)
    with pytest.raises(ValueError, match="allowed: primary, naive"):
        make_agent("shaping.ppo?mode=pbrs&budget=256", ctx)


def test_bad_method_names_are_refused():
    with pytest.raises(ValueError, match="allowed: primary, naive, pbrs, barfi"):
        train(GRID, mode="magic", episodes=1)
    with pytest.raises(ValueError, match="allowed: reinforce, actor_critic"):
        train(GRID, algo="dqn", episodes=1)
    with pytest.raises(ValueError, match="Unknown method"):
        parse_method("reinforce/naive:first_order")
    with pytest.raises(ValueError, match="Unknown BARFI variant"):
        make_args(variant="second")
    with pytest.raises(ValueError, match="Unknown hyperparameter"):
        make_args(learning_rat=0.1)
    with pytest.raises(ValueError, match="CartPole controller"):
        make_agent("shaping.heuristic?controller=perfect", AgentContext(POLE, None, None))
