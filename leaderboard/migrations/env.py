"""Alembic environment: runs on the connection `db.migrate` passes in (online mode only)."""
from alembic import context

from aligngym.leaderboard.db import Base

context.configure(connection=context.config.attributes["connection"], target_metadata=Base.metadata,
                  render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
