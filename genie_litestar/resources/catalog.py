"""Resources built from the table specs: their wire structs, JSON Schema and paging keys.

Every table is served the same way (list with keyset paging, get by id), so one
description per table drives everything instead of eight hand-written controllers
that would drift from ``fauxsim.tables`` whenever a column is added.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import msgspec

from fauxsim.tables import ENTITY_TABLES, EVENTS, QUIRKS, Column, ColumnType, TableSpec

_WIRE_TYPES: dict[ColumnType, Any] = {
    ColumnType.BIGINT: int,
    ColumnType.INTEGER: int,
    ColumnType.DOUBLE: float,
    ColumnType.TEXT: str,
    ColumnType.BOOLEAN: bool,
    ColumnType.TIMESTAMP: str,  # RFC 3339 text (format date-time, see _wire_type)
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


def _enum(column: Column) -> list[str | None]:
    """A closed set's values, with null where the column may be null (else null fails it)."""
    return [*column.values, *([None] if column.nullable else [])]


def _wire_type(column: Column) -> Any:  # noqa: ANN401 - a type annotation built at runtime
    """The column's type for msgspec, with its description (and format, enum) for OpenAPI.

    Litestar reads the nested "extra" of ``extra_json_schema`` into the OpenAPI schema.
    """
    extra: dict[str, Any] = {}
    if column.type is ColumnType.TIMESTAMP:
        extra["format"] = "date-time"
    if column.values:
        extra["enum"] = _enum(column)
    meta = msgspec.Meta(
        description=column.description, extra_json_schema={"extra": extra} if extra else None
    )
    base = _WIRE_TYPES[column.type]
    described = Annotated[base, meta]  # type: ignore[valid-type]  # built at runtime
    return described | None if column.nullable else described


def _row_struct(spec: TableSpec) -> type[msgspec.Struct]:
    fields = [(column.name, _wire_type(column)) for column in spec.columns]
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
        if column.values:
            schema["enum"] = _enum(column)
        properties[column.name] = {**schema, "description": column.description}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": resource.name,
        "description": resource.spec.description,
        "type": "object",
        "properties": properties,
        "required": list(resource.spec.column_names),
        "additionalProperties": False,
        "x-primary-key": resource.id_column,
        "x-paging-field": resource.paging_column,
    }
