"""Shopping experiment drivers: the study's design on LLM backends, its statistics and published numbers, per-condition tables."""
