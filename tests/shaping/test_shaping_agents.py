"""The shaping learners: BARFI's inverse-Hessian product, reward modes, learning beats random, SB3 PPO
through the blended-reward wrapper, and the registered baseline factories."""
import gymnasium as gym
import numpy as np
import pytest
import torch

import aligngym  # noqa: F401
from aligngym.agents.base import AgentContext
from aligngym.agents.shaping.args import make_args
from aligngym.agents.shaping.barfi import (Barfi, RewardFunction, conjugate_gradient, fisher_matvec,
                                          inverse_curvature_product, outer_gradient)
from aligngym.agents.shaping.reinforce import Reinforce, monte_carlo_advantages
from aligngym.agents.shaping.dpba import DPBA
from aligngym.agents.shaping.rollout import Batch, collect, discounted_returns, env_seeds, policy_surrogate
from aligngym.agents.shaping.sb3_blended import BlendedReward
from aligngym.agents.shaping.train import make_vector_env, shaped_rewards, train
from aligngym.agents.spec import make_agent
from aligngym.benchmarks.shaping.scoring import parse_method
from aligngym.envs.shaping import ShapingWrapper

GRID, POLE, CAR = "AlignGym/ShapingGridWorld-v1", "AlignGym/ShapingCartPole-v1", "AlignGym/ShapingMountainCar-v1"


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


def test_neumann_series_and_conjugate_gradient_approximate_the_inverse_hessian_product():
    """On f(theta) = -theta'A theta/2 (H = -A): the series equals step * sum_k (I - step A)^k v and converges to
    A^-1 v with enough terms; CG on A (the Gauss-Newton matrix of this quadratic) solves it in 2 steps."""
    a = torch.tensor([[2.0, 0.5], [0.5, 1.0]])
    theta = torch.zeros(2, requires_grad=True)
    grad = torch.autograd.grad(-0.5 * theta @ a @ theta + theta.sum(), [theta], create_graph=True)
    hessian = lambda v: torch.autograd.grad(grad, [theta], grad_outputs=v, retain_graph=True)  # noqa: E731
    v = [torch.tensor([1.0, -2.0])]
    five = inverse_curvature_product("neumann", v, hessian, None, make_args(neumann_terms=5, neumann_step=0.1))[0]
    m = torch.eye(2) - 0.1 * a
    expected = 0.1 * sum(torch.linalg.matrix_power(m, k) @ v[0] for k in range(6))
    torch.testing.assert_close(five, expected)
    many = inverse_curvature_product("neumann", v, hessian, None, make_args(neumann_terms=400, neumann_step=0.1))[0]
    torch.testing.assert_close(many, torch.linalg.solve(a, v[0]), rtol=1e-4, atol=1e-4)
    cg = conjugate_gradient(lambda x: [a @ x[0]], v, iters=2)[0]
    torch.testing.assert_close(cg, torch.linalg.solve(a, v[0]))


def test_implicit_gradient_beats_first_order_on_an_ill_conditioned_bilevel_problem():
    """Inner: theta*(phi) maximises -(theta - phi)'A(theta - phi)/2 with A ill-conditioned (theta* = phi);
    outer: J = -|theta* - target|^2/2. The true hypergradient is target - phi. The implicit direction
    (A^-1 times the mixed derivative A) recovers it; the first-order one (H ~ -I) is A (target - phi), which
    crawls along A's small eigenvalue. Same step size, same number of outer steps: implicit gets there."""
    a = torch.diag(torch.tensor([10.0, 0.1]))
    target = torch.tensor([1.0, 1.0])
    args = make_args(cg_iters=2)
    final = {}
    for variant in ("implicit", "first_order"):
        phi = torch.zeros(2, requires_grad=True)
        for _ in range(30):
            theta = phi.detach().clone().requires_grad_(True)  # the inner optimum
            inner = -0.5 * (theta - phi) @ a @ (theta - phi)
            inner_grad = torch.autograd.grad(inner, [theta], create_graph=True)
            grad_primary = [target - theta.detach()]
            u = inverse_curvature_product(variant, grad_primary, None, lambda x: [a @ x[0]], args)
            step = torch.autograd.grad(sum((g * w).sum() for g, w in zip(inner_grad, u)), [phi])[0]
            with torch.no_grad():
                phi += 0.09 * step
        final[variant] = float(0.5 * ((phi.detach() - target) ** 2).sum())
    assert final["implicit"] < 0.01 and final["first_order"] > 0.25, final  # 0.003 vs 0.29


