"""The tables every sink writes: names, columns, types and keys, in one place.

File sinks, the Postgres schema and the API all read these specs, so a column added
here appears everywhere. Rows travel as tuples in column order; timestamps are integer
microseconds since the epoch (``fauxsim.clock``) until a sink converts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from fauxsim.events import EVENT_COLUMNS

if TYPE_CHECKING:
    from collections.abc import Sequence


class ColumnType(StrEnum):
    BIGINT = "bigint"
    INTEGER = "integer"
    DOUBLE = "double"
    TEXT = "text"
    BOOLEAN = "boolean"
    TIMESTAMP = "timestamp"  # integer microseconds in rows; timestamptz in databases
    JSON = "json"  # a dict (or None) in rows; jsonb in Postgres, text in CSV


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: ColumnType
    nullable: bool = False


@dataclass(frozen=True, slots=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    primary_key: str
    # Rows of an append-only table never change once written (only ``events``).
    append_only: bool = False

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    def check_widths(self, rows: Sequence[Sequence[object]]) -> None:
        """Refuse rows with a missing or extra value (a bug upstream)."""
        widths = set(map(len, rows))  # C speed: no Python loop per row
        if not widths <= {len(self.columns)}:
            found = ", ".join(map(str, sorted(widths)))
            msg = f"{self.name} rows must have {len(self.columns)} values; got rows of {found}"
            raise ValueError(msg)


_B, _I, _F, _T, _BOOL, _TS, _J = (
    ColumnType.BIGINT,
    ColumnType.INTEGER,
    ColumnType.DOUBLE,
    ColumnType.TEXT,
    ColumnType.BOOLEAN,
    ColumnType.TIMESTAMP,
    ColumnType.JSON,
)


def _table(name: str, *columns: tuple[str, ColumnType] | tuple[str, ColumnType, bool]) -> TableSpec:
    built = tuple(Column(*column) for column in columns)
    return TableSpec(name=name, columns=built, primary_key=built[0].name)


_STAMPS = (("created_at", _TS), ("updated_at", _TS))

PRODUCTS = _table(
    "products",
    ("product_id", _B),
    ("sku", _T),
    ("name", _T),
    ("category", _T),
    ("price_cents", _B),
    ("currency", _T),
    ("popularity", _F),
    *_STAMPS,
)

CUSTOMERS = _table(
    "customers",
    ("customer_id", _B),
    ("visitor_id", _B),
    ("email", _T),
    ("first_name", _T),
    ("last_name", _T, True),
    ("country", _T, True),
    ("signup_source", _T),
    ("orders_count", _I),
    ("total_spent_cents", _B),
    ("last_login_at", _TS, True),
    *_STAMPS,
)

SESSIONS = _table(
    "sessions",
    ("session_id", _B),
    ("visitor_id", _B),
    ("customer_id", _B, True),
    ("started_at", _TS),
    ("ended_at", _TS, True),
    ("is_returning", _BOOL),
    ("channel", _T),
    ("utm_source", _T, True),
    ("utm_medium", _T, True),
    ("utm_campaign", _T, True),
    ("device", _T, True),
    ("browser", _T, True),
    ("country", _T, True),
    ("landing_page", _T),
    ("page_views", _I),
    ("order_id", _B, True),
    *_STAMPS,
)

CARTS = _table(
    "carts",
    ("cart_id", _B),
    ("visitor_id", _B),
    ("customer_id", _B, True),
    ("status", _T),
    ("items_count", _I),
    ("subtotal_cents", _B),
    ("order_id", _B, True),
    *_STAMPS,
)

CART_ITEMS = _table(
    "cart_items",
    ("cart_item_id", _B),
    ("cart_id", _B),
    ("product_id", _B),
    ("quantity", _I),
    ("unit_price_cents", _B),
    ("removed", _BOOL),
    *_STAMPS,
)

ORDERS = _table(
    "orders",
    ("order_id", _B),
    ("customer_id", _B),
    ("session_id", _B),
    ("cart_id", _B),
    ("status", _T),
    ("currency", _T),
    ("items_count", _I),
    ("subtotal_cents", _B),
    ("discount_cents", _B),
    ("shipping_cents", _B),
    ("tax_cents", _B),
    ("total_cents", _B),
    ("coupon_code", _T, True),
    ("placed_at", _TS),
    ("paid_at", _TS, True),
    ("shipped_at", _TS, True),
    ("delivered_at", _TS, True),
    ("cancelled_at", _TS, True),
    ("returned_at", _TS, True),
    ("refunded_at", _TS, True),
    *_STAMPS,
)

ORDER_LINE_ITEMS = _table(
    "order_line_items",
    ("line_item_id", _B),
    ("order_id", _B),
    ("product_id", _B),
    ("quantity", _I),
    ("unit_price_cents", _B),
    ("total_cents", _B),
    *_STAMPS,
)

_EVENT_TYPES: dict[str, tuple[ColumnType, bool]] = {
    "event_id": (_B, False),
    "event_type": (_T, False),
    "occurred_at": (_TS, False),
    "received_at": (_TS, False),
    "session_id": (_B, True),
    "visitor_id": (_B, True),
    "customer_id": (_B, True),
    "sequence": (_I, True),
    "page": (_T, True),
    "product_id": (_B, True),
    "quantity": (_I, True),
    "order_id": (_B, True),
    "properties": (_J, True),
}

# Events are append-only; their ``updated_at`` for API paging is ``received_at``.
EVENTS = TableSpec(
    name="events",
    columns=tuple(Column(name, *_EVENT_TYPES[name]) for name in EVENT_COLUMNS),
    primary_key="event_id",
    append_only=True,
)

# One row per injected data-quality trap (see fauxsim.quirks): the truth to check against.
QUIRKS = _table(
    "quirks",
    ("quirk_id", _B),
    ("quirk", _T),
    ("event_id", _B),
    ("column_name", _T, True),
    ("detail", _J, True),
    *_STAMPS,
)

ENTITY_TABLES: tuple[TableSpec, ...] = (
    PRODUCTS,
    CUSTOMERS,
    SESSIONS,
    CARTS,
    CART_ITEMS,
    ORDERS,
    ORDER_LINE_ITEMS,
)
ALL_TABLES: tuple[TableSpec, ...] = (*ENTITY_TABLES, EVENTS, QUIRKS)
TABLES_BY_NAME: dict[str, TableSpec] = {table.name: table for table in ALL_TABLES}
