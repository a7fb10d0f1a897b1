"""LLM backends shared by the families (see `base.py` for the protocol)."""
from aligngym.llm.base import LLM, ScriptedLLM
from aligngym.llm.parsing import parse_choice, parse_tagged, parse_yes_no

__all__ = ["LLM", "ScriptedLLM", "parse_choice", "parse_tagged", "parse_yes_no"]