def test_the_implicit_solve_is_not_a_rescaled_first_order_step_on_a_real_batch():
    """u = (F + damping I)^-1 grad J points elsewhere than grad J (cosine well below 1), whereas the authors'
    Neumann series at its step is grad J within 1%."""
    envs = make_vector_env(GRID, 32, {"heuristic": "bad"})
    learner = Reinforce(envs.single_observation_space, envs.single_action_space)
    batch = collect(envs, learner.policy, torch.Generator().manual_seed(0), seed=0)
    params = list(learner.policy.parameters())
    grad_primary = torch.autograd.grad(
        policy_surrogate(learner.policy, batch, monte_carlo_advantages(batch, batch.primary, 0.99)), params)
    inner_grad = torch.autograd.grad(policy_surrogate(learner.policy, batch, monte_carlo_advantages(
        batch, batch.primary + batch.aux, 0.99)), params, create_graph=True)
    hessian = lambda v: torch.autograd.grad(inner_grad, params, grad_outputs=v, retain_graph=True)  # noqa: E731
    args = make_args()
    fisher = fisher_matvec(learner.policy, batch, params, args.damping)
    flat = lambda xs: torch.cat([x.flatten() for x in xs])  # noqa: E731
    g = flat(grad_primary)
    cos = lambda u: float(flat(u) @ g / (flat(u).norm() * g.norm()))  # noqa: E731
    assert cos(inverse_curvature_product("neumann", grad_primary, hessian, fisher, args)) > 0.99
    assert cos(inverse_curvature_product("implicit", grad_primary, hessian, fisher, args)) < 0.9


def test_returns_are_differentiable_in_rewards_and_discount():
    rewards = torch.tensor([[1.0], [2.0], [3.0]], requires_grad=True)
    gamma = torch.tensor(0.5, requires_grad=True)
    mask = torch.tensor([[1.0], [1.0], [0.0]])  # the third step is padding after the episode ended
    g = discounted_returns(rewards, mask, gamma)
    assert g[:, 0].tolist() == [2.0, 2.0, 0.0]
    g[0, 0].backward()
    assert rewards.grad[:, 0].tolist() == [1.0, 0.5, 0.0] and gamma.grad.item() == 2.0


def random_batch(env_id, n=64, **kwargs):
    envs = make_vector_env(env_id, n, kwargs)
    learner = Reinforce(envs.single_observation_space, envs.single_action_space)
    return collect(envs, learner.policy, torch.Generator().manual_seed(0), seed=0)


def discounted_total(rewards, gamma=0.99):
    return (rewards * gamma ** torch.arange(rewards.shape[0]).float()[:, None]).sum(0)


def test_naive_and_barfi_at_its_start_are_the_sum():
    batch = random_batch(GRID, 8, heuristic="bad")
    naive, _ = shaped_rewards("naive", batch, None)
    torch.testing.assert_close(naive, batch.primary + batch.aux)
    blended, gamma = shaped_rewards("barfi", batch, Barfi(gym.spaces.Box(0, 1, (2,))))
    torch.testing.assert_close(blended, naive)  # initialised to the naive sum
    assert gamma.item() == pytest.approx(0.99, abs=1e-3)


@pytest.mark.parametrize("env_id,heuristic", [(GRID, "good"), (GRID, "bad"), (CAR, "velocity"), (CAR, "good"),
                                              (CAR, "bad"), (POLE, "bad_reference")])
def test_pbrs_is_potential_based(env_id, heuristic):
    """Every episode's discounted shaped return differs from its primary one only by the boundary term
    0.99^L Phi(s_L) - Phi(s_0) (Phi(s_L) = 0 when s_L is terminal), whatever the actions."""
    batch = random_batch(env_id, 32, heuristic=heuristic, **({"horizon": 200} if env_id == CAR else {}))
    pbrs, _ = shaped_rewards("pbrs", batch, None)
    length = batch.mask.sum(0).long()
    last = batch.next_potential[length - 1, torch.arange(len(length))]
    boundary = 0.99 ** length.float() * last - batch.potential[0]
    torch.testing.assert_close(discounted_total(pbrs) - discounted_total(batch.primary), boundary,
                               rtol=1e-4, atol=1e-3)


