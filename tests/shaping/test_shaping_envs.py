"""Behaviour of the shaping envs: rewards and auxiliary rewards, farmability, controllers, twins, bad input."""
import gymnasium as gym
import numpy as np
import pytest

import aligngym  # noqa: F401
from aligngym.envs import registry
from aligngym.envs.checks import ArgumentError
from aligngym.agents.base import AgentContext
from aligngym.agents.shaping.baselines import heuristic
from aligngym.envs.shaping import cartpole, gridworld, mountaincar

GRID, CAR, POLE, CHEETAH = (f"AlignGym/Shaping{n}-v1" for n in ("GridWorld", "MountainCar", "CartPole", "HalfCheetah"))


def run_vector(env_id, act, num_envs=32, seed=0, **kwargs):
    """One episode per env with the policy `act(obs)`; the per-episode metrics."""
    envs = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)
    obs, _ = envs.reset(seed=seed)
    alive, out = np.ones(num_envs, bool), {}
    while alive.any():
        obs, _, term, trunc, info = envs.step(act(obs))
        ended = (term | trunc) & alive
        for k, v in info.get("metrics", {}).items():
            if not k.startswith("_"):
                out.setdefault(k, []).extend(v[ended])
        alive &= ~ended
    return {k: np.array(v) for k, v in out.items()}


def walk(env, actions):
    env.reset(seed=0)
    return [env.step(a) for a in actions]


def test_gridworld_good_heuristic_is_highest_at_goal_and_falls_with_distance():
    points = np.array([[0.87, 0.87], [0.8, 0.8], [0.5, 0.5], [0.125, 0.125], [0.0, 1.0]])
    aux = gridworld.aux_reward("good", points)
    assert aux[0] == 0.0 and np.all(np.diff(aux[:4]) < 0) and aux[4] < aux[2]


def test_gridworld_moves_in_sub_steps_and_stops_at_walls():
    env = gym.make(GRID, heuristic="none", random_action_prob=0.0)
    env.reset(seed=0)
    obs, reward, *_ = env.step(1)
    assert obs == pytest.approx([0.125 + 4 * 0.045, 0.125]) and reward == pytest.approx(-0.1)
    obs = env.step(2)[0]  # down from y = 0.125: the third sub-step would leave the square; stops after two
    assert obs == pytest.approx([0.305, 0.035])


def test_gridworld_rewards_and_goal():
    env = gym.make(GRID, heuristic="none", random_action_prob=0.0)
    steps = walk(env, [1, 0] * 4)  # (0.125, 0.125) -> (0.845, 0.845) in 8 steps, the last enters the goal
    rewards = [s[1] for s in steps]
    assert rewards[:-1] == [pytest.approx(-0.1)] * 7 and rewards[-1] == pytest.approx(99.9)
    assert steps[-1][2] is True and steps[-1][4]["metrics"] == pytest.approx(
        {"primary_return": 99.9 - 0.7, "aux_return": 0.0, "success": 1.0, "length": 8.0})


def test_gridworld_bad_heuristic_is_farmable_and_sums_over_sub_steps():
    """Staying in the centre pays 50 per sub-step there (up to 200 a step), far more than reaching the goal."""
    env = gym.make(GRID, heuristic="bad", random_action_prob=0.0)
    farm = walk(env, [1, 0, 1, 0] + [2, 0] * 23)  # into the centre square, then down and up inside it
    assert [s[4]["aux_reward"] for s in farm[3:6]] == [100.0, 50.0, 100.0]  # 2, 1, 2 sub-steps in the centre
    farm_metrics = farm[-1][4]["metrics"]
    assert farm[-1][4]["aux_reward"] == 0.0  # nothing on the last step, as the reference
    goal_metrics = walk(env, [1, 0] * 4)[-1][4]["metrics"]
    assert farm_metrics["success"] == 0.0 and farm_metrics["length"] == 50
    assert farm_metrics["aux_return"] == 100 + 23 * 50 + 22 * 100
    assert goal_metrics["primary_return"] > farm_metrics["primary_return"] + 100
    assert farm_metrics["primary_return"] + farm_metrics["aux_return"] > 10 * (
        goal_metrics["primary_return"] + goal_metrics["aux_return"])


