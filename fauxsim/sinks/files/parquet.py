"""Parquet: one file per table, typed from the table spec, zstd-compressed.

Row groups hold a fixed number of rows (the last one the remainder), never one group
per batch: the bytes of a file depend only on its rows, not on how they were batched,
and readers get groups large enough to scan fast. At most one row group per table
waits in memory, as Arrow columns.
"""

from __future__ import annotations

from contextlib import suppress
from functools import partial
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from fauxsim.sinks.files.arrow_columns import POOL, ArrowChunk, ArrowChunkWriter, arrow_schema
from fauxsim.sinks.files.table_files import CHUNK_ROWS, TableFilesSink
from fauxsim.tables import ColumnType

if TYPE_CHECKING:
    from pathlib import Path

    from fauxsim.tables import TableSpec

# 32 Ki rows: up to one row group per table waits in memory as Arrow columns. A
# 5.0-million-event run peaked at 271 MB with 32 Ki and 296 MB with 64 Ki, at the same
# speed and file size (a 5.9M-event run: 128 Ki peaked ~35 MB above 64 Ki); readers
# still get large groups.
ROW_GROUP_ROWS = 32 * 1024
COMPRESSION = "zstd"
_INTEGERS = (ColumnType.BIGINT, ColumnType.INTEGER, ColumnType.TIMESTAMP)


def writer_options(spec: TableSpec) -> dict[str, Any]:
    """How each column of ``spec`` is encoded, compressed and described."""
    labels = [column.name for column in spec.columns if column.type is ColumnType.TEXT]
    integers = [column.name for column in spec.columns if column.type in _INTEGERS]
    return {
        "compression": COMPRESSION,
        # Dictionary encoding pays for repeated labels (event types, statuses, pages); on
        # ids, timestamps and JSON it measured both slower and larger than zstd alone.
        "use_dictionary": labels,
        # Ids and times rise through a file and counts are small: stored as deltas, they
        # leave zstd less to do. Against PLAIN, writing black_friday's tables took 21%
        # fewer instructions and the files came out 6% smaller; every Parquet reader
        # (pyarrow, DuckDB, Spark, polars) decodes it.
        "column_encoding": dict.fromkeys(integers, "DELTA_BINARY_PACKED"),
        # Min/max statistics help readers skip row groups by id or time. Of labels, JSON,
        # flags and amounts they help no one (every row group holds every event type),
        # and computing them took a tenth of the writing.
        "write_statistics": integers,
    }


class ParquetTableWriter(ArrowChunkWriter):
    def __init__(
        self, spec: TableSpec, path: Path, chunk_rows: int = CHUNK_ROWS, *, row_group_rows: int
    ) -> None:
        if row_group_rows < 1:
            msg = f"row_group_rows must be positive, got {row_group_rows}"
            raise ValueError(msg)
        self._row_group_rows = row_group_rows
        self._schema = arrow_schema(spec)
        self._chunk = ArrowChunk(spec, self._schema, chunk_rows)
        self._grouping: list[pa.RecordBatch] = []  # written chunks, until a row group is full
        self.grouping_rows = 0
        self._file = pa.OSFile(str(path), "wb")
        try:
            self._writer = pq.ParquetWriter(
                self._file, self._schema, memory_pool=POOL, **writer_options(spec)
            )
        except BaseException:
            self._file.close()
            raise

    def write_chunk(self) -> None:
        batch = self._chunk.record_batch()
        self._grouping.append(batch)
        self.grouping_rows += batch.num_rows
        while self.grouping_rows >= self._row_group_rows:
            self._write_row_group(self._row_group_rows)

    def close(self) -> None:
        if self.grouping_rows:
            self._write_row_group(self.grouping_rows)
        self._writer.close()
        self._file.close()

    def discard(self) -> None:
        self._grouping.clear()
        with suppress(OSError, pa.ArrowException):
            self._writer.close()
        with suppress(OSError, pa.ArrowException):
            self._file.close()

    def _write_row_group(self, size: int) -> None:
        grouping = pa.Table.from_batches(self._grouping, schema=self._schema)
        # Written as the chunks it holds, not combined into one array per column: the
        # copy cost a whole row group of memory. The chunks cannot vary from run to run
        # (chunk k of a table always holds the same rows, see table_files), and
        # test_chunk_size_does_not_change_the_bytes fails if Arrow ever cuts pages by chunk.
        self._writer.write_table(grouping.slice(0, size), row_group_size=size)
        rest = grouping.slice(size)
        self._grouping = rest.to_batches()
        self.grouping_rows = rest.num_rows


def open_parquet(
    out: Path, *, chunk_rows: int = CHUNK_ROWS, row_group_rows: int = ROW_GROUP_ROWS
) -> TableFilesSink:
    """A sink writing ``<out>/<table>.parquet`` in row groups of ``row_group_rows`` rows."""
    open_writer = partial(ParquetTableWriter, row_group_rows=row_group_rows)
    return TableFilesSink(out, extension="parquet", open_writer=open_writer, chunk_rows=chunk_rows)
