"""The registered progress envs: both faces, the vector twin, scoring, Coevolve's influence, and bad input."""
import json
import math

import gymnasium as gym
import numpy as np
import pytest

import aligngym  # noqa: F401
from aligngym.envs.progress.text import NO_ANSWER
from aligngym.envs.progress.values import DIMENSIONS

NUMERIC = ["AlignGym/ProgressFollow-v1", "AlignGym/ProgressPredict-v1", "AlignGym/ProgressCoevolve-v1"]
TEXT = [i.replace("-v1", "Text-v1") for i in NUMERIC]


def run(env, policy, seed=0):
    obs, _ = env.reset(seed=seed)
    steps, infos = 0, []
    while True:
        obs, reward, terminated, truncated, info = env.step(policy(obs, env))
        steps += 1
        infos.append(info)
        if terminated or truncated:
            return steps, infos


def truth(obs, env):  # states the exact target values (privileged view)
    return obs[-19:]


@pytest.mark.parametrize("env_id,steps", zip(NUMERIC, (8, 7, 8)))
def test_episode_lengths_and_plain_float_metrics(env_id, steps):
    env = gym.make(env_id)
    n, infos = run(env, lambda o, e: e.action_space.sample())
    assert n == steps
    metrics = infos[-1]["metrics"]
    assert all(type(v) is float and math.isfinite(v) for v in metrics.values())
    assert len(infos[-1]["similarities"]) == steps
    assert metrics["score"] == pytest.approx(np.mean(infos[-1]["similarities"]))
    json.dumps(infos[-1]["trace"])  # plain lists, plottable


@pytest.mark.parametrize("env_id", NUMERIC[:2])
def test_stating_the_target_values_scores_one(env_id):
    env = gym.make(env_id, privileged=True, k=2) if "Predict" in env_id else gym.make(env_id, privileged=True)
    _, infos = run(env, truth)
    assert infos[-1]["metrics"]["score"] == pytest.approx(1.0)


def test_finer_resolution_and_longer_horizon_lengthen_episodes():
    assert run(gym.make(NUMERIC[0], steps_per_century=4), lambda o, e: e.action_space.sample())[0] == 32
    assert run(gym.make(NUMERIC[1], centuries=12, k=3), lambda o, e: e.action_space.sample())[0] == 8


def test_user_trajectory_file_drives_the_env(tmp_path):
    values = np.zeros((5, 19))
    values[:, 0] = np.linspace(-0.5, 0.5, 5)
    (tmp_path / "traj.json").write_text(json.dumps(values.tolist()))
    env = gym.make(NUMERIC[0], trajectory=str(tmp_path / "traj.json"), noise=0.0, privileged=True)
    n, infos = run(env, truth)
    assert n == 4
    assert np.allclose(np.array(infos[-1]["trace"]["human"]), values)


@pytest.mark.parametrize("env_id", NUMERIC)
def test_bad_actions_are_refused_with_what_is_allowed(env_id):
    env = gym.make(env_id)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(19,\).*got shape \(18,\)"):
        env.step(np.zeros(18))
    with pytest.raises(ValueError, match=r"finite numbers in \[-1, 1\]"):
        env.step(np.full(19, np.nan))
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        env.step(np.full(19, 2.0))


@pytest.mark.parametrize("kwargs,match", [
    ({"k": 0}, r"k must be an integer >= 1"), ({"k": 8}, r"1 <= k <= 7"), ({"k": 1.5}, "integer"),
    ({"trajectory": "utopia"}, "historical-like"), ({"temperature": 0}, "temperature"),
    ({"respondents": -1}, "respondents"), ({"history": 0}, "history"),
])
def test_bad_predict_kwargs_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gym.make(NUMERIC[1], **kwargs)


BAD_ARGS = [({"noise": "abc"}, "noise must be a finite number >= 0"),
            ({"history": True}, "history must be an integer"),
            ({"noise": float("inf")}, "noise must be a finite number"), ({"respondents": -5}, "respondents must be"),
            ({"centuries": "9"}, "centuries must be an integer >= 2"),
            ({"trajectory": 3}, "trajectory must be a string")]
CLASSES = {"numeric": ("ProgressFollowEnv", "ProgressPredictEnv", "ProgressCoevolveEnv"),
           "vector": ("ProgressFollowVectorEnv", "ProgressPredictVectorEnv", "ProgressCoevolveVectorEnv"),
           "text": ("ProgressFollowTextEnv", "ProgressPredictTextEnv", "ProgressCoevolveTextEnv")}


@pytest.mark.parametrize("cls", [c for names in CLASSES.values() for c in names])
def test_every_env_class_checks_its_arguments(cls):
    from aligngym.envs.checks import ArgumentError
    from aligngym.envs.progress import coevolve, follow, predict

    env_class = next(getattr(m, cls) for m in (follow, predict, coevolve) if hasattr(m, cls))
    for kwargs, match in BAD_ARGS:
        with pytest.raises(ArgumentError, match=f"{cls}: {match}"):
            env_class(**kwargs)
    extra = ({"influence": -0.1}, "influence must be a finite number in \\[0, 1\\]") if "Coevolve" in cls else (
        {"k": -1}, "k must be an integer >= 1") if "Predict" in cls else ({"history": 0}, "history must be")
    with pytest.raises(ArgumentError, match=extra[1]):
        env_class(**extra[0])
    if cls in CLASSES["vector"]:
        with pytest.raises(ArgumentError, match="num_envs must be an integer >= 1"):
            env_class(num_envs=0)
    if cls in CLASSES["text"]:
        with pytest.raises(ArgumentError, match="orders must be one of 'all', 'cyclic'"):
            env_class(orders="random")
    else:
        with pytest.raises(ArgumentError, match="privileged must be True or False"):
            env_class(privileged="yes")


