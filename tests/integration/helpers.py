"""Helpers for tests against Postgres: synthetic rows, table digests and counts."""

from __future__ import annotations

from typing import Any

import psycopg

from fauxsim.tables import ALL_TABLES


def event_row(event_id: int, at: int, **columns: Any) -> tuple[Any, ...]:
    """An events row (column order of ``fauxsim.tables.EVENTS``) received at ``at``."""
    values: dict[str, Any] = {
        "event_id": event_id,
        "event_type": "page_viewed",
        "occurred_at": at,
        "received_at": at,
        "session_id": None,
        "visitor_id": 7,
        "customer_id": None,
        "sequence": 1,
        "page": "landing",
        "product_id": None,
        "quantity": None,
        "order_id": None,
        "properties": {"referrer": "search"},
    }
    values.update(columns)
    return tuple(values.values())


def product_row(product_id: int, updated_at: int, **columns: Any) -> tuple[Any, ...]:
    """A products row (column order of ``fauxsim.tables.PRODUCTS``)."""
    values: dict[str, Any] = {
        "product_id": product_id,
        "sku": f"SKU-{product_id}",
        "name": f"Product {product_id}",
        "category": "kitchen",
        "price_cents": 1_000,
        "currency": "USD",
        "popularity": 1.0,
        "created_at": updated_at,
        "updated_at": updated_at,
    }
    values.update(columns)
    return tuple(values.values())


def table_digests(url: str) -> dict[str, str]:
    """An md5 of every data table's full contents, in key order."""
    digests = {}
    with psycopg.connect(url) as connection:
        for spec in ALL_TABLES:
            rows_in_key_order = f"string_agg(t::text, E'\\n' ORDER BY {spec.primary_key})"
            row = connection.execute(
                f"SELECT md5(coalesce({rows_in_key_order}, '')) FROM {spec.name} AS t"  # noqa: S608
            ).fetchone()
            digests[spec.name] = str(row[0]) if row else ""
    return digests


def table_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as connection:
        return {
            spec.name: int(connection.execute(f"SELECT count(*) FROM {spec.name}").fetchone()[0])  # type: ignore[index]  # noqa: S608
            for spec in ALL_TABLES
        }


def read_table(url: str, table: str) -> list[tuple[Any, ...]]:
    """Every row of ``table`` in key order, timestamps as datetimes."""
    spec = next(spec for spec in ALL_TABLES if spec.name == table)
    with psycopg.connect(url) as connection:
        columns = ", ".join(spec.column_names)
        return connection.execute(
            f"SELECT {columns} FROM {table} ORDER BY {spec.primary_key}"  # noqa: S608
        ).fetchall()
