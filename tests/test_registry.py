"""Registry-wide checks: every id in envs/registry.py, whatever family added it.

Single-agent ids: Gymnasium's check_env, seeded determinism, pickling, spec JSON round trip, make_vec (sync and the
native vector twin where registered), every declared render mode (headless), and episode-end metrics as declared.
Multi-agent ids: PettingZoo's parallel_api_test, parallel_seed_test and render_test, and episode-end metrics.
"""
from __future__ import annotations

import math
import pickle
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pettingzoo
import pytest
from gymnasium.utils import EzPickle
from gymnasium.utils.env_checker import check_env

import aligngym
from aligngym.agents.spec import resolve
from aligngym.benchmarks.suite import QUICK
from aligngym.envs import registry

SINGLE = [r for r in registry.ROWS if not r.multi_agent]
MULTI = [r for r in registry.ROWS if r.multi_agent]
VECTOR = [r for r in SINGLE if r.vector_entry_point]
MAX_STEPS = 5000  # bound on any random rollout here


def ids(rows):
    return [r.id.split("/")[-1] for r in rows]


def test_table_is_consistent():
    assert len(set(registry.ids())) == len(registry.ROWS), "duplicate ids in the registry"
    for r in registry.ROWS:
        assert r.id.startswith(registry.NAMESPACE + "/") and r.id.rsplit("-v", 1)[-1].isdigit(), r.id
        assert r.family in registry.FAMILIES, f"{r.id}: unknown family {r.family}"
        assert r.description and r.metrics, f"{r.id} needs a description and its metrics"
        assert len({m.name for m in r.metrics}) == len(r.metrics), f"{r.id}: duplicate metric names"
        assert r.primary_metric in r.metric_names, f"{r.id}: primary metric is not one of its metrics"


def test_quick_suite_covers_every_id_with_real_baselines():
    assert set(QUICK) == set(registry.ids()), "every registered id (and only those) has a quick-suite entry"
    for env_id, quick in QUICK.items():
        assert quick.baselines and quick.episodes >= 1, env_id
        for spec in quick.baselines:
            resolve(spec)  # raises on a baseline that does not exist


def test_registered_everywhere():
    for r in SINGLE:
        assert r.id in gym.registry
    for r in MULTI:
        assert r.id in pettingzoo.parallel_registry
    gym.register_envs(aligngym)  # the linter-friendly form works


def test_unknown_id_is_refused_with_close_matches():
    with pytest.raises(KeyError, match="Unknown environment id"):
        registry.row("AlignGym/NoSuchEnv-v0")
    if registry.ROWS:
        with pytest.raises(KeyError, match=registry.ROWS[0].id):
            registry.row(registry.ROWS[0].id.rsplit("-v", 1)[0] + "-v99")


@pytest.mark.parametrize("row", registry.ROWS, ids=ids(registry.ROWS))
def test_unknown_kwargs_are_refused_naming_the_allowed_ones(row):
    """By the harness's check, and by the env class itself under gym.make, make_vec and pettingzoo's make."""
    allowed = "allowed kwargs: .*" + next(iter(registry.allowed_kwargs(row)), "")
    with pytest.raises(ValueError, match=allowed):
        registry.check_kwargs(row.id, {"no_such_kwarg": 1})
    if row.multi_agent:
        with pytest.raises(TypeError, match="no_such_kwarg.*" + allowed):
            pettingzoo.make("parallel", row.id, no_such_kwarg=1)
        return
    with pytest.raises(TypeError, match="no_such_kwarg.*" + allowed):
        gym.make(row.id, no_such_kwarg=1)
    if row.vector_entry_point:
        with pytest.raises(TypeError, match="no_such_kwarg.*" + allowed):
            gym.make_vec(row.id, num_envs=2, vectorization_mode="vector_entry_point", no_such_kwarg=1)


