"""Baseline agents per family, LLM-driven agents and adapters (see `base.py` for the interface)."""
from aligngym.agents.base import Agent, AgentContext, CallableAgent, RandomAgent, SB3Agent
from aligngym.agents.spec import BASELINES, make_agent

__all__ = ["Agent", "AgentContext", "CallableAgent", "RandomAgent", "SB3Agent", "BASELINES", "make_agent"]
