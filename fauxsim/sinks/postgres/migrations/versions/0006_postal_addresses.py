"""Postal addresses: where each customer lives, and where each order ships (#18 item 13).

customers gains street, city, region and postal_code; orders gains the same as
shipping_street ... shipping_postal_code, and shipping_country. Rows loaded before this
revision had no address: they get empty text (the region and shipping country null), so
that the columns can be NOT NULL as the data always fills them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# table -> [(column, nullable)], all text.
_ADDED: dict[str, list[tuple[str, bool]]] = {
    "customers": [("street", False), ("city", False), ("region", True), ("postal_code", False)],
    "orders": [
        ("shipping_street", False), ("shipping_city", False), ("shipping_region", True),
        ("shipping_postal_code", False), ("shipping_country", True),
    ],
}  # fmt: skip


def upgrade() -> None:
    for table, columns in _ADDED.items():
        for name, nullable in columns:
            # Filled for the rows already there, then no default: the loader always writes it.
            default = None if nullable else ""
            op.add_column(
                table, sa.Column(name, sa.Text(), nullable=nullable, server_default=default)
            )
            if not nullable:
                op.alter_column(table, name, server_default=None)


def downgrade() -> None:
    for table, columns in _ADDED.items():
        for name, _ in reversed(columns):
            op.drop_column(table, name)