def test_the_authors_pbrs_is_not_potential_based():
    """All GridWorld episodes start at the same state; those that reach the goal end in a terminal state, so any
    potential-based term totals the same -Phi(start) for all of them. The authors' version totals -r_aux of the
    first step, which depends on the first action."""
    batch = random_batch(GRID, 64, heuristic="good")
    reached = torch.as_tensor(batch.successes) > 0
    assert reached.sum() >= 5
    correct = discounted_total(shaped_rewards("pbrs", batch, None)[0] - batch.primary)[reached]
    reference = discounted_total(shaped_rewards("pbrs_reference", batch, None)[0] - batch.primary)[reached]
    assert correct.std() < 1e-4 and reference.std() > 0.01
    torch.testing.assert_close(reference, -batch.aux[0][reached])


def test_pbrs_without_a_potential_is_refused_clearly():
    env = lambda: ShapingWrapper(gym.make("CartPole-v1"), heuristic=lambda s, a, s2: 0.0)  # noqa: E731
    with pytest.raises(ValueError, match=r"needs a state potential in info\['potential'\]"):
        train(env, mode="pbrs", episodes=2, args=make_args(num_envs=2))


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
    for action in (1, 0, 1, 0):
        _, reward, _, _, info = env.step(action)
        assert reward == pytest.approx(info["primary_reward"] + info["aux_reward"] + 0.5)
    assert info["aux_reward"] == 100.0  # the last two of the four sub-steps end in the centre square
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
    with pytest.raises(ValueError, match="allowed: primary, naive, pbrs, pbrs_reference, dpba, barfi"):
        train(GRID, mode="magic", episodes=1)
    with pytest.raises(ValueError, match=r"Unknown algo \(the inner learner\) 'dqn'; allowed: reinforce, actor_critic"):
        train(GRID, algo="dqn", episodes=1)
    with pytest.raises(ValueError, match="Unknown preset 'paper'; allowed: default, reference"):
        make_args("paper")
    with pytest.raises(ValueError, match="Unknown method"):
        parse_method("reinforce/naive:first_order")
    with pytest.raises(ValueError, match="Unknown BARFI variant"):
        make_args(variant="second")
    with pytest.raises(ValueError, match="Unknown hyperparameter"):
        make_args(learning_rat=0.1)
    with pytest.raises(ValueError, match="CartPole controller"):
        make_agent("shaping.heuristic?controller=perfect", AgentContext(POLE, None, None))


def test_dpba_shaping_is_potential_based_for_its_current_potential():
    """With Phi(s, a) fixed during a batch, each episode's discounted shaping total is -Phi(s_0, a_0) (Phi is 0
    after the last step); TD steps make Phi low where the (bad) heuristic pays."""
    batch = random_batch(GRID, 8, heuristic="bad")
    dpba = DPBA(gym.spaces.Box(0, 1, (2,)), gym.spaces.Discrete(4), make_args())
    dpba.update(batch)  # sets the scale; Phi is no longer zero
    phi, _ = dpba.potentials(batch)
    shaping = discounted_total(dpba.rewards(batch) - batch.primary)
    torch.testing.assert_close(shaping, -phi[0].detach(), rtol=1e-4, atol=1e-3)
    for _ in range(20):
        dpba.update(batch)
    with torch.no_grad():
        phi, _ = dpba.potentials(batch)
    paid, unpaid = (batch.aux > 0) & (batch.mask > 0), (batch.aux == 0) & (batch.mask > 0)
    assert paid.any() and phi[paid].mean() < phi[unpaid].mean() < 0  # Phi ~ -(discounted future aux)


def test_dpba_shapes_each_batch_with_the_potential_as_just_updated(monkeypatch):
    """The paper's order (dpba.py): the TD step on Phi comes first, then the shaping with the updated Phi, every
    inner step of the batch."""
    calls = []
    update, rewards = DPBA.update, DPBA.rewards
    monkeypatch.setattr(DPBA, "update", lambda self, batch: calls.append("update") or update(self, batch))
    monkeypatch.setattr(DPBA, "rewards", lambda self, batch: calls.append("shape") or rewards(self, batch))
    args = make_args(num_envs=2, inner_steps=3)
    train(GRID, mode="dpba", episodes=4, env_kwargs={"heuristic": "bad"}, args=args)
    assert calls == (["update"] + ["shape"] * 3) * 2


