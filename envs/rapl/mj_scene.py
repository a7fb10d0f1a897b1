"""MuJoCo scenes for the rapl arm-pushing tasks, composed with `MjSpec` from robot models shipped in gymnasium-robotics.

The Franka Panda (`envs/assets/kitchen_franka/franka_assets`) and the Fetch arm (`envs/assets/fetch`) are read from
the installed `gymnasium_robotics` package at run time (never copied into this project). The package is located
without importing it: importing it registers its own envs and prints warnings, and its env classes fail under
mujoco 4 anyway; only its model files are used. The table, the two 5 cm cubes, the clutter objects, the goal line,
the lights and the camera are added here with the `MjSpec` API.

World frame as in the reference `pixmc/tasks/franka_push.py`: a 0.6 x 1.5 m table centred at x = 0.5, the robot
behind its far edge at x > 0.8 facing -x, the goal line at x = 0.4. The table is 0.35 m tall where the reference's
is 0.37 m (kept in v0: see the card of `franka_push.py`, Version History).
"""
from __future__ import annotations

import copy
import functools
import importlib.util
import os
import pathlib
import re
from dataclasses import dataclass

import mujoco
import numpy as np

TABLE_CENTER_X = 0.5
TABLE_HALF = (0.3, 0.75, 0.175)
TABLE_TOP = 2 * TABLE_HALF[2]
CUBE_HALF = 0.025  # 5 cm cubes
CUBE_Z = TABLE_TOP + CUBE_HALF
LINE_X = 0.4
N_CLUTTER = 4
ROBOTS = ("franka", "fetch")
CAMERA_POS = (0.45, 0.0, 1.1)  # above the table, looking down and a little toward the robot
CAMERA_TARGET = (0.56, 0.0, TABLE_TOP)
CAMERA_FOVY = 45.0


def robotics_assets() -> pathlib.Path:
    """Folder of gymnasium-robotics' model files (the package must be installed; it is a core dependency)."""
    found = importlib.util.find_spec("gymnasium_robotics")
    if found is None or not found.submodule_search_locations:
        raise ModuleNotFoundError("The rapl MuJoCo envs need gymnasium-robotics (pip install gymnasium-robotics).")
    return pathlib.Path(found.submodule_search_locations[0]) / "envs" / "assets"


@dataclass(frozen=True)
class ArmParts:
    """Where an arm's parts are in a compiled scene."""

    control: str  # "joint_ik": position actuators driven by inverse kinematics; "mocap": a welded mocap body
    ee_site: int
    finger_bodies: tuple[int, int]  # left, right
    finger_offset: float  # grasp point along each finger body's z axis (fingertip), metres
    arm_dofs: np.ndarray  # dof addresses of the arm joints the controller moves (joint_ik)
    arm_qpos: np.ndarray  # their qpos addresses
    arm_geom_mask: np.ndarray  # bool per geom: arm links, not the hand or fingers (the "arm contact" set)
    home_qpos: np.ndarray  # full qpos of the robot's start pose (objects filled in at reset)
    ee_quat: np.ndarray  # orientation the controller holds (gripper pointing down)
    tip_depth: float = 0.0  # how far the fingertips reach below the end-effector site in the start pose


@dataclass(frozen=True)
class Scene:
    model: mujoco.MjModel
    arm: ArmParts
    cube_qpos: tuple[int, ...]  # qpos address of each free object's position: 2 cubes, then clutter
    object_geoms: np.ndarray  # geom id of each free object, same order
    table_geom: int
    floor_geom: int  # the robot stands on it: contacts with it are no arm contact


def _fragment(path: pathlib.Path) -> str:
    """The body of a `<mujocoinclude>` file, to be inlined (MjSpec.from_string does not resolve includes)."""
    return re.search(r"<mujocoinclude>(.*)</mujocoinclude>", path.read_text(), re.S).group(1)


