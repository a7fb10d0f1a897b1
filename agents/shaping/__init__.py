"""Agents of the shaping family: REINFORCE and actor-critic (categorical or Gaussian policies, on vector, Discrete
or image observations) with six reward modes (primary only, naive sum, potential-based shaping, the authors'
PBRS, DPBA, BARFI), SB3 PPO through a blended-reward wrapper, BARFI's outer loop around SB3 PPO, SAC or DQN (`barfi_sb3.py`), and
hand-written heuristic controllers. `train` is the one training loop and `Args` (`make_args`) its
hyperparameters; see docs/shaping.md."""
from aligngym.agents.shaping.args import Args, make_args
from aligngym.agents.shaping.train import train

__all__ = ["Args", "make_args", "train"]
