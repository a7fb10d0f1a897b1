"""Baselines for the progress family: static, oracle, lifelong, extrapolative (numeric face), PPO (numeric face),
a position-biased answerer and an LLM examinee (questionnaire face)."""