def test_gridworld_random_policy_reaches_the_goal_about_a_third_of_the_time():
    rng = np.random.default_rng(0)
    m = run_vector(GRID, lambda obs: rng.integers(0, 4, len(obs)), num_envs=400, heuristic="none")
    assert 0.3 < m["success"].mean() < 0.45  # the reference's geometry (the authors' runs: ~0.36)


def test_gridworld_random_actions_happen_at_the_documented_rate():
    env = gym.make(GRID, heuristic="none", random_action_prob=0.1, horizon=10_000)
    env.reset(seed=1)
    moved_up = 0
    for _ in range(2000):
        env.unwrapped.pos = np.array([0.5, 0.5])  # away from walls and goal
        env.step(0)
        moved_up += env.unwrapped.pos[1] > 0.5
    assert 0.88 < moved_up / 2000 < 0.96  # 90% chosen + 2.5% random-up


def test_potentials_are_state_functions_and_zero_at_terminal_states():
    assert gridworld.potential("bad", np.array([[0.5, 0.5], [0.2, 0.2], [0.8, 0.8]])).tolist() == [200.0, 0.0, 0.0]
    env = gym.make(GRID, heuristic="good", random_action_prob=0.0)
    _, info = env.reset(seed=0)
    assert info["potential"] == pytest.approx(-4 * 2 * (0.87 - 0.125) ** 2)
    assert walk(env, [1, 0] * 4)[-1][4]["potential"] == 0.0  # the goal is terminal
    assert mountaincar.potential("velocity", np.zeros(2), np.array([0.02, -0.01]), False) == pytest.approx([0.2, 0.1])
    assert mountaincar.potential("bad", np.array([-0.5, 0.0, -0.5]), np.zeros(3),
                                 np.array([False, False, True])).tolist() == [1.0, 0.0, 0.0]


def test_mountaincar_aux_rewards():
    env = gym.make(CAR, heuristic="good")
    env.reset(seed=0)
    env.unwrapped.pos, env.unwrapped.vel = -0.5, 0.01
    assert env.step(2)[4]["aux_reward"] == 1.0 and env.step(1)[4]["aux_reward"] == -1.0
    env.unwrapped.vel = 0.03
    assert env.step(0)[4]["aux_reward"] == -1.0  # against the velocity
    env = gym.make(CAR, heuristic="mirror")
    env.reset(seed=0)
    env.unwrapped.pos, env.unwrapped.vel = -0.5, 0.01
    assert env.step(2)[4]["aux_reward"] == -1.0 and env.step(1)[4]["aux_reward"] == 1.0
    env = gym.make(CAR, heuristic="bad")  # the valley bonus, whatever the push
    env.reset(seed=0)
    env.unwrapped.pos, env.unwrapped.vel = -0.5, 0.0
    assert env.step(0)[4]["aux_reward"] == 1.0 and env.step(2)[4]["aux_reward"] == 1.0
    env.unwrapped.pos, env.unwrapped.vel = 0.0, 0.0
    assert env.step(1)[4]["aux_reward"] == 0.0
    env = gym.make(CAR, heuristic="velocity")
    env.reset(seed=0)
    obs, *_, info = env.step(2)
    assert info["aux_reward"] == pytest.approx(10 * abs(obs[1]))


def test_mountaincar_primary_is_sparse_and_pumping_solves_it():
    pump = heuristic(AgentContext(CAR, None, None)).act
    m = run_vector(CAR, pump, heuristic="good")
    assert np.all(m["success"] == 1.0) and np.all(m["primary_return"] == 1.0) and m["length"].max() < 200
    assert np.all(m["aux_return"] > 0)
    idle = run_vector(CAR, lambda obs: np.ones(len(obs), dtype=np.int64), num_envs=4, heuristic="good", horizon=300)
    assert np.all(idle["primary_return"] == 0.0) and np.all(idle["length"] == 300)
    assert np.all(idle["aux_return"] == -299.0)  # -1 for every step but the last
    # primary_return is 1 for any solver, however slow, so MountainCar ranks speed by length, declared lower-is-better
    declared = {m.name: m.higher_is_better for m in registry.row(CAR).metrics}
    assert declared["length"] is False and declared["primary_return"] is True