def _franka_spec() -> mujoco.MjSpec:
    root = robotics_assets() / "kitchen_franka"
    parts = root / "franka_assets"
    meshes = {str(p.relative_to(root)): p.read_bytes() for p in (parts / "meshes").rglob("*.stl")}
    xml = (f"<mujoco>{_fragment(parts / 'assets.xml')}{_fragment(parts / 'actuator.xml')}<worldbody>"
           f"<body name='robot_base' pos='1.0 0 0' euler='0 0 3.14159265'>{_fragment(parts / 'chain.xml')}</body>"
           "</worldbody></mujoco>")
    spec = mujoco.MjSpec.from_string(xml, assets=meshes)
    for body in spec.bodies:
        body.gravcomp = 1.0  # the reference runs the arm without gravity (IsaacGym disable_gravity)
    for i in range(1, 5):
        # the kitchen model's shoulder/elbow damping (100) caps joint speed near 0.9 rad/s at the 87 Nm force
        # limit, too slow for 45-step pushes; 40 keeps the servo well damped and allows ~2.2 rad/s (the real
        # Panda's joint speed limit is 2.175 rad/s)
        joint = spec.joint(f"robot:panda0_joint{i}")
        damping = np.array(joint.damping, dtype=float, ndmin=1)  # a scalar before mujoco 4, an array from 4 on
        damping[0] = 40.0
        joint.damping = damping if damping.size > 1 else float(damping[0])
    return spec


def _fetch_spec() -> mujoco.MjSpec:
    spec = mujoco.MjSpec.from_file(str(robotics_assets() / "fetch" / "push.xml"))
    for name in ("table0", "object0", "floor0"):  # its own task objects; ours are added below
        spec.delete(spec.body(name))
    spec.delete(spec.geom("floor0"))
    spec.delete(spec.light("light0"))
    base = spec.body("robot0:base_link")
    base.pos = [1.45, 0.0, 0.0]  # behind the table's far edge, facing -x like the Franka
    base.quat = [0.0, 0.0, 0.0, 1.0]
    for body in spec.bodies:
        if body.name.startswith("robot0:"):
            body.gravcomp = 1.0  # as the Franka: the arm holds its pose against gravity
    for geom in spec.body("robot0:mocap").geoms:
        spec.delete(geom)  # its visual guide lines would show in the videos
    spec.body("robot0:gripper_link").add_site(name="rapl_ee")  # the welded point: where the mocap body puts it
    weld = spec.equalities[0]  # mocap to gripper: zero relative pose, as gymnasium-robotics' reset_mocap_welds sets
    weld.data[3:10] = [0, 0, 0, 1, 0, 0, 0]
    return spec


def _add_task_objects(spec: mujoco.MjSpec, n_clutter: int) -> None:
    spec.option.timestep = 0.002
    spec.visual.global_.offwidth = max(spec.visual.global_.offwidth, 640)
    spec.visual.global_.offheight = max(spec.visual.global_.offheight, 480)
    world = spec.worldbody
    world.add_geom(name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[3, 3, 0.1], rgba=[0.3, 0.33, 0.38, 1])
    world.add_light(pos=[0.5, 0.0, 2.5], dir=[0, 0, -1], type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL,
                    diffuse=[0.7, 0.7, 0.7], ambient=[0.3, 0.3, 0.3])
    table = world.add_body(name="table", pos=[TABLE_CENTER_X, 0, TABLE_HALF[2]])
    table.add_geom(name="table", type=mujoco.mjtGeom.mjGEOM_BOX, size=list(TABLE_HALF), rgba=[0.62, 0.5, 0.38, 1])
    # the goal line, drawn on the table (visual only)
    world.add_geom(name="goal_line", type=mujoco.mjtGeom.mjGEOM_BOX, pos=[LINE_X, 0, TABLE_TOP + 0.0005],
                   size=[0.004, TABLE_HALF[1], 0.0005], rgba=[0.1, 0.3, 0.9, 1], contype=0, conaffinity=0)
    colors = [[0.85, 0.1, 0.1, 1], [0.9, 0.55, 0.1, 1]] + [[0.15, 0.6, 0.2, 1]] * n_clutter
    for i, rgba in enumerate(colors):
        name = f"cube{i}" if i < 2 else f"clutter{i - 2}"
        body = world.add_body(name=name, pos=[0.6, 0.3 * i - 0.5, CUBE_Z])
        body.add_freejoint(name=name)
        body.add_geom(name=name, type=mujoco.mjtGeom.mjGEOM_BOX, size=[CUBE_HALF] * 3, rgba=rgba, mass=0.3,
                      friction=[1.0, 0.005, 0.0001], condim=3)
    forward = np.subtract(CAMERA_TARGET, CAMERA_POS)
    world.add_camera(name="view", pos=list(CAMERA_POS), fovy=CAMERA_FOVY, mode=mujoco.mjtCamLight.mjCAMLIGHT_FIXED,
                     xyaxes=_camera_axes(forward))


