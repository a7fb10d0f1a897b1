"""AlignGym: Gymnasium-style simulation environments for AI-alignment research.

`import aligngym` registers every environment id with Gymnasium (namespace `AlignGym`) and every
multi-agent id with PettingZoo.
"""
__version__ = "0.1.0"

from aligngym.envs.registry import register_all as _register_all

_register_all()