def test_the_reference_schedule_takes_15_inner_steps_per_batch_of_3_episodes_with_replay():
    result = train(GRID, mode="barfi", episodes=9, env_kwargs={"heuristic": "bad"}, args=make_args("reference"))
    assert result.episodes == [3, 6, 9] and len(result.reward_params) == 3
    steps = {int(s["step"]) for s in result.learner.optimizer.state.values()}
    assert steps == {45}


def test_the_authors_outer_loop_steps_once_per_3_episodes_with_their_optimiser_and_step_sizes():
    """The table's BARFI config: a batch of 16 episodes is cut into 5 groups (4, 3, 3, 3, 3) and phi takes one
    outer step per group, with the authors' optimiser; HalfCheetah's discount step size is 0 (psi stays put)."""
    batch = random_batch(GRID, 16, heuristic="bad")
    groups = batch.split(5)
    assert [g.mask.shape[1] for g in groups] == [4, 3, 3, 3, 3]
    assert sum(float(g.mask.sum()) for g in groups) == float(batch.mask.sum())
    assert all(g.mask.shape[0] == int(g.mask.sum(0).max()) for g in groups)  # trimmed to its longest episode
    learner = Reinforce(gym.spaces.Box(0, 1, (2,)), gym.spaces.Discrete(4))
    grid = Barfi(gym.spaces.Box(0, 1, (2,)), make_args("authors_gridworld"))
    assert isinstance(grid.optimizer, torch.optim.RMSprop)
    grid.outer_step(learner.policy, batch)
    assert {int(s["step"]) for s in grid.optimizer.state.values()} == {5}
    one = Barfi(gym.spaces.Box(0, 1, (2,)), make_args("authors_gridworld", outer_episodes=0))
    one.outer_step(learner.policy, batch)
    assert {int(s["step"]) for s in one.optimizer.state.values()} == {1}
    cheetah = Barfi(gym.spaces.Box(0, 1, (2,)), make_args("authors_halfcheetah"))
    assert isinstance(cheetah.optimizer, torch.optim.Adam)
    psi = float(cheetah.reward_fn.psi)
    cheetah.outer_step(learner.policy, batch)
    assert float(cheetah.reward_fn.psi) == psi and cheetah.optimizer.param_groups[0]["lr"] == 0.0025
    with pytest.raises(ValueError, match="outer_optimizer.*allowed: adam, rmsprop"):
        make_args(outer_optimizer="sgd")
    with pytest.raises(ValueError, match=r"outer_episodes must be an integer in \[0, num_envs = 4\]"):
        make_args(num_envs=4, outer_episodes=5)
    with pytest.raises(ValueError, match="discount_lr must be None or a finite number >= 0"):
        make_args(discount_lr=-1.0)


def test_joined_batches_pad_time_and_keep_every_episode():
    short, long = random_batch(GRID, 3, heuristic="none"), random_batch(CAR, 2, horizon=60)
    long.obs = long.obs[..., :2]
    joined = Batch.join([short, long])
    assert joined.mask.shape == (max(short.mask.shape[0], 60), 5)
    assert joined.mask.sum() == short.mask.sum() + long.mask.sum()
    assert list(joined.primary_returns) == [*short.primary_returns, *long.primary_returns]


def test_unnormalised_advantages_keep_the_rewards_scale():
    """By default each batch's advantages have unit std whatever the rewards' scale; with
    normalise_advantages=False they are only centred, so a reward 100x smaller gives advantages 100x smaller."""
    batch = random_batch("AlignGym/ShapingCartPole-v1", n=8, horizon=30)
    small = batch.primary * 0.01
    torch.testing.assert_close(monte_carlo_advantages(batch, small, 0.99),
                               monte_carlo_advantages(batch, batch.primary, 0.99))
    torch.testing.assert_close(monte_carlo_advantages(batch, small, 0.99, normalise=False),
                               0.01 * monte_carlo_advantages(batch, batch.primary, 0.99, normalise=False))
    learner = Reinforce(gym.spaces.Box(-1, 1, (4,)), gym.spaces.Discrete(2), 0,
                        make_args(normalise_advantages=False))
    torch.testing.assert_close(learner.advantages(batch, small, 0.99),
                               monte_carlo_advantages(batch, small, 0.99, normalise=False))