def _camera_axes(forward) -> list[float]:
    f = np.asarray(forward, float) / np.linalg.norm(forward)
    right = np.cross(f, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, f)
    return [*right, *up]


@functools.lru_cache(maxsize=None)
def _compiled(robot: str, n_clutter: int) -> Scene:
    spec = _franka_spec() if robot == "franka" else _fetch_spec()
    _add_task_objects(spec, n_clutter)
    model = spec.compile()
    names = [f"cube{i}" for i in range(2)] + [f"clutter{i}" for i in range(n_clutter)]
    cube_qpos = tuple(int(model.jnt_qposadr[model.joint(n).id]) for n in names)
    object_geoms = np.array([model.geom(n).id for n in names])
    arm = _franka_parts(model) if robot == "franka" else _fetch_parts(model)
    return Scene(model, arm, cube_qpos, object_geoms, model.geom("table").id, model.geom("floor").id)


def load_scene(robot: str, n_clutter: int) -> Scene:
    """The compiled scene for `robot` with `n_clutter` clutter objects; each caller gets its own model copy."""
    if robot not in ROBOTS:
        raise ValueError(f"robot must be one of {ROBOTS}, got {robot!r}.")
    scene = _compiled(robot, n_clutter)
    return Scene(copy.copy(scene.model), scene.arm, scene.cube_qpos, scene.object_geoms, scene.table_geom,
                 scene.floor_geom)


def _geom_mask(model, bodies) -> np.ndarray:
    ids = {model.body(b).id for b in bodies}
    return np.array([int(model.geom_bodyid[g]) in ids and model.geom_contype[g] | model.geom_conaffinity[g] != 0
                     for g in range(model.ngeom)])


HOME_EE = np.array([0.78, 0.0, TABLE_TOP + 0.12])  # start of the end effector: above the table, behind the cubes
DOWN = np.array([0.0, 0.0, 1.0, 0.0])  # quaternion: pi about y: the tool points down, its joint 7 mid-range


def _franka_parts(model) -> ArmParts:
    joints = [model.joint(f"robot:panda0_joint{i}").id for i in range(1, 8)]
    links = [f"panda0_link{i}" for i in range(8)]
    mask = _geom_mask(model, links)
    hand = model.geom_bodyid == model.body("panda0_link7").id
    mask &= ~(hand & (model.geom_type == mujoco.mjtGeom.mjGEOM_MESH)
              & (np.arange(model.ngeom) == _hand_geom(model)))
    parts = ArmParts(control="joint_ik", ee_site=model.site("end_effector").id,
                     finger_bodies=(model.body("panda0_leftfinger").id, model.body("panda0_rightfinger").id),
                     finger_offset=0.045, arm_dofs=model.jnt_dofadr[joints].copy(),
                     arm_qpos=model.jnt_qposadr[joints].copy(), arm_geom_mask=mask,
                     home_qpos=model.qpos0.copy(), ee_quat=DOWN)
    home = model.qpos0.copy()
    home[parts.arm_qpos] = [0.0, -0.3, 0.0, -2.2, 0.0, 0.4, 0.0]  # a seed; refined by IK below
    home = solve_ik(model, parts, home, HOME_EE, iterations=300)
    return ArmParts(**{**parts.__dict__, "home_qpos": home, "tip_depth": _tip_depth(model, parts, home)})


def _hand_geom(model) -> int:
    """The hand's collision mesh: it sits on link7's body in this model but is part of the gripper, not the arm."""
    return next(g for g in range(model.ngeom) if model.geom_dataid[g] == model.mesh("hand_col").id
                and model.geom_type[g] == mujoco.mjtGeom.mjGEOM_MESH)


