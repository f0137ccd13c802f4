"""The data dictionary as Markdown: every table, column, closed set of values and event type.

Made from ``fauxsim/tables.py`` and ``fauxsim/event_shapes.py``. ``fauxsim tables``
prints it; ``docs/tables.md`` is its text for the whole dataset (a test keeps it fresh).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fauxsim.event_shapes import EVENT_SHAPES, EventShape, Property
from fauxsim.tables import ALL_TABLES, EVENTS, Column, TableSpec

if TYPE_CHECKING:
    from collections.abc import Sequence

REGENERATE = "fauxsim tables > docs/tables.md"

_INTRO = f"""\
# Tables

The dataset's tables, their columns, the values of their statuses and the events they are
folded from. Generated from `fauxsim/tables.py` and `fauxsim/event_shapes.py`: do not edit
by hand; run `{REGENERATE}` (a test fails when this file is stale).
`fauxsim tables orders` prints one table.

- Entity tables change: in Postgres and the API a row is its latest state; in files (JSONL,
  CSV, Parquet) each change is appended, and the row with the latest `updated_at` per id is
  the current one. `events` never change.
- Ids are integers counted from 1. Money is in integer cents of the row's currency
  (`*_cents`).
- Types: `bigint` and `integer` are whole numbers; `double` a float; `timestamp` a UTC
  moment with microseconds (`timestamptz` in Postgres, text such as
  `2024-11-29T08:15:00.000000Z` in JSONL and CSV, `timestamp[us, UTC]` in Parquet);
  `json` an object (`jsonb` in Postgres, JSON text in CSV and Parquet).
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _column_row(spec: TableSpec, column: Column) -> str:
    description = column.description
    if column.name == spec.primary_key:
        description = f"Primary key. {description}"
    if column.values:
        description += " Values: " + ", ".join(f"`{value}`" for value in column.values) + "."
    null = "yes" if column.nullable else "no"
    return f"| `{column.name}` | {column.type.value} | {null} | {_cell(description)} |"


def table_markdown(spec: TableSpec) -> str:
    """One table's section: what it holds, then one line per column."""
    lines = [
        f"## {spec.name}",
        "",
        spec.description,
        "",
        "| column | type | null | description |",
        "| --- | --- | --- | --- |",
        *(_column_row(spec, column) for column in spec.columns),
        "",
    ]
    if spec is EVENTS:
        lines.append(event_types_markdown())
    return "\n".join(lines)


def _property_row(prop: Property) -> str:
    kind = prop.type + (" or null" if prop.nullable else "")
    kind += ", sometimes absent" if prop.optional else ""
    return f"| `{prop.name}` | {kind} | {_cell(prop.description)} |"


def _event_type_section(name: str, shape: EventShape) -> list[str]:
    columns = ", ".join(f"`{column}`" for column in shape.columns) or "none"
    lines = [f"#### `{name}`", "", shape.description, "", f"Columns: {columns}.", ""]
    if not shape.properties:
        return [*lines, "Properties: null.", ""]
    return [
        *lines,
        "| property | type | description |",
        "| --- | --- | --- |",
        *(_property_row(prop) for prop in shape.properties),
        "",
    ]


def event_types_markdown() -> str:
    """Every event type: what it means, the columns it fills and its properties."""
    lines = [
        "### Event types",
        "",
        "Besides `event_id`, `event_type`, `occurred_at` and `received_at`, which every event",
        "has, each fills the columns listed (`customer_id` once the visitor is known), and",
        "its `properties` hold the keys shown.",
        "",
    ]
    for kind, shape in EVENT_SHAPES.items():
        lines += _event_type_section(kind.value, shape)
    return "\n".join(lines)


def dictionary_markdown(tables: Sequence[TableSpec] = ALL_TABLES) -> str:
    """The whole dictionary (or the sections of ``tables``) as Markdown text."""
    sections = [_INTRO] if tables == ALL_TABLES else []
    sections += [table_markdown(spec) for spec in tables]
    return "\n".join(sections)
