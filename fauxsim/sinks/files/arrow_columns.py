"""Rows to typed Arrow columns, for the Parquet and CSV sinks (and timestamp text for JSONL).

Rows arrive as tuples; Arrow wants columns. Two ways, with the same result for the values
rows hold (ints, floats, bools, text, JSON-able dicts, None; see ``_rows_to_arrow.c``):

- compiled: ``_rows_to_arrow`` (C, built at install) reads each row once and fills every
  column's Arrow buffers; about three times faster than
- in Python: each column of a chunk gathered in C (``map(itemgetter(i), rows)``) and
  converted by one ``pa.array(column, type=...)``.

:class:`ArrowChunk` is how the Parquet and CSV writers use them: rows are added as batches
bring them (compiled: converted at once) and come out as one record batch per chunk.

The compiled one is used where the extension was built (:data:`COMPILED`); an install
without a C compiler falls back to Python, and a test holds the two equal. Timestamps
stay integers all the way: they are reinterpreted as Arrow timestamps, never turned into
``datetime`` objects.
"""

from __future__ import annotations

from functools import cache, partial
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa

from fauxsim.tables import ColumnType

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from fauxsim.sinks.base import Row
    from fauxsim.sinks.files import _rows_to_arrow
    from fauxsim.sinks.files._rows_to_arrow import Gathered
    from fauxsim.tables import Column, TableSpec

gather: Callable[..., list[Gathered]] | None
ColumnBuilder: type[_rows_to_arrow.ColumnBuilder] | None
try:
    from fauxsim.sinks.files._rows_to_arrow import ColumnBuilder, gather
except ImportError:  # installed without a C compiler: rows convert in Python
    gather = ColumnBuilder = None

COMPILED = gather is not None


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


def timestamp_texts(micros: Sequence[int | None] | pa.Int64Array) -> pa.StringArray:
    """Microseconds since the epoch as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``; None stays null.

    Same text as ``fauxsim.clock.to_rfc3339``, computed in C for a whole column.
    """
    # Imported on first use: loading the compute kernels costs ~9 MB of resident memory,
    # which the Parquet sink (no timestamp text) does not need to pay.
    import pyarrow.compute as pc  # noqa: PLC0415

    # Arrow prints microsecond timestamps as "YYYY-MM-DD HH:MM:SS.ffffff", always six digits.
    if not isinstance(micros, pa.Array):
        micros = pa.array(micros, pa.int64(), memory_pool=POOL)
    spaced = micros.view(_PLAIN_MICROS)
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
    """A non-empty list of ``spec`` rows (each of the table's width) as a record batch: one
    :class:`ArrowChunk` of them, converted by whichever converter this install has.

    Raises ValueError when a non-nullable column holds None: a bug upstream, which
    Parquet would otherwise store silently.
    """
    chunk = ArrowChunk(spec, schema, len(rows))
    chunk.add(list(rows), 0, len(rows))  # a copy: the chunk lets go of each row it reads
    return chunk.record_batch()


class ArrowChunk:
    """One table's rows on their way to a record batch, ``capacity`` rows at most.

    Compiled, each :meth:`add` converts its rows into the chunk's column buffers at once
    and lets go of them: the rows a batch leaves for the next chunk are no longer kept as
    Python rows, copied and read back cold when the chunk fills (6% of an event's cache
    misses, see benchmarks/README.md). In Python the chunk keeps the rows and converts
    them in :meth:`record_batch`.
    """

    def __init__(self, spec: TableSpec, schema: pa.Schema, capacity: int) -> None:
        self._spec, self._schema = spec, schema
        self._builder = None
        self._rows: list[Row] = []
        if COMPILED and ColumnBuilder is not None:
            self._builder = ColumnBuilder(_kinds(spec), capacity, _allocate, orjson.dumps)
        self.capacity = capacity

    @property
    def filled(self) -> int:
        """Rows added since the last record batch."""
        return len(self._rows) if self._builder is None else self._builder.filled

    def add(self, rows: list[Row], start: int, stop: int) -> None:
        """Add ``rows[start:stop]``, which the chunk has room for, each replaced with None
        in ``rows`` once read (compiled).

        Raises ValueError if a row has a missing or extra value, TypeError or OverflowError
        for a value its column cannot hold; the chunk is unusable afterwards (compiled).
        """
        room = self.capacity - self.filled
        if stop - start > room:
            msg = f"{stop - start} rows do not fit: the chunk has room for {room}"
            raise ValueError(msg)
        if self._builder is not None:
            self._builder.append(rows, start, stop, True)
            return
        window = rows[start:stop]
        self._spec.check_widths(window)
        self._rows.extend(window)

    def record_batch(self) -> pa.RecordBatch:
        """The rows added so far (at least one) as a record batch; the chunk is empty again.

        Raises ValueError when a non-nullable column holds None (see :func:`record_batch`).
        """
        if self._builder is None:
            rows, self._rows = self._rows, []
            arrays = python_arrays(self._spec, rows, self._schema)
            return _checked_batch(self._spec, arrays, self._schema)
        count = self._builder.filled
        gathered = self._builder.finish()
        return _checked_batch(
            self._spec, _arrays(self._spec, self._schema, gathered, count), self._schema
        )