@pytest.mark.skipif(not SINGLE, reason="no single-agent ids registered yet")
def test_make_without_import_in_a_fresh_process():
    code = f"import gymnasium as gym; env = gym.make('aligngym:{SINGLE[0].id}'); env.reset(seed=0); print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.strip().endswith("ok"), out.stderr[-2000:]


def rollout(env, seed: int, steps: int = 40, action_seed: int | None = None):
    """Observations, rewards and done flags of a seeded random rollout (actions seeded too)."""
    obs, info = env.reset(seed=seed)
    env.action_space.seed(seed if action_seed is None else action_seed)
    trace = [obs]
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        trace += [obs, float(reward), terminated, truncated, info.get("metrics")]
        if terminated or truncated:
            obs, info = env.reset()
            trace.append(obs)
    return trace


def same(a, b) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


# check_env warnings that are expected, with why (as Minigrid's tests/test_envs.py keeps its list). Any other
# warning fails the test.
CHECK_ENV_ALLOWED_WARNINGS = (
    # MuJoCo locomotion (HalfCheetah): joint velocities are unbounded, as in Gymnasium's own HalfCheetah-v5.
    "observation space minimum value is -infinity",
    "observation space maximum value is infinity",
)


@pytest.mark.parametrize("row", SINGLE, ids=ids(SINGLE))
def test_check_env(row):
    env = gym.make(row.id)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    env.close()
    unexpected = [str(w.message) for w in caught
                  if not any(allowed in str(w.message) for allowed in CHECK_ENV_ALLOWED_WARNINGS)]
    assert not unexpected, f"{row.id}: check_env warned: {unexpected}"


@pytest.mark.parametrize("row", SINGLE, ids=ids(SINGLE))
def test_seeded_determinism(row):
    a, b = gym.make(row.id), gym.make(row.id)
    assert same(rollout(a, 123), rollout(b, 123))
    # the seed must matter: the same actions under another seed give another trajectory
    assert not same(rollout(a, 1, action_seed=0), rollout(b, 2, action_seed=0))


@pytest.mark.parametrize("row", SINGLE, ids=ids(SINGLE))
def test_pickle_round_trip(row):
    """A pickled env (as AsyncVectorEnv and Ray ship them) comes back as the same env. Mid-episode state survives
    the pickle, except for envs that pickle by constructor arguments (EzPickle: Gymnasium's MuJoCo envs), which
    come back fresh and must then give the same seeded rollout."""
    env = gym.make(row.id)
    env.reset(seed=7)
    env.action_space.seed(0)
    if any(env.step(env.action_space.sample())[2:4]):  # one-step episodes: pickle at the next episode's start
        env.reset()
    clone = pickle.loads(pickle.dumps(env))
    if not isinstance(env.unwrapped, EzPickle):
        for _ in range(5):
            action = env.action_space.sample()
            step, clone_step = env.step(action), clone.step(action)
            assert same(step[:4], clone_step[:4])
            if step[2] or step[3]:
                break
    assert same(rollout(env, 5, steps=20), rollout(clone, 5, steps=20))


@pytest.mark.parametrize("row", SINGLE, ids=ids(SINGLE))
def test_spec_json_round_trip(row):
    spec = gym.spec(row.id)
    again = gym.envs.registration.EnvSpec.from_json(spec.to_json())
    assert again == spec
    gym.make(again).close()


@pytest.mark.parametrize("row", SINGLE, ids=ids(SINGLE))
def test_episode_end_metrics(row):
    """A random episode ends within the bound and reports exactly the declared metrics, as finite floats; a
    step after the end is refused until the next reset."""
    env = gym.make(row.id)
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(MAX_STEPS):
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        if terminated or truncated:
            break
        assert "metrics" not in info, f"{row.id}: metrics before the episode ended"
    else:
        pytest.fail(f"{row.id}: no episode end within {MAX_STEPS} random steps")
    assert set(info.get("metrics", {})) == set(row.metric_names)
    assert all(isinstance(v, float) and math.isfinite(v) for v in info["metrics"].values()), info["metrics"]
    with pytest.raises(RuntimeError, match="reset"):
        env.unwrapped.step(env.action_space.sample())
    env.reset(seed=1)
    env.step(env.action_space.sample())


