"""Migrations: they build exactly the schema of the code, and upgrade data in place."""

from __future__ import annotations

import subprocess
import sys

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from fauxsim.sinks.postgres.migrate import (
    HEAD_REVISION,
    VERSION_TABLE,
    engine_for,
    head_revision,
    upgrade,
)
from fauxsim.sinks.postgres.schema import metadata


def schema_differences(url: str) -> list[object]:
    engine = engine_for(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "version_table": VERSION_TABLE}
            )
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def test_migrations_build_exactly_the_schema_the_code_describes(postgres_url):
    """A column added to fauxsim.tables without a migration fails here."""
    upgrade(postgres_url)
    assert schema_differences(postgres_url) == []


def test_upgrading_from_the_first_revision_keeps_existing_rows(postgres_url):
    upgrade(postgres_url, "0001")
    with psycopg.connect(postgres_url) as early:
        early.execute(
            "INSERT INTO products VALUES "
            "(1, 'SKU-1', 'Mug', 'kitchen', 900, 'USD', 1.5, '2025-01-01Z', '2025-01-02Z')"
        )
        early.execute(
            "INSERT INTO api_tokens (token_id, name, secret_hash, scopes, created_at) "
            "VALUES ('fg_1', 'laptop', 'hash', '[\"read:all\"]', '2025-01-01Z')"
        )
    upgrade(postgres_url)
    with psycopg.connect(postgres_url) as upgraded:
        version = upgraded.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()  # noqa: S608
        products = upgraded.execute("SELECT product_id, name FROM products").fetchall()
        tokens = upgraded.execute("SELECT token_id FROM api_tokens").fetchall()
    assert version == (head_revision(),)
    assert products == [(1, "Mug")]
    assert tokens == [("fg_1",)]
    assert schema_differences(postgres_url) == []


def test_rows_loaded_before_addresses_get_empty_ones_on_upgrade(postgres_url):
    """0006 adds NOT NULL address columns to tables that may hold rows already."""
    upgrade(postgres_url, "0005")
    with psycopg.connect(postgres_url) as early:
        early.execute(
            "INSERT INTO customers VALUES (1, 1, 'a@b.c', 'A', NULL, 'US', 'import', 0, 0, "
            "NULL, '2025-01-01Z', '2025-01-01Z')"
        )
    upgrade(postgres_url)
    with psycopg.connect(postgres_url) as upgraded:
        address = upgraded.execute(
            "SELECT street, city, region, postal_code FROM customers"
        ).fetchall()
    assert address == [("", "", None, "")]
    assert schema_differences(postgres_url) == []


def test_upgrading_twice_changes_nothing(postgres_url):
    upgrade(postgres_url)
    upgrade(postgres_url)
    assert schema_differences(postgres_url) == []


def test_foreign_keys_are_checked_when_a_batch_commits_not_row_by_row(postgres_url):
    """A line item may arrive before its product inside one transaction, but not dangle."""
    upgrade(postgres_url)
    line_item = (
        "INSERT INTO order_line_items (line_item_id, order_id, product_id, quantity, "
        "unit_price_cents, total_cents, created_at, updated_at) "
        "VALUES (1, 1, 1, 1, 900, 900, '2025-01-01Z', '2025-01-01Z')"
    )
    with psycopg.connect(postgres_url) as connection:
        connection.execute(line_item)
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            connection.commit()
    with psycopg.connect(postgres_url) as connection:
        connection.execute(line_item)  # first, then what it points at
        connection.execute(
            "INSERT INTO products VALUES (1, 'S', 'Mug', 'k', 900, 'USD', 1, '2025-01-01Z', "
            "'2025-01-01Z')"
        )
        connection.execute(
            "INSERT INTO customers (customer_id, visitor_id, email, first_name, signup_source, "
            "street, city, postal_code, orders_count, total_spent_cents, created_at, "
            "updated_at) VALUES (1, 1, 'a@b.c', 'A', 'web', '1 Main St', 'Town', '12345', 1, "
            "900, '2025-01-01Z', '2025-01-01Z')"
        )
        connection.execute(
            "INSERT INTO orders (order_id, customer_id, session_id, cart_id, status, currency, "
            "items_count, subtotal_cents, discount_cents, shipping_cents, tax_cents, total_cents, "
            "shipping_street, shipping_city, shipping_postal_code, placed_at, created_at, "
            "updated_at) VALUES (1, 1, 1, 1, 'placed', 'USD', 1, 900, 0, 0, 0, 900, '1 Main St', "
            "'Town', '12345', '2025-01-01Z', '2025-01-01Z', '2025-01-01Z')"
        )
        connection.execute(
            "INSERT INTO sessions (session_id, visitor_id, started_at, is_returning, channel, "
            "landing_page, page_views, order_id, created_at, updated_at) VALUES (1, 1, "
            "'2025-01-01Z', false, 'direct', 'landing', 1, 1, '2025-01-01Z', '2025-01-01Z')"
        )
        connection.execute(
            "INSERT INTO carts VALUES (1, 1, 1, 'converted', 1, 900, 1, '2025-01-01Z', "
            "'2025-01-01Z')"
        )
        connection.commit()
        assert connection.execute("SELECT count(*) FROM order_line_items").fetchone() == (1,)


def test_the_head_revision_constant_is_alembics_head():
    """HEAD_REVISION lets a current database skip Alembic; a new migration must move it."""
    assert head_revision() == HEAD_REVISION


def test_a_database_at_head_is_checked_without_importing_alembic(postgres_url):
    """The quick path: plain psycopg, no Alembic or SQLAlchemy (~0.3 s of imports)."""
    upgrade(postgres_url)
    probe = (
        "import sys\n"
        "from fauxsim.sinks.postgres.migrate import upgrade\n"
        f"upgrade({postgres_url!r})\n"
        "print(sorted(m for m in ('alembic', 'sqlalchemy') if m in sys.modules))\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