class ArrowChunkWriter:
    """The part of a ``TableWriter`` (``table_files``) that gathers its chunk as an
    :class:`ArrowChunk` (``self._chunk``), for the Parquet and CSV writers."""

    _chunk: ArrowChunk

    @property
    def pending_rows(self) -> int:
        return self._chunk.filled

    def add(self, rows: list[Row], start: int, stop: int) -> None:
        self._chunk.add(rows, start, stop)


def _checked_batch(spec: TableSpec, arrays: list[pa.Array], schema: pa.Schema) -> pa.RecordBatch:
    for column, array in zip(spec.columns, arrays, strict=True):
        if array.null_count and not column.nullable:
            msg = f"{spec.name}.{column.name} is not nullable, but a row holds None"
            raise ValueError(msg)
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


# What the compiled gatherer calls each column type (see _rows_to_arrow.c).
_KINDS = {
    ColumnType.BIGINT: "q",
    ColumnType.TIMESTAMP: "q",
    ColumnType.INTEGER: "i",
    ColumnType.DOUBLE: "d",
    ColumnType.BOOLEAN: "b",
    ColumnType.TEXT: "s",
    ColumnType.JSON: "j",
}
# Resizable: the compiled converter grows each text column's buffer in place.
_allocate = partial(pa.allocate_buffer, memory_pool=POOL, resizable=True)


@cache
def _kinds(spec: TableSpec) -> str:
    return "".join(_KINDS[column.type] for column in spec.columns)


def compiled_arrays(
    spec: TableSpec,
    rows: Sequence[Row],
    schema: pa.Schema,
    start: int = 0,
    stop: int | None = None,
) -> list[pa.Array]:
    """The columns of ``rows[start:stop]`` by the compiled gatherer, which reads each row
    once (``ArrowChunk`` is what the writers use; this is the one-call form)."""
    if gather is None:
        msg = "the compiled row converter was not built in this install"
        raise RuntimeError(msg)
    listed = rows if type(rows) is list else list(rows)
    stop = len(listed) if stop is None else min(stop, len(listed))
    gathered = gather(listed, _kinds(spec), _allocate, orjson.dumps, start, stop)
    return _arrays(spec, schema, gathered, stop - start)


def _arrays(
    spec: TableSpec, schema: pa.Schema, gathered: list[Gathered], count: int
) -> list[pa.Array]:
    """Arrow arrays of ``count`` rows from the compiled converter's buffers."""
    arrays = []
    for column, field, (buffers, nulls) in zip(spec.columns, schema, gathered, strict=True):
        if column.type is ColumnType.TIMESTAMP and field.type == pa.string():  # CSV
            micros = pa.Array.from_buffers(pa.int64(), count, list(buffers), null_count=nulls)
            arrays.append(timestamp_texts(micros))
        else:
            arrays.append(pa.Array.from_buffers(field.type, count, list(buffers), null_count=nulls))
    return arrays


def python_arrays(spec: TableSpec, rows: Sequence[Row], schema: pa.Schema) -> list[pa.Array]:
    """The columns of ``rows`` by ``pa.array``, one column at a time."""
    spec.check_widths(rows)
    # One column at a time rather than ``zip(*rows)``: zip makes one iterator object per
    # row, and so many live objects set off full garbage collections (3x slower here).
    return [
        _to_array(column, list(map(itemgetter(position), rows)), field.type)
        for position, (column, field) in enumerate(zip(spec.columns, schema, strict=True))
    ]


def _to_array(column: Column, values: Sequence[Any], arrow_type: pa.DataType) -> pa.Array:
    if column.type is ColumnType.JSON:
        return json_texts(values)
    if column.type is ColumnType.TIMESTAMP:
        if arrow_type == pa.string():
            return timestamp_texts(values)
        return pa.array(values, pa.int64(), memory_pool=POOL).view(arrow_type)
    return pa.array(values, arrow_type, memory_pool=POOL)