@pytest.mark.parametrize("row", SINGLE, ids=ids(SINGLE))
def test_render_modes(row):
    for mode in gym.make(row.id).metadata.get("render_modes", []):
        if mode == "human":
            continue  # needs a display; check_env covers its construction
        env = gym.make(row.id, render_mode=mode)
        env.reset(seed=0)
        frame = env.render()
        if mode == "rgb_array":
            assert isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[2] == 3 and frame.dtype == np.uint8
        elif mode == "ansi":
            assert isinstance(frame, str) and frame
        env.close()


@pytest.mark.parametrize("row", SINGLE, ids=ids(SINGLE))
def test_make_vec_sync(row):
    envs = gym.make_vec(row.id, num_envs=2, vectorization_mode="sync")
    obs, _ = envs.reset(seed=0)
    assert envs.observation_space.contains(obs)
    envs.action_space.seed(0)
    for _ in range(5):
        obs, *_ = envs.step(envs.action_space.sample())
    envs.close()


@pytest.mark.parametrize("row", VECTOR, ids=ids(VECTOR))
def test_native_vector_twin(row):
    """The twin's spaces match SyncVectorEnv's; it is seeded; episode-end metrics have SyncVectorEnv's structure."""
    n = 4
    native = gym.make_vec(row.id, num_envs=n, vectorization_mode="vector_entry_point")
    sync = gym.make_vec(row.id, num_envs=n, vectorization_mode="sync")
    assert native.single_observation_space == sync.single_observation_space
    assert native.single_action_space == sync.single_action_space
    first, _ = native.reset(seed=3)
    again, _ = native.reset(seed=3)
    assert same(first, again)
    assert native.observation_space.contains(first)
    native.action_space.seed(0)
    for _ in range(MAX_STEPS):
        obs, reward, terminated, truncated, infos = native.step(native.action_space.sample())
        assert native.observation_space.contains(obs) and np.shape(reward) == (n,)
        ended = np.asarray(terminated) | np.asarray(truncated)
        if ended.any():
            assert np.array_equal(infos["_metrics"], ended)
            assert {k for k in infos["metrics"] if not k.startswith("_")} == set(row.metric_names)
            break
    else:
        pytest.fail(f"{row.id}: no episode ended in the vector twin within {MAX_STEPS} steps")
    native.close()
    sync.close()


@pytest.mark.parametrize("row", MULTI, ids=ids(MULTI))
def test_pettingzoo_battery(row):
    from pettingzoo.test import parallel_api_test, parallel_seed_test, render_test

    parallel_api_test(pettingzoo.make("parallel", row.id), num_cycles=200)
    parallel_seed_test(lambda: pettingzoo.make("parallel", row.id), num_cycles=50)
    modes = pettingzoo.make("parallel", row.id).metadata.get("render_modes", [])
    if modes:
        from pettingzoo.utils.conversions import parallel_to_aec
        render_test(lambda render_mode=None: parallel_to_aec(pettingzoo.make("parallel", row.id, render_mode=render_mode)),
                    custom_tests={})


@pytest.mark.parametrize("row", MULTI, ids=ids(MULTI))
def test_pettingzoo_episode_end_metrics(row):
    env = pettingzoo.make("parallel", row.id)
    obs, _ = env.reset(seed=0)
    metrics = {}
    for step in range(MAX_STEPS):
        if not env.agents:
            break
        actions = {a: env.action_space(a).sample() for a in env.agents}
        obs, _, _, _, infos = env.step(actions)
        for info in infos.values():
            metrics.update(info.get("metrics", {}))
    assert not env.agents, f"{row.id}: episode did not end within {MAX_STEPS} steps"
    assert set(metrics) == set(row.metric_names)
    assert all(isinstance(v, float) and math.isfinite(v) for v in metrics.values())


