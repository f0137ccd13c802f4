"""The runs ledger per shard: a run of several shards loads each over its own connection.

Every row of ``runs`` is one shard's run (``shard`` of ``shards``); each shard commits
with its own watermark, and resumes after it. A dataset of one shard has every row at
shard 0 of 1, as before.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("shard", sa.Integer(), server_default="0", nullable=False))
    op.add_column("runs", sa.Column("shards", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    op.drop_column("runs", "shards")
    op.drop_column("runs", "shard")