def test_advantage_floor_keeps_a_tiny_shaped_spread_tiny():
    """CartPole at 500: every episode of the batch has the same primary returns, so the advantages are only what a
    tiny phi * aux adds. The batch-std normaliser blows them up to unit size (a full policy step); with
    advantage_floor the normaliser is at least floor x mean |return-to-go|, so they stay tiny and so does the step.
    Where the returns really differ (a learning batch) the floor does not bind and the two agree."""
    n, horizon = 8, 40
    mask = torch.ones(horizon, n)
    aux = -(torch.rand(horizon, n, generator=torch.Generator().manual_seed(0)) < 0.5).float()
    batch = Batch(obs=torch.randn(horizon, n, 4, generator=torch.Generator().manual_seed(1)),
                  actions=torch.randint(0, 2, (horizon, n), generator=torch.Generator().manual_seed(2)),
                  primary=torch.ones(horizon, n), aux=aux, potential=torch.zeros(horizon, n),
                  next_potential=torch.zeros(horizon, n), mask=mask, primary_returns=np.full(n, 40.0),
                  aux_returns=aux.sum(0).numpy(), successes=np.ones(n))
    shaped = batch.primary + 0.01 * batch.aux
    old = monte_carlo_advantages(batch, shaped, 0.99)
    floored = monte_carlo_advantages(batch, shaped, 0.99, floor=0.05)
    assert float(old.pow(2).mean().sqrt()) == pytest.approx(1.0, rel=1e-3)  # a full-size step from 1% of aux
    assert float(floored.pow(2).mean().sqrt()) < 0.02
    torch.testing.assert_close(floored, 0.01 * monte_carlo_advantages(batch, batch.aux, 0.99, normalise=False)
                               / (0.05 * discounted_returns(shaped, mask, 0.99).mean()))

    def step(floor):
        learner = Reinforce(gym.spaces.Box(-5, 5, (4,)), gym.spaces.Discrete(2), 0,
                            make_args(advantage_floor=floor, entropy_coef=0.0))
        before = [p.detach().clone() for p in learner.policy.parameters()]
        learner.optimizer = torch.optim.SGD(learner.policy.parameters(), lr=0.1)  # a step proportional to the grad
        learner.update(batch, shaped, 0.99)
        return sum(float((p.detach() - b).pow(2).sum()) for p, b in zip(learner.policy.parameters(), before)) ** 0.5

    assert step(0.05) < 0.05 * step(0.0)
    learning = random_batch(POLE, n=8)  # returns spread widely: the floor does not bind
    torch.testing.assert_close(monte_carlo_advantages(learning, learning.primary, 0.99, floor=0.05),
                               monte_carlo_advantages(learning, learning.primary, 0.99))


def test_batches_of_one_episode_are_refused_and_two_episodes_learn():
    """REINFORCE's baseline is the batch's mean return, so with one episode per batch every advantage (and BARFI's
    outer gradient) is 0 and nothing moves: refused, in Args and through an agent spec. Two episodes learn."""
    with pytest.raises(ValueError, match="num_envs must be an integer >= 2, got 1: REINFORCE's baseline"):
        make_args(num_envs=1)
    ctx = AgentContext(GRID, gym.spaces.Box(0, 1, (2,)), gym.spaces.Discrete(4), {"heuristic": "bad"}, seed=0)
    with pytest.raises(ValueError, match="num_envs must be an integer >= 2"):
        make_agent("shaping.barfi?num_envs=1&budget=8", ctx)
    result = train(GRID, mode="barfi", episodes=2, env_kwargs={"heuristic": "bad"}, args=make_args(num_envs=2))
    assert result.learner.policy.net[-1].weight.abs().max() > 0  # starts at exactly 0 (a uniform policy)
    assert result.barfi.reward_fn.net[-1].bias.tolist() != pytest.approx([1.0, 0.0], abs=1e-6)


class ConstantPolicy:
    """Always action 0, so two batches differ only through the envs' own randomness."""
    discrete = True

    def sample(self, obs, generator):
        return np.zeros(len(obs), dtype=np.int64)

    def to_env(self, actions):
        return actions


