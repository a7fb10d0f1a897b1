"""The rapl family: robot tasks whose success is an end user's hidden preference, learned from few preference
queries over videos (RAPL, Tian et al. 2024). Part 1: X-MAGICAL's 2D sweep-to-top with four embodiments
(`sweep.py`). Part 2: a Franka Panda or a Fetch arm pushing cubes in MuJoCo (`franka_push.py`). Every env takes
`preference=`, renders uint8 frames with `render_mode="rgb_array"`, and reports the hidden per-step cost in
`info["preference_cost"]` (never in the reward). See docs/rapl.md and docs/rapl_franka.md.
"""
from __future__ import annotations


def make(name: str, **kwargs):
    """`gym.make` that also takes X-MAGICAL's full names, e.g. `SweepToTop-Gripper-Pixels-Ego-Demo-v0`."""
    import gymnasium as gym

    import aligngym  # noqa: F401  (registers the ids)
    from aligngym.envs.rapl.sweep import TASK, from_xmagical_name

    if name.split("/")[-1].startswith(TASK + "-") and name.count("-") == 5:
        env_id, grammar = from_xmagical_name(name)
        return gym.make(env_id, **{**grammar, **kwargs})
    return gym.make(name, **kwargs)
