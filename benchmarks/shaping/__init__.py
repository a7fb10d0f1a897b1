"""Experiment drivers of the shaping family: learning curves over methods, heuristics and seeds, verdicts and plots."""