def test_training_seeds_share_no_env_stream():
    """Each training seed seeds its envs from its own SeedSequence: with reset(seed=s) env i got s + i, so env 1
    of seed 0 replayed env 0 of seed 1 step for step (seeds 0-4 of 64 envs shared 60 streams)."""
    def trajectories(seed):
        batch = collect(make_vector_env(GRID, 8, {"heuristic": "none"}), ConstantPolicy(), None, seed=seed)
        return [batch.obs[:, i][batch.mask[:, i] > 0] for i in range(8)]

    zero, one = trajectories(0), trajectories(1)
    assert not any(len(a) == len(b) and torch.equal(a, b) for a in zero for b in one)
    assert all(torch.equal(a, b) for a, b in zip(zero, trajectories(0)))  # and a seed still reproduces
    assert len(set(env_seeds(0, 64)) & set(env_seeds(1, 64))) == 0


def test_phi1_where_aux_is_nan_when_no_aux_reward_was_paid():
    batch = random_batch(GRID, 4, heuristic="bad")
    barfi = Barfi(gym.spaces.Box(0, 1, (2,)))
    assert (batch.aux != 0).any() and barfi.summary(batch)["phi1_where_aux"] == pytest.approx(1.0)
    batch.aux = torch.zeros_like(batch.aux)
    assert np.isnan(barfi.summary(batch)["phi1_where_aux"])  # not 0.0, which read as "turned the bonus off"


@pytest.mark.parametrize("field, value", [("learning_rate", -1.0), ("outer_lr", float("nan")), ("damping", -5.0),
                                          ("entropy_coef", True), ("gae_lambda", 1.5), ("neumann_step", 0.0),
                                          ("max_grad_norm", "1"), ("neumann_terms", -1), ("primary_gamma", 0.0)])
def test_out_of_range_hyperparameters_are_refused(field, value):
    with pytest.raises(ValueError, match=f"^{field} must be"):
        make_args(**{field: value})


@pytest.mark.parametrize("variant", ["first_order", "implicit"])
def test_the_outer_gradient_is_the_slope_of_the_primary_objective_after_one_inner_step(variant):
    """What BARFI's outer gradient is, checked by finite differences: nudge phi1's bias by +-eps, take one inner step
    theta' = theta + eta M grad_theta J_phi (first_order: M = I; implicit: M = (F + damping I)^-1, a natural-gradient
    step, solved exactly on a 4-unit policy) and read the primary surrogate at theta'. Its slope / eta is the outer
    gradient (within 2% at eta = 1e-3)."""
    args = make_args(hidden=4, cg_iters=200, variant=variant)
    envs = make_vector_env(GRID, 16, {"heuristic": "bad"})
    learner = Reinforce(envs.single_observation_space, envs.single_action_space, seed=0, args=args)
    batch = collect(envs, learner.policy, torch.Generator().manual_seed(0), seed=0)
    learner.update(batch, batch.primary + batch.aux, 0.99)  # off the uniform start
    policy, params = learner.policy, list(learner.policy.parameters())
    reward_fn = RewardFunction(envs.single_observation_space, args)
    bias = reward_fn.net[-1].bias
    index = next(i for i, p in enumerate(reward_fn.parameters()) if p is bias)
    analytic = outer_gradient(policy, batch, reward_fn, args)[index][0].item()
    primary_advantages = monte_carlo_advantages(batch, batch.primary, args.primary_gamma)
    eta, eps = 1e-3, 0.05

    def primary_after_one_step(delta):
        with torch.no_grad():
            bias[0] += delta
            rewards, gamma = reward_fn(batch)
            bias[0] -= delta
        step = torch.autograd.grad(policy_surrogate(policy, batch, monte_carlo_advantages(batch, rewards, gamma)),
                                   params)
        if variant == "implicit":
            step = conjugate_gradient(fisher_matvec(policy, batch, params, args.damping), list(step), args.cg_iters)
        saved = [p.detach().clone() for p in params]
        with torch.no_grad():
            for p, d in zip(params, step):
                p.add_(eta * d)
            value = policy_surrogate(policy, batch, primary_advantages).item()
            for p, s in zip(params, saved):
                p.copy_(s)
        return value

    slope = (primary_after_one_step(eps) - primary_after_one_step(-eps)) / (2 * eps * eta)
    assert slope == pytest.approx(analytic, rel=0.02)  # measured: first_order -4.15, implicit -13.5 on this batch


