"""Agents of the shaping family: REINFORCE and actor-critic (categorical or Gaussian policies) with four
reward modes (primary only, naive sum, potential-based shaping, BARFI), SB3 PPO through a blended-reward
wrapper, BARFI's outer loop around PPO (`barfi_ppo.py`), and hand-written heuristic controllers.
`aligngym.agents.shaping.train.train` is the one training loop; see docs/shaping.md."""