def test_coevolve_without_influence_is_the_uninfluenced_trajectory():
    env = gym.make(NUMERIC[2], influence=0.0)
    _, infos = run(env, lambda o, e: e.action_space.sample())
    assert infos[-1]["metrics"]["score"] == pytest.approx(1.0)
    assert infos[-1]["metrics"]["lock_in"] == pytest.approx(0.0)


def test_coevolve_stating_old_values_locks_in_more_with_stronger_influence():
    c13 = {}

    def static(obs, env):  # states the first survey of the episode for ever
        if obs[-1] == 0:
            c13["v"] = obs[:19].copy()
        return c13["v"]

    lock = [run(gym.make(NUMERIC[2], influence=a), static)[1][-1]["metrics"]["lock_in"] for a in (0.1, 0.5)]
    echo = run(gym.make(NUMERIC[2], influence=0.5), lambda o, e: o[:19])[1][-1]["metrics"]
    assert lock[1] > lock[0] > echo["lock_in"]
    assert echo["score"] > 0.99


def test_vector_twin_matches_sync_statistics_and_autoresets():
    n = 64
    native = gym.make_vec(NUMERIC[1], num_envs=n, vectorization_mode="vector_entry_point")
    sync = gym.make_vec(NUMERIC[1], num_envs=n, vectorization_mode="sync")
    scores = {}
    for name, envs in (("native", native), ("sync", sync)):
        obs, _ = envs.reset(seed=1)
        for _ in range(7):
            obs, reward, terminated, truncated, infos = envs.step(obs[:, :19])  # lifelong policy
        assert truncated.all() and infos["_metrics"].all() and infos["metrics"]["_score"].all()
        scores[name] = infos["metrics"]["score"].mean()
    assert scores["native"] == pytest.approx(scores["sync"], abs=0.01)
    obs, reward, terminated, truncated, _ = native.step(np.zeros((n, 19), np.float32))  # NEXT_STEP autoreset
    assert not truncated.any() and np.all(reward == 0)
    with pytest.raises(ValueError, match=r"shape \(64, 19\)"):
        native.step(np.zeros((n, 18)))


# --- questionnaire face ---------------------------------------------------------------------------------------


def test_text_observation_is_a_printable_question_with_in_context_answers():
    env = gym.make(TEXT[1], k=2)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert "Shares by year: " in obs and obs.rstrip().endswith("Answer:") and "1) " in obs
    assert "will, 2 step(s)" in obs


def _answer_upholding(obs, env):
    item, order = env.unwrapped.questions[env.unwrapped._q]
    if len(item.options) == 2:
        return order.index(item.option_signs.index(1.0))  # the upholding content, wherever it is shown
    return order.index(0)  # the traditional worldview


def test_text_face_measures_content_not_position():
    env = gym.make(TEXT[0], orders="cyclic")
    first = run(env, lambda o, e: 0)[1]
    measured = [i["measured_values"] for i in first if "measured_values" in i]
    assert len(measured) == 8 and np.allclose(measured, 0.0)
    assert first[-1]["metrics"]["parse_failure"] == 0.0
    content = [i["measured_values"] for i in run(env, _answer_upholding)[1] if "measured_values" in i]
    assert np.allclose(np.array(content)[:, :15], 1.0)
    assert np.array(content)[0, DIMENSIONS.index("traditional")] == 1.0


def test_text_face_counts_parse_failures_as_uniform_answers():
    env = gym.make(TEXT[2], orders="cyclic")
    n, infos = run(env, lambda o, e: NO_ANSWER)
    assert all(i["parse_failed"] for i in infos)
    assert infos[-1]["metrics"]["parse_failure"] == 1.0
    measured = [i["measured_values"] for i in infos if "measured_values" in i]
    assert np.allclose(measured, 0.0)
    env.reset(seed=0)
    _, _, _, _, info = env.step(3)  # the first question has two options: "4" names none of them
    assert info["parse_failed"]


@pytest.mark.parametrize("bad", [5, -1, 1.5, "two"])
def test_text_face_refuses_actions_outside_the_space(bad):
    env = gym.make(TEXT[0])
    env.reset(seed=0)
    with pytest.raises(ValueError, match="option index 0..3 or NO_ANSWER=4"):
        env.step(bad)


def test_render_ansi_describes_the_state():
    env = gym.make(NUMERIC[0], render_mode="ansi")
    env.reset(seed=0)
    env.step(np.zeros(19, np.float32))
    assert "last similarity" in env.render()
    with pytest.raises(ValueError, match="render_mode"):
        gym.make(NUMERIC[0], render_mode="human")
