"""Rows to typed Arrow columns, for the Parquet and CSV sinks (and timestamp text for JSONL).

Rows arrive as tuples; Arrow wants columns. Each column of a chunk is gathered in C
(``map(itemgetter(i), rows)``) and converted by one ``pa.array(column, type=...)``, many
times faster than touching values one by one in Python. Timestamps stay integers all the
way: they are reinterpreted as Arrow timestamps, never turned into ``datetime`` objects.
"""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa

from fauxsim.tables import ColumnType

if TYPE_CHECKING:
    from collections.abc import Sequence

    from fauxsim.sinks.base import Row
    from fauxsim.tables import Column, TableSpec


def _file_pool() -> pa.MemoryPool:
    """The memory pool file sinks allocate their Arrow buffers from: jemalloc if built in.

    pyarrow's default on Linux, mimalloc, kept freed row-group buffers resident: a
    5.9-million-event run to Parquet peaked 30 MB higher with it (same bytes written).
    """
    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:  # a pyarrow build without jemalloc (Windows wheels)
        return pa.default_memory_pool()


POOL = _file_pool()
UTC_MICROS = pa.timestamp("us", tz="UTC")
# Casting a zone-less timestamp to text skips the time-zone database: several times faster.
_PLAIN_MICROS = pa.timestamp("us")

_ARROW_TYPES: dict[ColumnType, pa.DataType] = {
    ColumnType.BIGINT: pa.int64(),
    ColumnType.INTEGER: pa.int32(),
    ColumnType.DOUBLE: pa.float64(),
    ColumnType.TEXT: pa.string(),
    ColumnType.BOOLEAN: pa.bool_(),
    ColumnType.TIMESTAMP: UTC_MICROS,
    ColumnType.JSON: pa.string(),
}


def arrow_schema(spec: TableSpec, *, timestamps_as_text: bool = False) -> pa.Schema:
    """The Arrow schema of a table; nullability follows the spec."""
    fields = []
    for column in spec.columns:
        arrow_type = _ARROW_TYPES[column.type]
        if timestamps_as_text and column.type is ColumnType.TIMESTAMP:
            arrow_type = pa.string()
        fields.append(pa.field(column.name, arrow_type, nullable=column.nullable))
    return pa.schema(fields)


def timestamp_texts(micros: Sequence[int | None]) -> pa.StringArray:
    """Microseconds since the epoch as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``; None stays null.

    Same text as ``fauxsim.clock.to_rfc3339``, computed in C for a whole column.
    """
    # Imported on first use: loading the compute kernels costs ~9 MB of resident memory,
    # which the Parquet sink (no timestamp text) does not need to pay.
    import pyarrow.compute as pc  # noqa: PLC0415

    # Arrow prints microsecond timestamps as "YYYY-MM-DD HH:MM:SS.ffffff", always six digits.
    spaced = pa.array(micros, pa.int64(), memory_pool=POOL).view(_PLAIN_MICROS)
    as_text = pc.cast(spaced, pa.string(), memory_pool=POOL)
    with_t = pc.utf8_replace_slice(as_text, start=10, stop=11, replacement="T", memory_pool=POOL)
    joined: pa.StringArray = pc.binary_join_element_wise(with_t, "Z", "", memory_pool=POOL)
    return joined


def json_texts(values: Sequence[Any]) -> pa.StringArray:
    """Dicts (or None) as compact JSON text."""
    dumps = orjson.dumps
    # Decoded at once: holding many of orjson's bytes objects grows and fragments the
    # C heap (measured: 5x the time, most of it page faults); a str copy is right-sized.
    texts: pa.StringArray = pa.array(
        [None if value is None else dumps(value).decode() for value in values],
        pa.string(),
        memory_pool=POOL,
    )
    return texts


def record_batch(spec: TableSpec, rows: Sequence[Row], schema: pa.Schema) -> pa.RecordBatch:
    """A non-empty chunk of ``spec`` rows (each of the table's width) as a record batch.

    Raises ValueError when a non-nullable column holds None: a bug upstream, which
    Parquet would otherwise store silently.
    """
    # One column at a time rather than ``zip(*rows)``: zip makes one iterator object per
    # row, and so many live objects set off full garbage collections (3x slower here).
    arrays = [
        _to_array(column, list(map(itemgetter(position), rows)), field.type)
        for position, (column, field) in enumerate(zip(spec.columns, schema, strict=True))
    ]
    for column, array in zip(spec.columns, arrays, strict=True):
        if array.null_count and not column.nullable:
            msg = f"{spec.name}.{column.name} is not nullable, but a row holds None"
            raise ValueError(msg)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _to_array(column: Column, values: Sequence[Any], arrow_type: pa.DataType) -> pa.Array:
    if column.type is ColumnType.JSON:
        return json_texts(values)
    if column.type is ColumnType.TIMESTAMP:
        if arrow_type == pa.string():
            return timestamp_texts(values)
        return pa.array(values, pa.int64(), memory_pool=POOL).view(arrow_type)
    return pa.array(values, arrow_type, memory_pool=POOL)
