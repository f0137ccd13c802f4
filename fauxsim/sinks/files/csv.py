"""CSV: a header row, then one row per line, one file per table.

Arrow's CSV writer does the formatting in C. Quoting follows RFC 4180 and keeps None
apart from the empty string, as Postgres ``COPY ... CSV`` does: every text value is
quoted (so ``""`` is an empty string), None is an empty, unquoted field. Timestamps are
fixed-width RFC 3339 UTC text, JSON columns compact JSON text, booleans ``true``/``false``.
Lines end with ``\\n``.
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.csv as pa_csv

from fauxsim.sinks.files.arrow_columns import POOL, ArrowChunk, ArrowChunkWriter, arrow_schema
from fauxsim.sinks.files.table_files import CHUNK_ROWS, TableFilesSink

if TYPE_CHECKING:
    from pathlib import Path

    from fauxsim.tables import TableSpec

_OPTIONS = pa_csv.WriteOptions(include_header=True, quoting_style="needed", eol="\n")


class CsvTableWriter(ArrowChunkWriter):
    def __init__(self, spec: TableSpec, path: Path, chunk_rows: int = CHUNK_ROWS) -> None:
        schema = arrow_schema(spec, timestamps_as_text=True)
        self._chunk = ArrowChunk(spec, schema, chunk_rows)
        self._file = pa.OSFile(str(path), "wb")
        try:
            # Writes the header at once, so a table without rows still gets it.
            self._writer = pa_csv.CSVWriter(
                self._file, schema, write_options=_OPTIONS, memory_pool=POOL
            )
        except BaseException:
            self._file.close()
            raise

    def write_chunk(self) -> None:
        self._writer.write_batch(self._chunk.record_batch())

    def close(self) -> None:
        self._writer.close()
        self._file.close()

    def discard(self) -> None:
        with suppress(OSError, pa.ArrowException):
            self._writer.close()
        with suppress(OSError, pa.ArrowException):
            self._file.close()


def open_csv(out: Path, *, chunk_rows: int = CHUNK_ROWS) -> TableFilesSink:
    """A sink writing ``<out>/<table>.csv``."""
    return TableFilesSink(out, extension="csv", open_writer=CsvTableWriter, chunk_rows=chunk_rows)