def test_cartpole_pd_controllers_return_what_the_card_says():
    agents = {c: heuristic(AgentContext(POLE, None, None), controller=c) for c in ("good", "weak")}
    for agent in agents.values():
        agent.reset(num_envs=64)
    g = run_vector(POLE, agents["good"].act, num_envs=64, heuristic="good")
    w = run_vector(POLE, agents["weak"].act, num_envs=64, heuristic="weak")
    assert g["primary_return"].mean() == 500.0 and g["aux_return"].mean() == 499.0  # agrees except the last step
    assert 240 < w["primary_return"].mean() < 360  # the authors: ~303
    agents["good"].reset(num_envs=8)
    bad = run_vector(POLE, agents["good"].act, num_envs=8, heuristic="bad_reference")
    assert np.all(bad["aux_return"] == -5 * 499.0)


def test_cartpole_aux_uses_the_controllers_memory_of_the_last_angle():
    env = gym.make(POLE, heuristic="good")
    env.reset(seed=3)
    theta = env.unwrapped.state[cartpole.THETA]
    right = int(cartpole.pd_action("good", theta, 0.0))  # theta_{-1} = 0 at the start
    assert env.step(right)[4]["aux_reward"] == 1.0
    assert env.unwrapped.prev_theta == theta
    env.reset(seed=3)
    assert env.step(1 - right)[4]["aux_reward"] == 0.0


def test_halfcheetah_splits_forward_reward_and_control_cost():
    good, bad = gym.make(CHEETAH, heuristic="good"), gym.make(CHEETAH, heuristic="bad", horizon=3)
    action = np.full(6, 0.5, dtype=np.float32)
    for env, weight in ((good, 1.0), (bad, 4.0)):
        env.reset(seed=0)
        obs, reward, _, _, info = env.step(action)
        assert obs.dtype == np.float32 and reward == pytest.approx(info["x_velocity"])
        assert info["aux_reward"] == pytest.approx(-weight * 6 * 0.25)  # -w |a|^2, the reference's scale
    bad.step(action)
    last = bad.step(action)
    assert last[3] is True and set(last[4]["metrics"]) == {"primary_return", "aux_return", "length"}


@pytest.mark.parametrize("env_id,kwargs", [(GRID, {"heuristic": "bad"}), (CAR, {"horizon": 60}),
                                           (POLE, {"heuristic": "bad_reference", "horizon": 40})])
def test_vector_twin_reproduces_sync_vector_env(env_id, kwargs):
    """Same seed and actions: the native twin and SyncVectorEnv over the single env give identical observations,
    rewards, ends, aux rewards, potentials and metrics, through autoresets (env i is seeded seed + i), and after
    a reset with a list of seeds or a reset mask."""
    twin = gym.make_vec(env_id, num_envs=4, vectorization_mode="vector_entry_point", **kwargs)
    sync = gym.make_vec(env_id, num_envs=4, vectorization_mode="sync", **kwargs)
    rng = np.random.default_rng(0)

    def same(a, b):
        for x, y in zip(a[:4], b[:4]):
            np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-7)
        for key in ("aux_reward", "potential", "metrics"):
            assert (key in a[4]) == (key in b[4])
        for key in ("aux_reward", "potential"):
            if key in a[4]:
                np.testing.assert_allclose(a[4][key], b[4][key], rtol=1e-6, atol=1e-9)
        if "metrics" in a[4]:
            for name, value in a[4]["metrics"].items():
                np.testing.assert_allclose(value, b[4]["metrics"][name], rtol=1e-6)

    resets = [{"seed": 7}, {"seed": [3, None, 5, 11]}, {"options": {"reset_mask": np.array([1, 0, 0, 1], bool)}}]
    for reset in resets:
        (tw_obs, tw_info), (sy_obs, sy_info) = twin.reset(**reset), sync.reset(**reset)
        np.testing.assert_allclose(tw_obs, sy_obs, rtol=1e-6)
        np.testing.assert_allclose(tw_info["potential"], sy_info["potential"], rtol=1e-6)
        ends = 0
        for _ in range(70):
            actions = rng.integers(0, twin.single_action_space.n, 4)
            a, b = twin.step(actions), sync.step(actions)
            same(a, b)
            ends += int((a[2] | a[3]).sum())
        assert ends > 0


