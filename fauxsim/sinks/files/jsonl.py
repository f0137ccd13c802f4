"""JSON Lines: one object per row, keys in column order, one file per table.

Timestamps are fixed-width RFC 3339 UTC text (``2024-11-29T08:15:00.000000Z``), so that
text order is time order; JSON columns are nested objects. orjson writes each line.
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING

import orjson

from fauxsim.sinks.files.arrow_columns import timestamp_texts
from fauxsim.sinks.files.table_files import CHUNK_ROWS, TableFilesSink
from fauxsim.tables import ColumnType

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from fauxsim.sinks.base import Row
    from fauxsim.tables import TableSpec

_LINE = orjson.OPT_APPEND_NEWLINE


class JsonlTableWriter:
    def __init__(self, spec: TableSpec, path: Path) -> None:
        self._names = spec.column_names
        stamps = [i for i, column in enumerate(spec.columns) if column.type is ColumnType.TIMESTAMP]
        self._stamp_positions = stamps
        self._stamp_names = [self._names[i] for i in stamps]
        self._file = path.open("wb")

    def write_chunk(self, rows: Sequence[Row]) -> None:
        # Timestamps of the whole chunk are formatted in one vectorised call, then
        # swapped into each row's dict. Each line goes straight to the buffered file:
        # holding many orjson results in a list first measured slower.
        names, write, dumps = self._names, self._file.write, orjson.dumps
        if not self._stamp_positions:
            for row in rows:
                write(dumps(dict(zip(names, row, strict=True)), option=_LINE))
            return
        stamp_names = self._stamp_names
        stamp_columns = [
            timestamp_texts([row[i] for row in rows]).to_pylist() for i in self._stamp_positions
        ]
        for row, stamps in zip(rows, zip(*stamp_columns, strict=True), strict=True):
            record = dict(zip(names, row, strict=True))
            record.update(zip(stamp_names, stamps, strict=True))
            write(dumps(record, option=_LINE))

    def close(self) -> None:
        self._file.close()

    def discard(self) -> None:
        with suppress(OSError):
            self._file.close()


def open_jsonl(out: Path, *, chunk_rows: int = CHUNK_ROWS) -> TableFilesSink:
    """A sink writing ``<out>/<table>.jsonl``."""
    return TableFilesSink(
        out, extension="jsonl", open_writer=JsonlTableWriter, chunk_rows=chunk_rows
    )