@pytest.mark.parametrize("anchor, target", [("start", (1.0, 0.0)), ("zero", (0.0, 0.0))])
def test_the_reward_l2_penalty_pulls_phi_toward_its_anchor(anchor, target):
    """From a phi moved away from both anchors, outer steps on the same CartPole batch (bad heuristic) end closer to
    the anchor with the penalty than without it; at the anchor=start the penalty is zero and adds no gradient."""
    envs = make_vector_env(POLE, 8, {"heuristic": "bad", "horizon": 40})
    learner = Reinforce(envs.single_observation_space, envs.single_action_space)
    batch = collect(envs, learner.policy, torch.Generator().manual_seed(0), seed=0)

    def distance_after_steps(reward_l2):
        barfi = Barfi(envs.single_observation_space, make_args(reward_l2=reward_l2, reward_l2_anchor=anchor,
                                                               outer_lr=0.05))
        if anchor == "start":
            assert float(barfi.penalty().detach()) == 0.0
        with torch.no_grad():
            barfi.reward_fn.net[-1].bias.copy_(torch.tensor([-1.5, 0.8]))
        for _ in range(20):
            barfi.outer_step(learner.policy, batch)
        with torch.no_grad():
            phi = barfi.reward_fn.phi(batch.obs)[batch.mask > 0].mean(0)
        return float(torch.linalg.vector_norm(phi - torch.tensor(target)))

    free, pulled = distance_after_steps(0.0), distance_after_steps(4.0)
    assert pulled < free - 0.5


def test_reward_l2_arguments_are_checked():
    with pytest.raises(ValueError, match="reward_l2_anchor.*allowed: start, zero"):
        make_args(reward_l2_anchor="init")
    for bad in (-1.0, "much"):
        with pytest.raises(ValueError, match="reward_l2 must be a number >= 0"):
            make_args(reward_l2=bad)


def test_without_a_goal_in_the_batch_only_the_penalty_moves_phi():
    """MountainCar's primary reward is the goal only: on a batch where no episode reaches it, grad J = 0, so the
    outer gradient is exactly zero and BARFI cannot correct a bad heuristic; the penalty toward zero still pulls
    phi1 toward primary-only. `Barfi.trace` says so: the J part of every step is 0, the pull is not."""
    envs = make_vector_env(CAR, 8, {"heuristic": "mirror", "horizon": 30})
    learner = Reinforce(envs.single_observation_space, envs.single_action_space)
    batch = collect(envs, learner.policy, torch.Generator().manual_seed(0), seed=0)
    assert float(batch.primary.abs().sum()) == 0.0

    def phi1_after_steps(**overrides):
        barfi = Barfi(envs.single_observation_space, make_args(**overrides))
        for _ in range(10):
            barfi.outer_step(learner.policy, batch)
        assert len(barfi.trace) == 10 and all(t["grad_j"] == 0.0 and t["goals"] == 0.0 for t in barfi.trace)
        assert all((t["grad_l2"] > 0) == bool(barfi.args.reward_l2) for t in barfi.trace)
        return barfi.summary(batch)["phi1_where_aux"]

    assert phi1_after_steps() == pytest.approx(1.0, abs=1e-6)
    assert phi1_after_steps(reward_l2=0.25, reward_l2_anchor="zero") < 0.85


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
def test_phi_started_at_primary_only_moves_only_on_a_primary_gradient(optimizer):
    """`phi_init="primary"`: phi1 = phi2 = 0 everywhere, so the blended reward is the primary one exactly. On a
    MountainCar batch with no goal (grad J = 0) ten outer steps leave phi exactly 0, under Adam and RMSprop and with
    the authors' L2 pull toward zero (its gradient at a zero tensor is 0); on a CartPole batch, whose primary returns
    differ, the first outer step moves it."""
    def phi_after_steps(env_id, env_kwargs, **overrides):
        envs = make_vector_env(env_id, 8, env_kwargs)
        learner = Reinforce(envs.single_observation_space, envs.single_action_space)
        batch = collect(envs, learner.policy, torch.Generator().manual_seed(0), seed=0)
        barfi = Barfi(envs.single_observation_space, make_args(phi_init="primary", outer_optimizer=optimizer,
                                                               **overrides))
        rewards, _ = barfi.rewards(batch)
        assert torch.equal(rewards, batch.primary * batch.mask)
        for _ in range(10):
            barfi.outer_step(learner.policy, batch)
        with torch.no_grad():
            return batch, barfi.reward_fn.phi(batch.obs)[batch.mask > 0]

    for overrides in ({}, {"reward_l2": 0.25, "reward_l2_anchor": "zero"}):
        batch, phi = phi_after_steps(CAR, {"heuristic": "bad", "horizon": 30}, **overrides)
        assert float(batch.primary.abs().sum()) == 0.0 and float(batch.aux.abs().sum()) > 0
        assert torch.count_nonzero(phi) == 0
    batch, phi = phi_after_steps(POLE, {"heuristic": "bad", "horizon": 40}, reward_l2=0.25, reward_l2_anchor="zero")
    assert float(batch.primary.sum(0).std()) > 0 and float(phi.abs().max()) > 1e-3


