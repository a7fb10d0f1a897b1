"""Baselines and LLM agents of the faking family: exact optimum, scripted controls, PPO, LLM agent."""
