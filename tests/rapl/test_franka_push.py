"""The rapl MuJoCo push envs: robots from gymnasium-robotics, the hidden preference, bad input and faults."""
from __future__ import annotations

import copy
import os
import pathlib
import pickle
import subprocess
import sys

import aligngym  # noqa: F401,I001  (first: it picks MuJoCo's headless GL before mujoco is imported; registers ids)
import gymnasium as gym
import mujoco
import numpy as np
import pytest

from aligngym.envs.rapl import franka_push, mj_scene
from aligngym.envs.rapl.franka_push import FrankaPushEnv

LINE = mj_scene.LINE_X


def placed(env, cubes, clutter=None):
    options = {"cube_positions": cubes}
    if clutter is not None:
        options["clutter_positions"] = clutter
    return env.reset(seed=0, options=options)


def test_robots_come_from_the_installed_package_not_copies():
    assets = mj_scene.robotics_assets()
    assert (assets / "kitchen_franka" / "franka_assets" / "chain.xml").exists()
    here = pathlib.Path(franka_push.__file__).parent
    assert not list(here.glob("**/*.xml")) and not list(here.glob("**/*.stl"))
    franka = mj_scene.load_scene("franka", 0).model
    assert franka.joint("robot:panda0_joint7").id >= 0 and franka.nu == 9
    fetch = mj_scene.load_scene("fetch", 4).model
    assert fetch.nmocap == 1 and fetch.body("clutter3").id >= 0


@pytest.mark.parametrize("robot", mj_scene.ROBOTS)
def test_end_effector_follows_the_action(robot):
    env = FrankaPushEnv(robot=robot)
    obs, _ = env.reset(seed=0)
    for _ in range(6):
        obs, *_ = env.step(np.array([0.0, 1.0, 0.0], np.float32))
    assert 0.1 < obs[1] < 0.2, obs[:3]  # 6 steps of 3 cm along +y, less the controller's lag


def test_preference_cost_sees_grouping_the_task_reward_does_not():
    env = FrankaPushEnv(preference="group")
    for gap, cubes in {0.06: [[0.45, 0.0], [0.45, 0.06]], 0.30: [[0.45, -0.15], [0.45, 0.15]]}.items():
        placed(env, cubes)
        _, reward, _, _, info = env.step(np.zeros(3, np.float32))
        assert reward == info["task_reward"]  # the reward is the task reward, never the preference
        # nothing lifted or touched: the hidden part of the cost is the grouping term 3 |p1 - p2| alone
        assert info["preference_cost"] + reward == pytest.approx(3 * gap, abs=0.01)


def test_clutter_on_the_line_costs_three_and_fails_the_preference():
    env = FrankaPushEnv(preference="clutter", horizon=1)
    base = [[0.62, 0.2], [0.6, -0.25], [0.7, 0.3], [0.7, -0.3]]
    ends = {}
    for name, first in {"off": [0.6, 0.2], "on": [LINE + 0.02, 0.3]}.items():
        placed(env, [[LINE + 0.03, 0.0], [LINE + 0.03, 0.055]], [first] + base[1:])
        _, _, _, truncated, info = env.step(np.zeros(3, np.float32))
        assert truncated
        ends[name] = info
    assert ends["on"]["preference_cost"] - ends["off"]["preference_cost"] == pytest.approx(3.0, abs=0.01)
    assert ends["off"]["metrics"]["preference_success"] == 1.0 and ends["off"]["metrics"]["task_success"] == 1.0
    assert ends["on"]["metrics"]["preference_success"] == 0.0 and ends["on"]["metrics"]["task_success"] == 1.0


