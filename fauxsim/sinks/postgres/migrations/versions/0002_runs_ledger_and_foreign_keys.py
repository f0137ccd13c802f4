"""The runs ledger, and foreign keys between the entity tables.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-29

Foreign keys are DEFERRABLE INITIALLY DEFERRED: a batch is checked as a whole at
commit, and orders and sessions refer to each other.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# (table, column, referenced table, referenced column)
_FOREIGN_KEYS = (
    ("sessions", "customer_id", "customers", "customer_id"),
    ("sessions", "order_id", "orders", "order_id"),
    ("carts", "customer_id", "customers", "customer_id"),
    ("carts", "order_id", "orders", "order_id"),
    ("cart_items", "cart_id", "carts", "cart_id"),
    ("cart_items", "product_id", "products", "product_id"),
    ("orders", "customer_id", "customers", "customer_id"),
    ("orders", "session_id", "sessions", "session_id"),
    ("orders", "cart_id", "carts", "cart_id"),
    ("order_line_items", "order_id", "orders", "order_id"),
    ("order_line_items", "product_id", "products", "product_id"),
)


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("run_id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("scenario_name", sa.Text(), nullable=False),
        sa.Column("scenario_digest", sa.Text(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("code_version", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("until_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=True),
        sa.Column("batches", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("rows_written", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "started_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "status IN ('running', 'complete', 'interrupted')", name="ck_runs_status"
        ),
        sa.PrimaryKeyConstraint("run_id", name="pk_runs"),
    )
    for table, column, target, target_column in _FOREIGN_KEYS:
        op.create_foreign_key(
            f"fk_{table}_{column}",
            table,
            target,
            [column],
            [target_column],
            deferrable=True,
            initially="DEFERRED",
        )


def downgrade() -> None:
    for table, column, _target, _target_column in reversed(_FOREIGN_KEYS):
        op.drop_constraint(f"fk_{table}_{column}", table, type_="foreignkey")
    op.drop_table("runs")
