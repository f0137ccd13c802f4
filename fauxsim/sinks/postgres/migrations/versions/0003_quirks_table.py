"""The quirks table: one row per injected data-quality trap, the truth to check against.

Revision ID: 0003
Revises: 0002
Create Date: 2025-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quirks",
        sa.Column("quirk_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("quirk", sa.Text(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("column_name", sa.Text(), nullable=True),
        sa.Column("detail", postgresql.JSONB(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("quirk_id", name="pk_quirks"),
    )
    op.create_index("ix_quirks_paging", "quirks", ["updated_at", "quirk_id"])


def downgrade() -> None:
    op.drop_table("quirks")