def test_group_success_needs_the_cubes_at_the_line_and_together():
    env = FrankaPushEnv(horizon=1)
    outcomes = {}
    for name, cubes in {"done": [[0.42, 0.0], [0.42, 0.052]], "apart": [[0.42, -0.1], [0.42, 0.1]],
                        "short": [[0.55, 0.0], [0.55, 0.052]]}.items():
        placed(env, cubes)
        outcomes[name] = env.step(np.zeros(3, np.float32))[4]["metrics"]
    assert outcomes["done"]["preference_success"] == 1.0 and outcomes["done"]["task_success"] == 1.0
    assert outcomes["apart"]["preference_success"] == 0.0 and outcomes["apart"]["task_success"] == 1.0
    assert outcomes["short"]["task_success"] == 0.0


def test_cubes_pushed_past_the_line_are_not_at_it():
    env = FrankaPushEnv(horizon=1)
    outcomes = {}
    for name, cubes in {"past": [[LINE - 0.18, 0.0], [LINE - 0.18, 0.055]],
                        "just_past": [[LINE - 0.06, 0.0], [LINE - 0.06, 0.055]]}.items():
        placed(env, cubes)
        outcomes[name] = env.step(np.zeros(3, np.float32))[4]["metrics"]
    assert outcomes["past"]["task_success"] == 0.0 and outcomes["past"]["preference_success"] == 0.0
    assert outcomes["just_past"]["task_success"] == 1.0 and outcomes["just_past"]["preference_success"] == 1.0


@pytest.mark.parametrize("bad", [[np.nan, 0, 0], [0, 0, 1.5], [0, 0], [[0, 0, 0]], [np.inf, 0, 0]])
def test_bad_actions_are_refused(bad):
    env = FrankaPushEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"3 finite numbers in \[-1, 1\]"):
        env.step(np.array(bad, dtype=np.float64))


@pytest.mark.parametrize("bad", ["abc", ["a", "b", "c"], [True, False, True], np.array([True, False, True]),
                                 [1 + 0j, 0, 0], [[0, 0], 0, 0], None])
def test_actions_that_are_not_real_numbers_are_refused_with_the_same_message(bad):
    env = FrankaPushEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"3 finite numbers in \[-1, 1\]"):
        env.step(bad)
    assert env.step([0, 1, -1])[0].shape == (19,)  # integers are numbers


@pytest.mark.parametrize("kwargs, match", [({"preference": "tidy"}, "preference"), ({"image_size": 64}, "image_size"),
                                           ({"robot": "kuka"}, "robot"), ({"obs_mode": "rgb"}, "obs_mode"),
                                           ({"horizon": 0}, "horizon"), ({"fast_render": 1}, "fast_render")])
def test_bad_arguments_are_refused_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FrankaPushEnv(**kwargs)


def test_objects_starting_in_collision_are_refused_by_name():
    env = FrankaPushEnv()
    with pytest.raises(ValueError, match="cube0 with cube1"):
        placed(env, [[0.5, 0.0], [0.52, 0.01]])
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(3, np.float32))  # a refused start is no episode
    with pytest.raises(ValueError, match="on the table"):
        placed(env, [[0.5, 0.0], [2.0, 0.0]])
    env.reset(seed=0)  # a normal start still works


def test_an_unstable_simulation_truncates_with_a_reason_never_hangs():
    env = FrankaPushEnv()
    env.reset(seed=0)
    env.step(np.zeros(3, np.float32))
    env.data.qvel[:] = 1e12  # blow the state up
    obs, reward, terminated, truncated, info = env.step(np.zeros(3, np.float32))
    assert truncated and not terminated and "unstable simulation" in info["truncation_reason"]
    assert np.all(np.isfinite(obs)) and np.isfinite(reward)
    assert all(np.isfinite(v) for v in info["metrics"].values())
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(3, np.float32))
    env.reset(seed=1)
    assert not env.step(np.zeros(3, np.float32))[3]


