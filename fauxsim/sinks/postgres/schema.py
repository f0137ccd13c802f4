"""SQLAlchemy metadata for every table of ``fauxsim.tables``.

Built from the shared table specs so that files, Postgres and the API never disagree
about a column. Every table an API client pages over gets an index on
``(updated_at, id)``; events page on ``(received_at, event_id)``.

Foreign keys join the entity tables the way a learner would join them. They are
``DEFERRABLE INITIALLY DEFERRED``: a batch is checked as a whole when it commits, so
rows may arrive in any order within it and orders and sessions may point at each
other. ``events`` has none on purpose: it is the raw stream an analytics collector
receives (late and duplicated on request), which never rejects an event because a row
elsewhere is missing; it is also the largest table, where every check costs.

The schema is created and upgraded by the Alembic migrations beside this module
(``fauxsim.sinks.postgres.migrate``), never by ``metadata.create_all``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Double,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeEngine  # noqa: TC002 - used at run time in the map

from fauxsim.tables import ALL_TABLES, TABLES_BY_NAME, ColumnType, TableSpec

_SQL_TYPES: dict[ColumnType, TypeEngine[Any] | type[TypeEngine[Any]]] = {
    ColumnType.BIGINT: BigInteger,
    ColumnType.INTEGER: Integer,
    ColumnType.DOUBLE: Double,
    ColumnType.TEXT: Text,
    ColumnType.BOOLEAN: Boolean,
    ColumnType.TIMESTAMP: DateTime(timezone=True),
    ColumnType.JSON: JSONB,
}

# Constraint names are spelled out so that migrations can refer to them.
metadata = MetaData(
    naming_convention={
        "pk": "pk_%(table_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "ix": "ix_%(table_name)s_%(column_0_name)s",
    }
)

# (table, column) -> referenced table; the referenced column is that table's key.
FOREIGN_KEYS: dict[tuple[str, str], str] = {
    ("sessions", "customer_id"): "customers",
    ("sessions", "order_id"): "orders",
    ("carts", "customer_id"): "customers",
    ("carts", "order_id"): "orders",
    ("cart_items", "cart_id"): "carts",
    ("cart_items", "product_id"): "products",
    ("orders", "customer_id"): "customers",
    ("orders", "session_id"): "sessions",
    ("orders", "cart_id"): "carts",
    ("order_line_items", "order_id"): "orders",
    ("order_line_items", "product_id"): "products",
}


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


def _add_foreign_keys() -> None:
    for (table_name, column), target in FOREIGN_KEYS.items():
        target_key = TABLES_BY_NAME[target].primary_key
        TABLES[table_name].append_constraint(
            ForeignKeyConstraint(
                [column],
                [f"{target}.{target_key}"],
                deferrable=True,
                initially="DEFERRED",
                # Added after every table exists: orders and sessions refer to each other.
                use_alter=True,
            )
        )


_add_foreign_keys()

RUN_STATUSES = ("running", "complete", "interrupted")

# The ledger: one row per `fauxsim run` into this database. All rows describe the same
# dataset (scenario digest and seed); the highest committed watermark is where the
# next run resumes. Wall-clock columns are bookkeeping, never part of the data.
runs = Table(
    "runs",
    metadata,
    Column("run_id", BigInteger, Identity(always=True), primary_key=True),
    Column("scenario_name", Text, nullable=False),
    Column("scenario_digest", Text, nullable=False),
    Column("seed", BigInteger, nullable=False),
    Column("code_version", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("until_at", DateTime(timezone=True), nullable=True),  # requested end, if any
    Column("watermark", DateTime(timezone=True), nullable=True),  # all before it is committed
    Column("batches", BigInteger, nullable=False, server_default="0"),
    Column("rows_written", BigInteger, nullable=False, server_default="0"),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The shard this run loads, of how many (a dataset of one shard: 0 of 1).
    Column("shard", Integer, nullable=False, server_default="0"),
    Column("shards", Integer, nullable=False, server_default="1"),
    CheckConstraint(
        "status IN ({})".format(", ".join(f"'{status}'" for status in RUN_STATUSES)),
        name="status",
    ),
)

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

# Secrets Genie keeps beside the data: the key that signs page cursors, made once per
# database, so that every worker shares it and cursors survive a restart.
genie_secrets = Table(
    "genie_secrets",
    metadata,
    Column("name", Text, primary_key=True),
    Column("secret", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
