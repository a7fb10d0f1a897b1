"""The digest of each entry's ranked columns (`row_hash`), so building a table checks rows without reading records.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from aligngym.leaderboard.db import RANKED, ranked_digest

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("entries") as batch:
        batch.add_column(sa.Column("row_hash", sa.String(64), nullable=True))
    conn = op.get_bind()
    types = {"higher_is_better": sa.Boolean, "score": sa.Float, "ci_low": sa.Float, "ci_high": sa.Float,
             "n_episodes": sa.Integer}  # typed, so values read back as the ORM reads them
    entries = sa.table("entries", sa.column("id"), sa.column("row_hash"),
                       *(sa.column(k, types.get(k, sa.Text)) for k in RANKED))
    for row in conn.execute(sa.select(entries)).mappings().all():
        conn.execute(entries.update().where(entries.c.id == row["id"]).values(row_hash=ranked_digest(row)))


def downgrade() -> None:
    with op.batch_alter_table("entries") as batch:
        batch.drop_column("row_hash")
