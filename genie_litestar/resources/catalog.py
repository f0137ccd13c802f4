"""Resources built from the table specs: their wire structs, JSON Schema and paging keys.

Every table is served the same way (list with keyset paging, get by id), so one
description per table drives everything instead of eight hand-written controllers
that would drift from ``fauxsim.tables`` whenever a column is added.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import msgspec

from fauxsim.tables import ENTITY_TABLES, EVENTS, QUIRKS, ColumnType, TableSpec

# Litestar reads the nested "extra" into the OpenAPI schema; the JSON Schema endpoint
# is built from the table spec instead (see ``json_schema``).
Timestamp = Annotated[
    str,
    msgspec.Meta(extra_json_schema={"extra": {"format": "date-time"}}),
]

_WIRE_TYPES: dict[ColumnType, Any] = {
    ColumnType.BIGINT: int,
    ColumnType.INTEGER: int,
    ColumnType.DOUBLE: float,
    ColumnType.TEXT: str,
    ColumnType.BOOLEAN: bool,
    ColumnType.TIMESTAMP: Timestamp,
    # Documented as an object; served as the stored JSON text (msgspec.Raw), unparsed.
    ColumnType.JSON: dict[str, Any],
}

_JSON_SCHEMA_TYPES: dict[ColumnType, dict[str, str]] = {
    ColumnType.BIGINT: {"type": "integer"},
    ColumnType.INTEGER: {"type": "integer"},
    ColumnType.DOUBLE: {"type": "number"},
    ColumnType.TEXT: {"type": "string"},
    ColumnType.BOOLEAN: {"type": "boolean"},
    ColumnType.TIMESTAMP: {"type": "string", "format": "date-time"},
    ColumnType.JSON: {"type": "object"},
}


@dataclass(frozen=True, slots=True)
class Resource:
    """One table as the API serves it."""

    name: str
    spec: TableSpec
    # Lists page and filter on (paging_column, id_column). Events have no updated_at:
    # they never change, and page on received_at, the moment they reached the shop.
    paging_column: str
    row_struct: type[msgspec.Struct]
    page_struct: type[msgspec.Struct]

    @property
    def id_column(self) -> str:
        return self.spec.primary_key

    @property
    def scope(self) -> str:
        return f"read:{self.name}"


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _row_struct(spec: TableSpec) -> type[msgspec.Struct]:
    fields = []
    for column in spec.columns:
        wire_type = _WIRE_TYPES[column.type]
        fields.append((column.name, wire_type | None if column.nullable else wire_type))
    # gc=False: rows hold only scalars and raw JSON, so they cannot form cycles, and a
    # page of a thousand rows is not worth a garbage-collector pass.
    return msgspec.defstruct(_pascal(spec.name), fields, frozen=True, gc=False)


def _page_struct(spec: TableSpec, row_struct: type[msgspec.Struct]) -> type[msgspec.Struct]:
    return msgspec.defstruct(
        f"{_pascal(spec.name)}Page",
        [("data", list[row_struct]), ("has_more", bool), ("next_cursor", str | None)],  # type: ignore[valid-type]
        frozen=True,
    )


def _resource(spec: TableSpec) -> Resource:
    row_struct = _row_struct(spec)
    return Resource(
        name=spec.name,
        spec=spec,
        paging_column="received_at" if spec.append_only else "updated_at",
        row_struct=row_struct,
        page_struct=_page_struct(spec, row_struct),
    )


# The tables the issue names, plus cart_items and quirks (the record of injected
# data-quality traps, so a learner can check a pipeline against the truth). The runs
# ledger and API tokens are bookkeeping and stay unlisted.
SERVED_TABLES: tuple[TableSpec, ...] = (*ENTITY_TABLES, EVENTS, QUIRKS)
RESOURCES: dict[str, Resource] = {spec.name: _resource(spec) for spec in SERVED_TABLES}


def json_schema(resource: Resource) -> dict[str, Any]:
    """A JSON Schema (2020-12) of one record, with the paging keys as annotations."""
    properties: dict[str, Any] = {}
    for column in resource.spec.columns:
        schema: dict[str, Any] = dict(_JSON_SCHEMA_TYPES[column.type])
        if column.nullable:
            schema["type"] = [schema["type"], "null"]
        properties[column.name] = schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": resource.name,
        "type": "object",
        "properties": properties,
        "required": list(resource.spec.column_names),
        "additionalProperties": False,
        "x-primary-key": resource.id_column,
        "x-paging-field": resource.paging_column,
    }
