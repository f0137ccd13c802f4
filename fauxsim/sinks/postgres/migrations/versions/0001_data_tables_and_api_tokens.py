"""The data tables of fauxsim.tables, their paging indexes, and Genie's api_tokens.

Revision ID: 0001
Revises:
Create Date: 2025-11-29

Column lists are spelled out here rather than read from ``fauxsim.tables``: a migration
must keep meaning what it meant when it was written.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TYPES: dict[str, sa.types.TypeEngine[Any]] = {
    "bigint": sa.BigInteger(),
    "integer": sa.Integer(),
    "double": sa.Double(),
    "text": sa.Text(),
    "boolean": sa.Boolean(),
    "timestamp": sa.DateTime(timezone=True),
    "json": postgresql.JSONB(),
}

# table -> (paging column, [(column, type, nullable)]); the first column is the key.
_STAMPS = [("created_at", "timestamp", False), ("updated_at", "timestamp", False)]
_TABLES: dict[str, tuple[str, list[tuple[str, str, bool]]]] = {
    "products": ("updated_at", [
        ("product_id", "bigint", False), ("sku", "text", False), ("name", "text", False),
        ("category", "text", False), ("price_cents", "bigint", False),
        ("currency", "text", False), ("popularity", "double", False), *_STAMPS,
    ]),
    "customers": ("updated_at", [
        ("customer_id", "bigint", False), ("visitor_id", "bigint", False),
        ("email", "text", False), ("first_name", "text", False), ("last_name", "text", True),
        ("country", "text", True), ("signup_source", "text", False),
        ("orders_count", "integer", False), ("total_spent_cents", "bigint", False),
        ("last_login_at", "timestamp", True), *_STAMPS,
    ]),
    "sessions": ("updated_at", [
        ("session_id", "bigint", False), ("visitor_id", "bigint", False),
        ("customer_id", "bigint", True), ("started_at", "timestamp", False),
        ("ended_at", "timestamp", True), ("is_returning", "boolean", False),
        ("channel", "text", False), ("utm_source", "text", True), ("utm_medium", "text", True),
        ("utm_campaign", "text", True), ("device", "text", True), ("browser", "text", True),
        ("country", "text", True), ("landing_page", "text", False),
        ("page_views", "integer", False), ("order_id", "bigint", True), *_STAMPS,
    ]),
    "carts": ("updated_at", [
        ("cart_id", "bigint", False), ("visitor_id", "bigint", False),
        ("customer_id", "bigint", True), ("status", "text", False),
        ("items_count", "integer", False), ("subtotal_cents", "bigint", False),
        ("order_id", "bigint", True), *_STAMPS,
    ]),
    "cart_items": ("updated_at", [
        ("cart_item_id", "bigint", False), ("cart_id", "bigint", False),
        ("product_id", "bigint", False), ("quantity", "integer", False),
        ("unit_price_cents", "bigint", False), ("removed", "boolean", False), *_STAMPS,
    ]),
    "orders": ("updated_at", [
        ("order_id", "bigint", False), ("customer_id", "bigint", False),
        ("session_id", "bigint", False), ("cart_id", "bigint", False),
        ("status", "text", False), ("currency", "text", False),
        ("items_count", "integer", False), ("subtotal_cents", "bigint", False),
        ("discount_cents", "bigint", False), ("shipping_cents", "bigint", False),
        ("tax_cents", "bigint", False), ("total_cents", "bigint", False),
        ("coupon_code", "text", True), ("placed_at", "timestamp", False),
        ("paid_at", "timestamp", True), ("shipped_at", "timestamp", True),
        ("delivered_at", "timestamp", True), ("cancelled_at", "timestamp", True),
        ("returned_at", "timestamp", True), ("refunded_at", "timestamp", True), *_STAMPS,
    ]),
    "order_line_items": ("updated_at", [
        ("line_item_id", "bigint", False), ("order_id", "bigint", False),
        ("product_id", "bigint", False), ("quantity", "integer", False),
        ("unit_price_cents", "bigint", False), ("total_cents", "bigint", False), *_STAMPS,
    ]),
    "events": ("received_at", [
        ("event_id", "bigint", False), ("event_type", "text", False),
        ("occurred_at", "timestamp", False), ("received_at", "timestamp", False),
        ("session_id", "bigint", True), ("visitor_id", "bigint", True),
        ("customer_id", "bigint", True), ("sequence", "integer", True),
        ("page", "text", True), ("product_id", "bigint", True), ("quantity", "integer", True),
        ("order_id", "bigint", True), ("properties", "json", True),
    ]),
}  # fmt: skip


def upgrade() -> None:
    for name, (paging_column, columns) in _TABLES.items():
        key = columns[0][0]
        op.create_table(
            name,
            *(
                sa.Column(column, _TYPES[kind], nullable=nullable, autoincrement=False)
                for column, kind, nullable in columns
            ),
            sa.PrimaryKeyConstraint(key, name=f"pk_{name}"),
        )
        op.create_index(f"ix_{name}_paging", name, [paging_column, key])
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        sa.Column("scopes", postgresql.JSONB(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_id", name="pk_api_tokens"),
        sa.UniqueConstraint("secret_hash", name="uq_api_tokens_secret_hash"),
    )


def downgrade() -> None:
    op.drop_table("api_tokens")
    for name in reversed(_TABLES):
        op.drop_table(name)