def test_phi_init_is_checked():
    with pytest.raises(ValueError, match="phi_init.*allowed: naive, primary"):
        make_args(phi_init="zero")


def test_tile_coding_activates_one_tile_per_tiling_and_separates_near_from_far_states():
    """basis="tiles": each state has exactly `tilings` active features of 1/tilings; a state a twentieth of the box
    away shares most of its tiles, one at the other corner shares none (the generalisation tile coding gives)."""
    from aligngym.agents.shaping.rollout import TileCoder

    space = gym.spaces.Box(np.array([-1.2, -0.07], np.float32), np.array([0.6, 0.07], np.float32))
    coder = TileCoder(space, tiles=4, tilings=5)
    assert coder.out_dim == 5 * 4 * 4
    states = torch.tensor([[-0.5, 0.0], [-0.41, 0.0035], [0.6, 0.07], [-1.2, -0.07]])
    features = coder(states)
    assert torch.allclose(features.sum(-1), torch.ones(4)) and ((features > 0).sum(-1) == 5).all()
    shared = lambda i, j: int(((features[i] > 0) & (features[j] > 0)).sum())  # noqa: E731
    assert 2 <= shared(0, 1) < 5 and shared(2, 3) == 0
    assert coder(states[None]).shape == (1, 4, 80)  # leading time/batch axes kept


def test_a_tile_coded_linear_policy_starts_uniform_and_learns_mountaincar():
    """The authors' MountainCar policy (linear softmax on 4 x 5 tiles): uniform at the start, and REINFORCE on it
    reaches the goal on the good heuristic within 200 episodes (a uniform policy does in about 1 of 3 at horizon
    2000; the learned one in most)."""
    args = make_args(basis="tiles", learning_rate=0.03, num_envs=16)
    result = train(CAR, "reinforce", "naive", episodes=192, seed=0, env_kwargs={"horizon": 2000, "heuristic": "good"},
                   args=args)
    policy = result.learner.policy
    assert isinstance(policy.net[-1], torch.nn.Linear) and len(policy.net) == 1
    assert np.mean(result.success[-3:]) > np.mean(result.success[:3]) + 0.3


@pytest.mark.parametrize("overrides, message", [
    ({"basis": "fourier"}, "basis.*allowed: mlp, tiles"),
    ({"basis": "tiles", "tiles": 0}, "tiles must be an integer >= 1"),
    ({"basis": "tiles", "tilings": 2.5}, "tilings must be an integer >= 1")])
def test_basis_arguments_are_checked(overrides, message):
    with pytest.raises(ValueError, match=message):
        make_args(**overrides)


def test_tiles_on_an_observation_they_cannot_take_are_refused():
    from aligngym.agents.shaping.rollout import make_policy

    actions = gym.spaces.Discrete(2)
    with pytest.raises(ValueError, match="finite bounds.*allowed there: basis='mlp'"):
        make_policy(gym.spaces.Box(-np.inf, np.inf, (3,)), actions, make_args(basis="tiles"))
    with pytest.raises(ValueError, match="1-d Box.*allowed there: basis='mlp'"):
        make_policy(gym.spaces.Discrete(5), actions, make_args(basis="tiles"))
    with pytest.raises(ValueError, match="at most 100000"):
        make_policy(gym.spaces.Box(-1, 1, (17,)), actions, make_args(basis="tiles"))
