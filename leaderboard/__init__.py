"""Leaderboard: submission validation and storage (to come)."""