@pytest.mark.parametrize("env_id", [GRID, CAR, POLE])
def test_vector_twin_metrics_have_the_sync_vector_env_structure(env_id):
    stats = {}
    for mode in ("sync", "vector_entry_point"):
        envs = gym.make_vec(env_id, num_envs=3, vectorization_mode=mode, horizon=5)
        envs.reset(seed=0)
        for _ in range(5):
            *_, info = envs.step(envs.action_space.sample())
        stats[mode] = (sorted(info), sorted(info["metrics"]), info["_metrics"].tolist())
    assert stats["sync"] == stats["vector_entry_point"]


@pytest.mark.parametrize("env_id,allowed", [(GRID, "'good', 'bad', 'none'"),
                                            (CAR, "'good', 'velocity', 'bad', 'mirror', 'none'"),
                                            (POLE, "'good', 'weak', 'bad', 'bad_reference', 'none'"), (CHEETAH, "'good', 'bad', 'none'")])
def test_unknown_heuristic_names_the_allowed_ones(env_id, allowed):
    with pytest.raises(ArgumentError, match=f"heuristic must be one of {allowed}, got 'clever'"):
        gym.make(env_id, heuristic="clever")
    if env_id != CHEETAH:
        with pytest.raises(ArgumentError, match="heuristic must be one of"):
            gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", heuristic="clever")


@pytest.mark.parametrize("env_id", [GRID, CAR, POLE])
@pytest.mark.parametrize("kwargs,message", [
    ({"aux_scale": -1.0}, "aux_scale must be a finite number >= 0, got -1.0"),
    ({"aux_scale": "abc"}, "aux_scale must be a finite number >= 0, got 'abc'"),
    ({"aux_scale": float("inf")}, "aux_scale must be a finite number >= 0, got inf"),
    ({"horizon": 0}, "horizon must be an integer >= 1, got 0"),
    ({"horizon": "abc"}, "horizon must be an integer >= 1, got 'abc'"),
    ({"horizon": True}, "horizon must be an integer >= 1, got True"),
    ({"render_mode": "bogus"}, "render_mode must be None or one of"),
])
def test_bad_arguments_are_refused_naming_the_argument(env_id, kwargs, message):
    with pytest.raises(ValueError, match=message):
        gym.make(env_id, **kwargs)
    with pytest.raises(ValueError, match=message):
        gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point", **kwargs)


def test_bad_arguments_of_gridworld_and_halfcheetah_are_refused():
    with pytest.raises(ArgumentError, match=r"random_action_prob must be a finite number in \[0, 1\], got 1.5"):
        gym.make(GRID, random_action_prob=1.5)
    with pytest.raises(ArgumentError, match="random_action_prob must be a finite number in"):
        gym.make(GRID, random_action_prob=float("nan"))
    with pytest.raises(ArgumentError, match="num_envs must be an integer >= 1, got 0"):
        gym.make_vec(GRID, num_envs=0, vectorization_mode="vector_entry_point")
    with pytest.raises(ArgumentError, match="aux_weight must be a finite number >= 0, got -0.5"):
        gym.make(CHEETAH, aux_weight=-0.5)
    with pytest.raises(ArgumentError, match="horizon must be an integer >= 1, got 2.5"):
        gym.make(CHEETAH, horizon=2.5)
    with pytest.raises(ValueError, match="render_mode must be None or one of"):
        gym.make(CHEETAH, render_mode="ansi")


@pytest.mark.parametrize("env_id,bad_action", [(GRID, 4), (GRID, -1), (GRID, 1.5), (CAR, 3), (POLE, 2)])
def test_out_of_range_actions_are_refused(env_id, bad_action):
    env = gym.make(env_id)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="Action must be an integer in"):
        env.step(bad_action)
    vec = gym.make_vec(env_id, num_envs=2, vectorization_mode="vector_entry_point")
    vec.reset(seed=0)
    with pytest.raises(ValueError, match="Actions must be 2 integers in"):
        vec.step(np.array([0, bad_action]))


def test_halfcheetah_refuses_out_of_range_actions():
    env = gym.make(CHEETAH)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"Action must be 6 numbers in \[-1, 1\]"):
        env.step(np.full(6, 1.5))
