"""Alembic migrations of the leaderboard database (run by `aligngym.leaderboard.db.migrate`)."""