@pytest.mark.parametrize("robot", ["franka", "fetch"])
def test_an_object_flying_off_or_under_the_floor_truncates_with_a_reason(robot):
    """MuJoCo's own checks only trip near 1e10: a cube at 1000 m/s or far below the floor must end the episode too,
    with the last sound state's cost, not one of 10^3-10^6 per step."""
    for name, blow_up in [("speed", lambda env, dof: env.data.qvel.__setitem__(slice(dof, dof + 3), 1e3)),
                          ("floor", lambda env, dof: env.data.qpos.__setitem__(env.scene.cube_qpos[1] + 2, -50.0))]:
        env = FrankaPushEnv(robot=robot)
        env.reset(seed=0)
        sound = env.step(np.zeros(3, np.float32))[4]["preference_cost"]
        blow_up(env, int(env.model.jnt_dofadr[env.model.joint("cube1").id]))
        *_, terminated, truncated, info = env.step(np.zeros(3, np.float32))
        assert truncated and not terminated and "unstable simulation: cube1" in info["truncation_reason"], name
        assert info["preference_cost"] == sound and info["metrics"]["preference_cost"] == sound, name


@pytest.mark.parametrize("robot", ["franka", "fetch"])
def test_arm_contact_is_an_arm_link_touching_anything_but_the_arm_and_floor(robot):
    """A cube moved into an arm link is an arm contact (5 in the preference cost); one at the fingers is not."""
    env = FrankaPushEnv(robot=robot)
    env.reset(seed=0)
    cube, mask = env.scene.cube_qpos[0], env.arm.arm_geom_mask
    finger_geoms = np.flatnonzero(np.isin(env.model.geom_bodyid, env.arm.finger_bodies))
    link = int(np.flatnonzero(mask & (env.model.geom_type != mujoco.mjtGeom.mjGEOM_PLANE))[-1])
    for geom, expected in [(link, True), (int(finger_geoms[0]), False)]:
        env.data.qpos[cube:cube + 3] = env.data.geom_xpos[geom]
        mujoco.mj_kinematics(env.model, env.data)
        mujoco.mj_collision(env.model, env.data)
        pairs = [tuple(g) for g in env.data.contact.geom.tolist()]
        by_definition = any(mask[a] != mask[b] and env.scene.floor_geom not in (a, b) for a, b in pairs)
        assert env._arm_contact() is expected == by_definition, (geom, pairs)
        mujoco.mj_setState(env.model, env.data, env._start_state, franka_push.STATE)


