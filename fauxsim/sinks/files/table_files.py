"""A sink that writes one file per table, in fixed-size chunks, whatever the batch sizes.

The format modules only say how to write a chunk of rows to one file
(:class:`TableWriter`); this module owns everything they share: the folder, the
``.partial`` names, the final rename, user-facing errors, and re-chunking. Chunk ``k`` of
a table always holds its rows ``[k * chunk_rows, (k + 1) * chunk_rows)``, so how the
engine split its batches can never show in the output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, Self

from fauxsim.errors import SinkError
from fauxsim.sinks.files.folder import (
    FolderLock,
    dataset_description,
    flush_to_disk,
    holds_partitioned_dataset,
    partial_path,
    prepare_folder,
    remove_created,
    remove_quietly,
    signals_held,
    unfinished_table_files,
    write_error,
)
from fauxsim.tables import ALL_TABLES

if TYPE_CHECKING:
    from pathlib import Path
    from types import TracebackType

    from fauxsim.sinks.base import Batch, Row
    from fauxsim.tables import TableSpec

# Rows gathered per table before a format writes them: large enough that per-chunk costs
# (one Arrow array per column) vanish, small enough to keep memory flat.
CHUNK_ROWS = 16_384


class TableWriter(Protocol):
    """Writes one table's rows to one (partial) file, a chunk at a time.

    The sink adds rows as batches bring them, never more than a chunk's worth before it
    asks for the chunk to be written; how a writer keeps them meanwhile (as rows, or
    converted into column buffers) is its own business.
    """

    @property
    def pending_rows(self) -> int:
        """Rows added since the last chunk was written."""

    def add(self, rows: list[Row], start: int, stop: int) -> None:
        """Add ``rows[start:stop]``, in table column order, to the chunk being gathered.

        Raises ValueError if a row has a missing or extra value (a bug upstream); the sink
        then aborts.

        A window on a list rather than a slice of it: a slice's copy is a pass over every
        row. The list is the sink's to change: the writer may replace each row it has read
        with None, so that the row is freed while it is still in the CPU's cache.
        """

    def write_chunk(self) -> None:
        """Write the rows added since the last chunk (at least one) as one chunk."""

    def close(self) -> None:
        """Close the file; the sink has written the last chunk before."""

    def discard(self) -> None:
        """Close the file without finishing it, ignoring I/O errors; safe to repeat."""


# A writer for a table's file, gathering chunks of the given number of rows.
OpenWriter = Callable[["TableSpec", "Path", int], TableWriter]
# Where a table's file goes, in a dataset of several files per table (see ``fauxsim.scale``).
PathOf = Callable[["TableSpec"], "Path"]


@dataclass(slots=True)
class _TableOutput:
    spec: TableSpec
    final: Path
    partial: Path
    writer: TableWriter
    rows: int = 0  # rows added so far


def _remove_unfinished(out: Path, extension: str) -> None:
    """What a run that died left unfinished in ``out`` in another format than this run's:
    hidden, so a user who lists the folder would not see it there for good. (This run's
    format: each file is opened again, from its start.)"""
    for name in unfinished_table_files(out):
        if not name.endswith(f".{extension}.partial"):
            remove_quietly(out / name)


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
        open_writer: OpenWriter,
        chunk_rows: int = CHUNK_ROWS,
        path_of: PathOf | None = None,
        skip_empty: bool = False,
    ) -> None:
        """With ``path_of``, each table's file goes where it says (its folder is created)
        instead of ``<out>/<table>.<extension>``; with ``skip_empty``, a table that got no
        rows leaves no file."""
        if chunk_rows < 1:
            msg = f"chunk_rows must be positive, got {chunk_rows}"
            raise ValueError(msg)
        self.published = False  # every file renamed to its final name (see close)
        self._chunk_rows = chunk_rows
        self._outputs: dict[str, _TableOutput] = {}
        self._finished = False
        self._skip_empty = skip_empty
        if path_of is None and holds_partitioned_dataset(out):
            msg = (
                f"{out}/ holds a partitioned dataset ({dataset_description(out)}): a file per "
                "table would be mixed into it. Write to another folder, or run with "
                "--partitioned to extend that dataset"
            )
            raise SinkError(msg)
        self._created_folders = prepare_folder(out)
        # A file a table is this run's alone; in a partitioned dataset the run holds it.
        try:
            self._lock = FolderLock(out) if path_of is None else None
        except SinkError:
            remove_created(self._created_folders)
            raise
        if path_of is None:
            _remove_unfinished(out, extension)
        opening: Path | None = None  # the partial file being opened
        # All of the opening is guarded, not only open_writer: a Ctrl-C may land anywhere.
        try:
            for spec in ALL_TABLES:
                final = out / f"{spec.name}.{extension}" if path_of is None else path_of(spec)
                final.parent.mkdir(parents=True, exist_ok=True)
                opening = partial_path(final)
                writer = open_writer(spec, opening, chunk_rows)
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
        """The final path of each table's file (that has one: see ``skip_empty``)."""
        return {
            name: output.final
            for name, output in self._outputs.items()
            if output.rows or not self._skip_empty
        }

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
                # Writers let go of rows as they read them (see TableWriter): only a batch
                # that hands its rows over is written from its own lists.
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
                if self._skip_empty and not output.rows:
                    output.writer.discard()
                    remove_quietly(output.partial)
                    continue
                try:
                    if output.writer.pending_rows:
                        output.writer.write_chunk()
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
                if self._skip_empty and not output.rows:
                    continue
                try:
                    output.partial.replace(output.final)
                except OSError as error:
                    raise self._fail(output, error) from error
            self.published = True
        self._release()

    def abort(self) -> None:
        """Give up: close every file and delete the ``.partial`` ones, and the folders
        this sink created for them. Safe to repeat."""
        self._finished = True
        for output in self._outputs.values():
            output.writer.discard()
            remove_quietly(output.partial)
        self._release()
        remove_created(self._created_folders)

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()

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
        """Add rows to a table's chunk, writing every chunk that fills up.

        A chunk that fails aborts the sink: its rows may be half read and released, and a
        wrong row always fails its own batch (writers check rows as they add them).
        """
        chunk_rows, writer = self._chunk_rows, output.writer
        start = 0
        try:
            while start < len(listed):
                stop = min(len(listed), start + chunk_rows - writer.pending_rows)
                writer.add(listed, start, stop)
                output.rows += stop - start
                start = stop
                if writer.pending_rows == chunk_rows:
                    writer.write_chunk()
        except OSError as error:
            raise self._fail(output, error) from error
        except BaseException:
            self.abort()
            raise

    def _fail(self, output: _TableOutput, error: OSError) -> SinkError:
        """Clean up after a file-system failure; the SinkError to raise, naming the file."""
        self.abort()
        return write_error(output.partial, error)