def _fetch_parts(model) -> ArmParts:
    links = ["shoulder_pan_link", "shoulder_lift_link", "upperarm_roll_link", "elbow_flex_link", "forearm_roll_link",
             "wrist_flex_link", "wrist_roll_link"]
    mask = _geom_mask(model, [f"robot0:{b}" for b in links])
    empty = np.zeros(0, dtype=int)
    quat = np.array([0.0, -0.5 ** 0.5, 0.0, 0.5 ** 0.5])  # gripper's x axis down, as the Fetch envs (turned to -x)
    # the start pose: let the weld pull the arm to the mocap body held at HOME_EE (as the Fetch envs' setup does)
    data = mujoco.MjData(model)
    data.mocap_pos[0], data.mocap_quat[0] = HOME_EE, quat
    mujoco.mj_step(model, data, nstep=1500)
    data.qvel[:] = 0.0
    mujoco.mj_forward(model, data)
    site = model.site("rapl_ee").id
    if np.linalg.norm(data.site_xpos[site] - HOME_EE) > 0.01:
        raise RuntimeError(f"The Fetch arm cannot reach its start pose {HOME_EE}.")
    parts = ArmParts(control="mocap", ee_site=site,
                     finger_bodies=(model.body("robot0:l_gripper_finger_link").id,
                                    model.body("robot0:r_gripper_finger_link").id),
                     finger_offset=0.0, arm_dofs=empty, arm_qpos=empty, arm_geom_mask=mask,
                     home_qpos=data.qpos.copy(), ee_quat=quat)
    return ArmParts(**{**parts.__dict__, "tip_depth": _tip_depth(model, parts, parts.home_qpos)})


def _tip_depth(model, arm: ArmParts, qpos: np.ndarray) -> float:
    """Height of the end-effector site above the lowest corner of the fingers' collision boxes."""
    data = mujoco.MjData(model)
    data.qpos[:] = qpos
    mujoco.mj_kinematics(model, data)
    corners = np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1])).T.reshape(-1, 3)
    lowest = np.inf
    for g in range(model.ngeom):
        if model.geom_bodyid[g] in arm.finger_bodies and model.geom_contype[g] | model.geom_conaffinity[g]:
            rot = data.geom_xmat[g].reshape(3, 3)
            centre, half = model.geom_aabb[g][:3], model.geom_aabb[g][3:]
            lowest = min(lowest, float(np.min((data.geom_xpos[g] + (centre + corners * half) @ rot.T)[:, 2])))
    return float(data.site_xpos[arm.ee_site][2] - lowest)


def _as_slice(index, what: str) -> slice:
    """`index` (ascending, consecutive addresses) as a slice: views instead of gathers."""
    index = [int(i) for i in index]
    if not index or index != list(range(index[0], index[0] + len(index))):
        raise ValueError(f"ArmIK needs the arm's {what} to be consecutive addresses; got {index}.")
    return slice(index[0], index[0] + len(index))


def _chain_dofs(model, body: int) -> list[int]:
    """The dofs of `body` and of all its ancestors, ascending."""
    dofs = []
    while body > 0:
        dofs += range(model.body_dofadr[body], model.body_dofadr[body] + model.body_dofnum[body])
        body = model.body_parentid[body]
    return sorted(dofs)


