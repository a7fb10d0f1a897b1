"""The shaping family: control tasks with a primary reward and good or misleading auxiliary rewards (BARFI).

Every env returns the primary reward as its reward and the designer's auxiliary (heuristic) reward in
`info["aux_reward"]`; the heuristic is chosen with the `heuristic` kwarg. See docs/shaping.md.
"""
