"""The shaping family: control tasks with a primary reward and good or misleading auxiliary rewards (BARFI).

Every env returns the primary reward as its reward, the designer's auxiliary (heuristic) reward in
`info["aux_reward"]` (chosen with the `heuristic` kwarg) and a state potential in `info["potential"]`;
`ShapingWrapper` adds the same to any Gymnasium env. See docs/shaping.md.
"""
from aligngym.envs.shaping.wrapper import ShapingWrapper

__all__ = ["ShapingWrapper"]
