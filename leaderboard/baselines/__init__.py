"""Baseline submissions shipped as verified entries (written by `aligngym leaderboard baselines --ship`)."""
