"""Bring your own heuristic: ShapingWrapper on stock Gymnasium envs, train() on ids, env objects and factories,
Discrete and image observations, the documented snippet, and bad heuristics refused clearly."""
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from aligngym.agents.shaping.args import make_args
from aligngym.agents.shaping.train import train
from aligngym.envs.shaping import ShapingWrapper


def test_the_documented_snippet_runs_barfi_end_to_end_on_a_stock_env():
    """The Python block under "Bring your own heuristic" in docs/shaping.md, run as written."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "shaping.md").read_text()
    snippet = doc.split("## Bring your own heuristic", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    assert len(snippet.strip().splitlines()) <= 6
    namespace = {}
    exec(snippet, namespace)
    result = namespace["result"]
    # 32 episodes are far too few to learn Acrobot (primary-only, naive and BARFI all stay at -100 for hundreds
    # more); what the snippet must show is the wiring: the wrapper pays the heuristic and reports its metrics,
    # and BARFI's outer steps move phi off the naive sum (phi1 = 1, phi2 = 0) it starts from
    assert len(result.primary_return) == 2 and all(-100 <= r <= 0 for r in result.primary_return)
    assert all(np.isfinite(result.aux_return)) and all(r != 0 for r in result.aux_return)
    last = result.reward_params[-1]
    assert set(last) == {"phi1", "phi2", "phi1_where_aux", "gamma"} and all(np.isfinite(list(last.values())))
    assert abs(last["phi1"] - 1.0) > 1e-4 and abs(last["phi2"]) > 1e-4 and 0 < last["gamma"] < 1
    env = namespace["env"]()
    env.reset(seed=0)
    info, ended = {}, False
    while not ended:
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        ended = terminated or truncated
    assert set(info["metrics"]) == {"primary_return", "aux_return", "length"}


def test_wrapper_reports_aux_potential_and_end_metrics():
    env = ShapingWrapper(gym.make("MountainCar-v0", max_episode_steps=5), heuristic=lambda s, a, s2: a - 1.0,
                         potential=lambda s: 10 * abs(s[1]))
    obs, info = env.reset(seed=0)
    assert info["potential"] == pytest.approx(10 * abs(obs[1]))
    total = 0.0
    for action in (2, 2, 0, 1, 2):
        obs, reward, terminated, truncated, info = env.step(action)
        total += action - 1.0
        assert info["aux_reward"] == action - 1.0 and info["potential"] == pytest.approx(10 * abs(obs[1]))
    assert truncated and info["metrics"] == pytest.approx({"primary_return": -5.0, "aux_return": total,
                                                           "length": 5.0})


def test_a_potential_alone_gives_the_potential_difference_as_aux():
    env = ShapingWrapper(gym.make("MountainCar-v0"), potential=lambda s: 100 * s[1])
    obs, _ = env.reset(seed=0)
    next_obs, _, _, _, info = env.step(2)
    assert info["aux_reward"] == pytest.approx(0.99 * 100 * next_obs[1] - 100 * obs[1], rel=1e-5)


@pytest.mark.parametrize("env", [
    "AlignGym/ShapingGridWorld-v1",
    gym.make("AlignGym/ShapingGridWorld-v1", heuristic="good"),
    lambda: gym.make("AlignGym/ShapingGridWorld-v1", heuristic="good"),
])
def test_train_takes_ids_env_objects_and_factories(env):
    result = train(env, mode="pbrs", episodes=4, args=make_args(num_envs=2))
    assert len(result.primary_return) == 2


def test_discrete_observations_learn():
    """FrozenLake without holes (Discrete(16) observations, one-hot encoded), shaped by distance to the goal."""
    make = lambda: ShapingWrapper(  # noqa: E731
        gym.make("FrozenLake-v1", desc=["SFFF", "FFFF", "FFFF", "FFFG"], is_slippery=False, max_episode_steps=30),
        potential=lambda s: -float(6 - s // 4 - s % 4))
    result = train(make, mode="barfi", episodes=16 * 25, args=make_args(num_envs=16))
    assert result.learner.policy.encoder.kind == "discrete"
    assert np.mean(result.primary_return[-5:]) > np.mean(result.primary_return[:5]) + 0.2, result.primary_return


class TinyImageGrid(gym.Env):
    """A 1-d corridor shown as an 8x8 RGB image; reaching the right end pays 1."""

    observation_space = gym.spaces.Box(0, 255, (8, 8, 3), np.uint8)
    action_space = gym.spaces.Discrete(2)

    def _obs(self):
        img = np.zeros((8, 8, 3), np.uint8)
        img[:, self.x] = 255
        return img

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x, self.t = 0, 0
        return self._obs(), {}

    def step(self, action):
        self.x, self.t = int(np.clip(self.x + (1 if action == 1 else -1), 0, 7)), self.t + 1
        done = self.x == 7
        return self._obs(), float(done), done, self.t >= 20 and not done, {}


def test_image_observations_go_through_a_cnn_and_learn():
    """The heuristic pays for moving right: with it, the share of episodes reaching the end (the primary return)
    rises from ~0.2 to ~0.85 in 15 batches of 16 (seeds 0-2). The wrapper reports no success: it is NaN (unknown),
    not 0."""
    make = lambda: ShapingWrapper(TinyImageGrid(), heuristic=lambda s, a, s2: float(a))  # noqa: E731
    result = train(make, mode="naive", episodes=16 * 15, args=make_args(num_envs=16))
    assert result.learner.policy.encoder.kind == "image"
    assert np.mean(result.primary_return[-3:]) > np.mean(result.primary_return[:3]) + 0.3, result.primary_return
    assert np.isnan(result.success).all()


def test_a_time_limit_around_the_wrapper_ends_episodes_without_its_metrics():
    """TimeLimit outside ShapingWrapper truncates before the wrapper sees the end: the returns are summed by the
    training loop instead (Acrobot pays -1 a step, so every 20-step episode returns -20)."""
    from gymnasium.envs.classic_control import AcrobotEnv
    from gymnasium.wrappers import TimeLimit

    make = lambda: TimeLimit(ShapingWrapper(AcrobotEnv(), heuristic=lambda s, a, s2: 0.5), 20)  # noqa: E731
    result = train(make, mode="barfi", episodes=4, args=make_args(num_envs=2))
    assert result.primary_return == [-20.0, -20.0] and result.aux_return == [10.0, 10.0]
    assert np.isnan(result.success).all()


@pytest.mark.parametrize("wrapper_kwargs,message", [
    ({"heuristic": lambda s, a, s2: float("nan")}, "heuristic must return one finite number, got nan"),
    ({"heuristic": lambda s, a, s2: np.ones(3)}, "heuristic must return one finite number"),
    ({"heuristic": lambda s, a, s2: "high"}, r"heuristic must return one finite number \(.*\), got 'high'"),
    ({"heuristic": lambda s, a, s2: "1.0"}, r"heuristic must return one finite number \(.*\), got '1.0'"),
    ({"heuristic": lambda s, a, s2: True}, r"not a bool, a string or an array\), got True"),
    ({"heuristic": lambda s, a, s2: np.bool_(False)}, r"not a bool, a string or an array\), got .*False"),
    ({"potential": lambda s: s["position"]}, "potential cannot take this env's observation"),
    ({"heuristic": lambda s, a, s2: s2[10]},
     r"heuristic\(s, a, s'\) failed on this env's observations \(space Box.*\) and action 0: IndexError"),
])
def test_bad_heuristics_are_refused_clearly(wrapper_kwargs, message):
    env = ShapingWrapper(gym.make("CartPole-v1"), **wrapper_kwargs)
    with pytest.raises(ValueError, match=message):
        env.reset(seed=0)
        env.step(0)


def test_missing_heuristic_and_unwrapped_envs_are_refused():
    with pytest.raises(ValueError, match="needs heuristic=fn"):
        ShapingWrapper(gym.make("CartPole-v1"))
    with pytest.raises(ValueError, match=r"reports no info\['aux_reward'\]; give it a heuristic"):
        train(lambda: gym.make("CartPole-v1"), episodes=2, args=make_args(num_envs=2))
    with pytest.raises(ValueError, match="env must be a registered id, a gymnasium.Env or a factory"):
        train(42, episodes=2)