class ArmIK:
    """Damped-least-squares inverse kinematics of an arm: the joint increment toward a target position with
    `arm.ee_quat` held. This runs every control step, where a numpy call's overhead (about 1 us) on these tiny
    arrays is a sizeable share of a step's own work, so each operation is one MuJoCo call on buffers kept between
    calls (and views into the last `data` it was called with). MuJoCo's `mju_` calls for the elementwise operations
    too: in isolation a numpy ufunc with `out=` costs about the same, but right after the physics steps, with the
    caches cold, a step that leaves numpy's ufunc machinery out costs 3-5 us less (the same bits either way). The arm
    is the site's whole kinematic chain (checked here), so the site's Jacobian is zero outside the arm's dofs and
    `J J^T` is formed over all dofs, without a column gather."""

    def __init__(self, model, arm: ArmParts, damping: float = 0.05):
        self.model, self.arm = model, arm
        self.cols, self.qpos = _as_slice(arm.arm_dofs, "dofs"), _as_slice(arm.arm_qpos, "qpos")
        chain = _chain_dofs(model, model.site_bodyid[arm.ee_site])
        if chain != list(range(model.nv))[self.cols]:
            raise ValueError(f"ArmIK needs the end-effector site's kinematic chain to be exactly the arm's dofs "
                             f"{arm.arm_dofs.tolist()}; it is {chain}.")
        self.jac = np.zeros((6, model.nv))
        self._jacp, self._jacr = self.jac[:3], self.jac[3:]
        self.err = np.zeros(6)
        self.err_pos, self._err_rot = self.err[:3], self.err[3:]  # err_pos: the target minus the site's position
        self._system = np.empty((6, 6))
        self._reg = (damping**2 * np.eye(6)).ravel()
        self._system_flat = self._system.reshape(-1)  # a view, for mju_addTo
        self._quat, self._rot, self._sol = np.empty(4), np.empty(3), np.empty(6)
        self._dq_all = np.zeros(model.nv)
        self._dq = self._dq_all[self.cols]  # a view: the arm's part of J^T sol
        self._data = None

    def _bind(self, data) -> None:
        site = self.arm.ee_site
        self._data, self._site_pos, self._site_mat = data, data.site_xpos[site], data.site_xmat[site]

    def __call__(self, data, target: np.ndarray) -> np.ndarray:
        """The arm's joint increment, in a buffer that the next call overwrites. Needs `data`'s kinematics (xpos,
        site frames, cdof) up to date."""
        if data is not self._data:
            self._bind(data)
        mujoco.mju_sub3(self.err_pos, target, self._site_pos)
        return self.increment(data)

    def increment(self, data) -> np.ndarray:
        """As a call, with the position error already written into `err_pos` (by a caller that has the target and
        the site's position as floats: three item writes cost less than an `mju_sub3` call and give the same bits)."""
        if data is not self._data:
            self._bind(data)
        mujoco.mj_jacSite(self.model, data, self._jacp, self._jacr, self.arm.ee_site)
        mujoco.mju_mat2Quat(self._quat, self._site_mat)
        mujoco.mju_subQuat(self._rot, self.arm.ee_quat, self._quat)  # in the site's own frame
        mujoco.mju_mulMatVec3(self._err_rot, self._site_mat, self._rot)  # in the world frame
        mujoco.mju_mulMatMatT(self._system, self.jac, self.jac)
        mujoco.mju_addTo(self._system_flat, self._reg)
        mujoco.mju_cholFactor(self._system, 0.0)
        mujoco.mju_cholSolve(self._sol, self._system, self.err)
        mujoco.mju_mulMatTVec(self._dq_all, self.jac, self._sol)
        return self._dq


def solve_ik(model, arm: ArmParts, qpos: np.ndarray, target: np.ndarray, iterations: int = 200) -> np.ndarray:
    """Arm joint angles that put the end effector at `target`, pointing down (kinematics only, no dynamics)."""
    data = mujoco.MjData(model)
    data.qpos[:] = qpos
    low, high = model.jnt_range[[model.dof_jntid[d] for d in arm.arm_dofs]].T
    ik = ArmIK(model, arm)
    for _ in range(iterations):
        mujoco.mj_kinematics(model, data)
        mujoco.mj_comPos(model, data)
        data.qpos[arm.arm_qpos] = np.clip(data.qpos[arm.arm_qpos] + ik(data, target), low, high)
    mujoco.mj_kinematics(model, data)
    if np.linalg.norm(data.site_xpos[arm.ee_site] - target) > 1e-3:
        raise RuntimeError(f"The arm cannot reach its start pose {target}.")
    return data.qpos.copy()


FAST_FLAGS = (mujoco.mjtRndFlag.mjRND_SHADOW, mujoco.mjtRndFlag.mjRND_REFLECTION, mujoco.mjtRndFlag.mjRND_SKYBOX)


def make_renderer(model, size: int, fast: bool = True) -> mujoco.Renderer:
    """An offscreen renderer; `fast` turns off shadows, reflections and the skybox (about 8x faster on CPU:
    `bench_rapl_franka_speed.json`)."""
    try:
        renderer = mujoco.Renderer(model, height=size, width=size)
    except mujoco.FatalError as err:  # MuJoCo picks its GL backend when it is imported, from MUJOCO_GL
        raise RuntimeError(
            f"MuJoCo could not open an offscreen OpenGL context (MUJOCO_GL={os.environ.get('MUJOCO_GL')!r}): set "
            "MUJOCO_GL=egl (or osmesa) before importing mujoco, or import aligngym first, which sets it to egl "
            f"unless it is set. MuJoCo said: {err}") from err
    if fast:
        for flag in FAST_FLAGS:
            renderer.scene.flags[flag] = False
    return renderer
