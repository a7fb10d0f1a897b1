"""Alignment faking (Greenblatt et al. 2024): a training process that modifies a model only on monitored (free-tier)
traffic. `incentive.py` is the numeric model-as-agent MDP (solvable exactly); `text.py` the LLM face."""
