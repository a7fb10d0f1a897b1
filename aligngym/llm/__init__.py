"""LLM backends shared by the families (see `base.py` for the protocol, `spec.py` for spec strings).

    from aligngym.llm import load
    llm = load("local")                 # offline Gemma-3-270M base model; or "hf:<id>", "path:<dir>",
    llm.generate(["The sky is"])        # "openai:<model>@<base_url>"
"""
from aligngym.llm.base import LLM, LLMError, ScriptedLLM
from aligngym.llm.parsing import parse_choice, parse_tagged, parse_yes_no
from aligngym.llm.spec import load, parse_spec

__all__ = ["LLM", "LLMError", "ScriptedLLM", "load", "parse_spec", "parse_choice", "parse_tagged", "parse_yes_no"]