@pytest.mark.parametrize("row", SINGLE, ids=ids(SINGLE))
def test_step_before_reset_is_refused(row):
    env = gym.make(row.id).unwrapped
    env.action_space.seed(0)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(env.action_space.sample())
    if row.vector_entry_point:
        twin = gym.make_vec(row.id, num_envs=2, vectorization_mode="vector_entry_point")
        twin.action_space.seed(0)
        with pytest.raises(RuntimeError, match="reset"):
            twin.step(twin.action_space.sample())


def sb3_compatible(row) -> bool:
    """SB3 trains on Box and Discrete (and Dict of Box) spaces; Text faces are for LLM agents."""
    env = gym.make(row.id)
    spaces = [env.observation_space, env.action_space]
    env.close()
    return not any(isinstance(s, gym.spaces.Text) for s in spaces)


NUMERIC = [r for r in SINGLE if sb3_compatible(r)]


@pytest.mark.parametrize("row", NUMERIC, ids=ids(NUMERIC))
def test_sb3_make_vec_env_and_subprocess(row):
    """SB3's make_vec_env asks for render_mode="rgb_array" and retries without it only on TypeError; both its
    DummyVecEnv and SubprocVecEnv must work on every numeric id. A subprocess has not imported aligngym, so there
    the id carries its module (`aligngym:AlignGym/…`), as Gymnasium 1.x documents for third-party envs."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import SubprocVecEnv

    for env_id, cls in ((row.id, None), (f"aligngym:{row.id}", SubprocVecEnv)):
        venv = make_vec_env(env_id, n_envs=2, seed=0, **({"vec_env_cls": cls} if cls else {}))
        venv.reset()
        for _ in range(3):
            venv.step(np.stack([venv.action_space.sample() for _ in range(2)]))
        venv.close()


@pytest.mark.parametrize("row", NUMERIC, ids=ids(NUMERIC))
def test_sb3_algorithms_learn_a_few_steps(row):
    """Every SB3 algorithm whose spaces fit the env runs a few hundred learning steps on it."""
    from stable_baselines3 import A2C, DQN, PPO, SAC

    env = gym.make(row.id)
    discrete = isinstance(env.action_space, gym.spaces.Discrete)
    box = isinstance(env.action_space, gym.spaces.Box)
    policy = "MultiInputPolicy" if isinstance(env.observation_space, gym.spaces.Dict) else "MlpPolicy"
    algos = [(PPO, {"n_steps": 64, "batch_size": 32}), (A2C, {"n_steps": 8})]
    algos += [(DQN, {"learning_starts": 50, "buffer_size": 500})] if discrete else []
    algos += [(SAC, {"learning_starts": 50, "buffer_size": 500, "batch_size": 32})] if box else []
    for algo, kwargs in algos:
        model = algo(policy, env, seed=0, device="cpu", **kwargs)
        model.learn(200)
        action, _ = model.predict(env.observation_space.sample(), deterministic=True)
        assert env.action_space.contains(action if not discrete else int(action)), (algo.__name__, action)
    env.close()


@pytest.mark.parametrize("row", MULTI, ids=ids(MULTI))
def test_pettingzoo_step_dict_must_name_every_live_agent_and_no_other(row):
    env = pettingzoo.make("parallel", row.id)
    env.reset(seed=0)
    actions = {a: env.action_space(a).sample() for a in env.agents}
    missing = dict(list(actions.items())[1:])
    with pytest.raises(ValueError, match=env.agents[0]):
        env.step(missing)
    with pytest.raises(ValueError, match="nobody"):
        env.step({**actions, "nobody": 0})
    env.step(actions)  # the refused steps changed nothing


def test_gym_make_on_a_multi_agent_id_points_to_pettingzoo():
    for r in MULTI:
        with pytest.raises(TypeError, match="pettingzoo.make"):
            gym.make(r.id)
