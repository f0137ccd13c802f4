"""SQLAlchemy metadata for every table of ``fauxsim.tables``.

Built from the shared table specs so that files, Postgres and the API never disagree
about a column. Every table an API client pages over gets an index on
``(updated_at, id)``; events page on ``(received_at, event_id)``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine  # noqa: TC002 - used at run time in the map

from fauxsim.tables import ALL_TABLES, ColumnType, TableSpec

_SQL_TYPES: dict[ColumnType, TypeEngine[Any] | type[TypeEngine[Any]]] = {
    ColumnType.BIGINT: BigInteger,
    ColumnType.INTEGER: Integer,
    ColumnType.DOUBLE: Double,
    ColumnType.TEXT: Text,
    ColumnType.BOOLEAN: Boolean,
    ColumnType.TIMESTAMP: DateTime(timezone=True),
    ColumnType.JSON: JSONB,
}

metadata = MetaData()


def _paging_column(spec: TableSpec) -> str:
    return "received_at" if spec.append_only else "updated_at"


def _define(spec: TableSpec) -> Table:
    columns = [
        Column(
            column.name,
            _SQL_TYPES[column.type],
            primary_key=column.name == spec.primary_key,
            nullable=column.nullable,
            autoincrement=False,
        )
        for column in spec.columns
    ]
    table = Table(spec.name, metadata, *columns)
    Index(
        f"ix_{spec.name}_paging",
        table.c[_paging_column(spec)],
        table.c[spec.primary_key],
    )
    return table


TABLES: dict[str, Table] = {spec.name: _define(spec) for spec in ALL_TABLES}

# Genie's API tokens live beside the data so that `fauxsim token create` and
# `fauxsim serve` share them. Only a hash of each secret is stored.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_id", Text, primary_key=True),  # the public, non-secret part of the token
    Column("name", Text, nullable=False),
    Column("secret_hash", Text, nullable=False, unique=True),
    Column("scopes", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
)
