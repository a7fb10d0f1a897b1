"""Baselines for the shopping family: scripted loyalties, PPO on the numeric face, and the LLM shopping assistant."""
