"""A sink that writes one file per table, in fixed-size chunks, whatever the batch sizes.

The format modules only say how to write a chunk of rows to one file
(:class:`TableWriter`); this module owns everything they share: the folder, the
``.partial`` names, the final rename, user-facing errors, and re-chunking. Chunk ``k`` of
a table always holds its rows ``[k * chunk_rows, (k + 1) * chunk_rows)``, so how the
engine split its batches can never show in the output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Protocol, Self

from fauxsim.sinks.files.folder import (
    flush_to_disk,
    partial_path,
    prepare_folder,
    remove_created,
    remove_quietly,
    signals_held,
    write_error,
)
from fauxsim.tables import ALL_TABLES

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from types import TracebackType

    from fauxsim.errors import SinkError
    from fauxsim.sinks.base import Batch, Row
    from fauxsim.tables import TableSpec

# Rows gathered per table before a format writes them: large enough that per-chunk costs
# (one Arrow array per column) vanish, small enough to keep memory flat.
CHUNK_ROWS = 16_384


class TableWriter(Protocol):
    """Writes one table's rows to one (partial) file."""

    def write_chunk(self, rows: list[Row], start: int, stop: int) -> None:
        """Append a non-empty chunk of rows, ``rows[start:stop]``, in table column order.

        Raises ValueError, and writes none of the chunk, if a row has a missing or extra
        value (a bug upstream).

        A window on a list rather than a slice of it: a slice's copy is a pass over every
        row, and rows are far out of the CPU's cache when a sink gets them. The list is
        the sink's to change: the writer may replace each row it has written with None,
        so that the row is freed while it is still in the cache.
        """

    def close(self) -> None:
        """Write everything still buffered and close the file."""

    def discard(self) -> None:
        """Close the file without finishing it, ignoring I/O errors; safe to repeat."""


@dataclass(slots=True)
class _TableOutput:
    spec: TableSpec
    final: Path
    partial: Path
    writer: TableWriter
    pending: list[Row] = field(default_factory=list)


class TableFilesSink:
    """Writes ``<out>/<table>.<extension>`` for every table, complete only after ``close()``.

    Use it as a context manager, or call ``abort()`` when the run fails, so that a failed
    run leaves no file posing as complete (files of an earlier run are left untouched).
    """

    def __init__(
        self,
        out: Path,
        *,
        extension: str,
        open_writer: Callable[[TableSpec, Path], TableWriter],
        chunk_rows: int = CHUNK_ROWS,
    ) -> None:
        if chunk_rows < 1:
            msg = f"chunk_rows must be positive, got {chunk_rows}"
            raise ValueError(msg)
        self.published = False  # every file renamed to its final name (see close)
        self._chunk_rows = chunk_rows
        self._outputs: dict[str, _TableOutput] = {}
        self._finished = False
        self._created_folders = prepare_folder(out)
        opening: Path | None = None  # the partial file being opened
        # All of the opening is guarded, not only open_writer: a Ctrl-C may land anywhere.
        try:
            for spec in ALL_TABLES:
                final = out / f"{spec.name}.{extension}"
                opening = partial_path(final)
                writer = open_writer(spec, opening)
                self._outputs[spec.name] = _TableOutput(spec, final, opening, writer)
                opening = None
        except BaseException as error:
            if opening is not None:
                remove_quietly(opening)  # first, or the folder is not empty for abort()
            self.abort()  # closes and deletes the files opened so far, then the folder
            if isinstance(error, OSError) and opening is not None:
                raise write_error(opening, error) from error
            raise

    @property
    def paths(self) -> dict[str, Path]:
        """The final path of each table's file."""
        return {name: output.final for name, output in self._outputs.items()}

    def write(self, batch: Batch) -> None:
        if self._finished:
            msg = "write() called after close() or abort()"
            raise RuntimeError(msg)
        for name, rows in batch.rows.items():
            output = self._outputs.get(name)
            if output is None:
                valid = ", ".join(self._outputs)
                msg = f"unknown table {name!r} in batch. Valid values are: {valid}"
                raise ValueError(msg)
            if rows:
                # Each writer checks the rows' widths as it converts them: a pass of its
                # own over rows long out of the cache cost 2 misses (L2) per event.
                # Writers let go of rows as they write them (see TableWriter): only a
                # batch that hands its rows over is written from its own lists.
                owned = rows if batch.release_rows and isinstance(rows, list) else list(rows)
                self._feed(output, owned)

    def close(self) -> None:
        """Write what is buffered, close every file and give it its final name.

        Until the renames, a failure or a stop aborts (earlier files stay as they were);
        the renames themselves run with Ctrl-C and SIGTERM held, so that the folder never
        mixes files of two runs. ``published`` tells which happened.
        """
        if self._finished:
            return
        try:
            for output in self._outputs.values():
                try:
                    if output.pending:
                        output.writer.write_chunk(output.pending, 0, len(output.pending))
                        output.pending.clear()
                    output.writer.close()
                    flush_to_disk(output.partial)
                except OSError as error:
                    raise write_error(output.partial, error) from error
        except BaseException:
            self.abort()
            raise
        self._finished = True
        with signals_held():
            for output in self._outputs.values():
                try:
                    output.partial.replace(output.final)
                except OSError as error:
                    raise self._fail(output, error) from error
            self.published = True

    def abort(self) -> None:
        """Give up: close every file and delete the ``.partial`` ones, and the folders
        this sink created for them. Safe to repeat."""
        self._finished = True
        for output in self._outputs.values():
            output.writer.discard()
            output.pending.clear()
            remove_quietly(output.partial)
        remove_created(self._created_folders)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def _feed(self, output: _TableOutput, listed: list[Row]) -> None:
        """Add rows to a table's pending chunk, writing every chunk that fills up.

        Writers check the widths of the rows they write; rows left waiting for the next
        batch are checked here, so that a wrong row always fails its own batch. A chunk
        that fails aborts the sink: its rows may be half released.
        """
        chunk_rows, pending = self._chunk_rows, output.pending
        start = 0
        try:
            if pending:
                start = min(len(listed), chunk_rows - len(pending))
                pending.extend(islice(listed, start))
                if len(pending) < chunk_rows:
                    output.spec.check_widths(pending)
                    return
                output.writer.write_chunk(pending, 0, chunk_rows)
                pending.clear()
            while len(listed) - start >= chunk_rows:
                output.writer.write_chunk(listed, start, start + chunk_rows)
                start += chunk_rows
            # Each row fetched once by index: a slice, then extend, would pass over them twice.
            pending.extend(map(listed.__getitem__, range(start, len(listed))))
            output.spec.check_widths(pending)
        except OSError as error:
            raise self._fail(output, error) from error
        except BaseException:
            self.abort()
            raise

    def _fail(self, output: _TableOutput, error: OSError) -> SinkError:
        """Clean up after a file-system failure; the SinkError to raise, naming the file."""
        self.abort()
        return write_error(output.partial, error)
