"""Leaderboard: checked RunRecord submissions in a database (SQLite or PostgreSQL), ranked tables with CIs,
verified reruns of baseline specs, static pages and a FastAPI submission server. See docs/leaderboard.md."""
from aligngym.leaderboard.board import Board, submission
from aligngym.leaderboard.submission import SubmissionError

__all__ = ["Board", "SubmissionError", "submission"]