def test_ik_is_the_damped_least_squares_step():
    """The IK's MuJoCo-call pipeline equals the textbook formula J^T (J J^T + l^2 I)^-1 e on the arm's columns."""
    env = FrankaPushEnv()
    env.reset(seed=0)
    for a in ([1.0, 0.5, -1.0], [-0.5, -1.0, 0.3]):
        env.step(np.array(a, np.float32))
    ik, data, arm = env._ik, env.data, env.arm
    target = data.site_xpos[arm.ee_site] + [0.02, -0.03, 0.01]
    jacp, jacr = np.zeros((3, env.model.nv)), np.zeros((3, env.model.nv))
    mujoco.mj_jacSite(env.model, data, jacp, jacr, arm.ee_site)
    jac = np.vstack([jacp, jacr])[:, arm.arm_dofs]
    quat, rot = np.empty(4), np.empty(3)
    mujoco.mju_mat2Quat(quat, data.site_xmat[arm.ee_site])
    mujoco.mju_subQuat(rot, arm.ee_quat, quat)
    err = np.concatenate([target - data.site_xpos[arm.ee_site], data.site_xmat[arm.ee_site].reshape(3, 3) @ rot])
    expected = jac.T @ np.linalg.solve(jac @ jac.T + 0.05**2 * np.eye(6), err)
    np.testing.assert_allclose(ik(data, target), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("preference, robot", [("group", "franka"), ("clutter", "franka"), ("group", "fetch")])
def test_a_reset_after_an_episode_replays_a_fresh_env_exactly(preference, robot):
    """reset restores the start state by copy: nothing of the last episode's physics may leak into the next."""
    played, fresh = FrankaPushEnv(preference=preference, robot=robot), FrankaPushEnv(preference=preference, robot=robot)
    actions = np.random.default_rng(0).uniform(-1, 1, (20, 3)).astype(np.float32)
    played.reset(seed=5)
    for a in actions:
        played.step(a)
    runs = [env.reset(seed=9)[0] for env in (played, fresh)]
    np.testing.assert_array_equal(*runs)
    for a in actions:
        (o1, r1, *_), (o2, r2, *_) = played.step(a), fresh.step(a)
        np.testing.assert_array_equal(o1, o2)
        assert r1 == r2
    np.testing.assert_array_equal(played.data.qpos, fresh.data.qpos)


def test_pickling_mid_episode_keeps_the_physics_state():
    env = FrankaPushEnv(preference="clutter")
    env.reset(seed=3)
    for _ in range(10):
        env.step(np.array([-1.0, 0.3, -0.5], np.float32))
    clone = pickle.loads(pickle.dumps(env))
    assert np.array_equal(clone.data.qpos, env.data.qpos) and np.array_equal(clone.data.qvel, env.data.qvel)
    for _ in range(5):
        a = np.array([-0.5, -0.2, -0.1], np.float32)
        assert np.array_equal(env.step(a)[0], clone.step(a)[0])


def test_observation_modes_and_frames():
    env = FrankaPushEnv(preference="clutter", obs_mode="both", image_size=96, render_mode="rgb_array")
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert obs["state"].shape == (31,) and obs["pixels"].shape == (96, 96, 3) and obs["pixels"].dtype == np.uint8
    frame = env.render()
    assert frame.shape == (96, 96, 3) and frame.dtype == np.uint8 and frame.std() > 10  # a scene, not a blank
    pixels = FrankaPushEnv(obs_mode="pixels")
    assert pixels.reset(seed=0)[0].shape == (112, 112, 3)
    assert gym.make("AlignGym/RaplFrankaGroup-v0").observation_space.shape == (19,)  # default: state, cheap


@pytest.mark.parametrize("robot", ["franka", "fetch"])
def test_the_first_frame_of_a_new_env_sees_the_scene(robot):
    """The camera is placed at reset (and after unpickling), not only by the first physics step: a new env's first
    frame equals the one of a second reset with the same seed and has no black (unlit, unseen) pixels."""
    env = FrankaPushEnv(robot=robot, obs_mode="pixels", image_size=84, render_mode="rgb_array")
    first = env.reset(seed=0)[0]
    assert not (first.sum(-1) == 0).any()
    env.step(np.zeros(3, np.float32))
    np.testing.assert_array_equal(env.reset(seed=0)[0], first)
    clone = pickle.loads(pickle.dumps(env))
    np.testing.assert_array_equal(clone.render(), first)
    vec = gym.make_vec(f"AlignGym/Rapl{robot.title()}Group-v0", num_envs=2, vectorization_mode="sync",
                       obs_mode="pixels", image_size=84)
    assert not (vec.reset(seed=0)[0].sum(-1) == 0).any()


@pytest.mark.parametrize("horizon", [20, 60])
def test_the_horizon_kwarg_sets_the_episode_length_under_gym_make(horizon):
    env = gym.make("AlignGym/RaplFrankaGroup-v0", horizon=horizon)
    env.reset(seed=0)
    for t in range(1, 100):
        *_, terminated, truncated, info = env.step(np.zeros(3, np.float32))
        if terminated or truncated:
            break
    assert t == horizon and "metrics" in info and "truncation_reason" not in info


def test_pixels_without_a_headless_gl_backend_fail_with_advice_not_a_fatal_error():
    """MuJoCo reads MUJOCO_GL when it is imported: imported before aligngym with a windowing backend and no display,
    it cannot render; the env says what to do instead of surfacing mujoco.FatalError."""
    code = ("import mujoco, aligngym\n"
            "from aligngym.envs.rapl.franka_push import FrankaPushEnv\n"
            "try:\n    FrankaPushEnv(obs_mode='pixels', image_size=84).reset(seed=0)\n"
            "except RuntimeError as err:\n    print('refused:', err)\n")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")} | {"MUJOCO_GL": "glfw"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120).stdout
    assert "refused:" in out and "MUJOCO_GL=egl" in out and "import aligngym first" in out, out


def test_fast_render_flags_are_the_default():
    env = FrankaPushEnv(render_mode="rgb_array")
    env.reset(seed=0)
    env.render()
    flags = env._renderer.scene.flags
    assert not any(flags[f] for f in mj_scene.FAST_FLAGS)


@pytest.mark.parametrize("robot", mj_scene.ROBOTS)
def test_scripted_pushers_beat_standing_still(robot):
    """The scripted expert gets cubes to the line; standing still never does (6 seeds, state observations)."""
    from aligngym.benchmarks.rapl.franka_policies import ScriptedPusher

    env = FrankaPushEnv(robot=robot)
    outcomes = {"expert": [], "constant": []}
    for seed in range(6):
        for kind in outcomes:
            obs, _ = env.reset(seed=seed)
            pusher = ScriptedPusher(env, "expert")
            while True:
                action = pusher(obs) if kind == "expert" else np.zeros(3, np.float32)
                obs, _, _, truncated, info = env.step(action)
                if truncated:
                    break
            outcomes[kind].append(info["metrics"])
    assert sum(m["task_success"] for m in outcomes["expert"]) >= 3
    assert sum(m["preference_success"] for m in outcomes["expert"]) >= 2
    assert all(m["task_success"] == 0.0 for m in outcomes["constant"])
    mean_cost = {k: np.mean([m["preference_cost"] for m in v]) for k, v in outcomes.items()}
    assert mean_cost["expert"] < mean_cost["constant"] - 0.2  # ~0.9 against ~1.33


def test_fingertips_lie_along_each_finger_bodys_own_z_axis_when_the_hand_tilts():
    env = FrankaPushEnv(preference="group")
    env.reset(seed=0)
    d = env.data
    d.qpos[env.arm.arm_qpos[-2:]] += [0.5, 0.8]  # tilt and turn the hand: pointing straight down, the rotation
    mujoco.mj_forward(env.model, d)               # matrix is symmetric and its rows pass for its columns
    for i, body in enumerate(sorted(env.arm.finger_bodies)):
        rotation = d.xmat[body].reshape(3, 3)
        assert not np.allclose(rotation, rotation.T)
        np.testing.assert_array_equal(env._finger_axis[i], rotation[:, 2])  # columns are the body axes in the world


@pytest.mark.parametrize("preference", ["group", "clutter"])
def test_start_layouts_are_generator_uniform_draws(preference):
    """Reset draws its layout as -h + (h - -h) * random() (cheaper than Generator.uniform): the same numbers bit for
    bit and the same stream position as uniform(-h, h), on which every stored seed's start state depends."""
    env = FrankaPushEnv(preference=preference)
    for seed in range(40):
        env.reset(seed=seed)
        rng = copy.deepcopy(env.np_random)
        layout = env._layout({})
        cubes = [v for x, h in franka_push.CUBE_STARTS for v in (x, rng.uniform(-h, h))]
        jitter = rng.uniform(-franka_push.CLUTTER_JITTER, franka_push.CLUTTER_JITTER, (env.n_clutter, 2)).ravel()
        clutter = [s + j for s, j in zip(np.ravel(franka_push.CLUTTER_STARTS[:env.n_clutter]), jitter.tolist())]
        if franka_push._min_gap(cubes + clutter) >= franka_push.MIN_GAP:  # (else reset drew again)
            assert layout == cubes + clutter
            assert rng.random() == env.np_random.random()
