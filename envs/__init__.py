"""AlignGym environments, one folder per family; `registry.py` is the table of every id."""
from aligngym.envs.registry import ROWS, Metric, Row, row

__all__ = ["ROWS", "Metric", "Row", "row"]
