"""The output folder and its files: creation, ``.partial`` names and the final rename.

Every file is written as ``.<name>.partial`` and renamed only once it is complete, so a
run that dies at any moment never leaves a truncated file under a final name. The leading
dot hides it from readers that list a folder (pyarrow datasets, Spark and Hive skip names
that start with ``.`` or ``_``): a partitioned dataset's table folder is read whole, while
a run writes into it or after one died in it.
"""

from __future__ import annotations

import fcntl
import os
import signal
import threading
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

from fauxsim.errors import SinkError
from fauxsim.tables import ALL_TABLES

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path
    from types import FrameType

# The folder of a partitioned dataset (``fauxsim.sinks.files.partitioned``) that says what it
# is and how far each shard is committed; a folder holding it holds such a dataset.
META = "_fauxsim"


def dataset_description(out: Path) -> Path:
    """Where a partitioned dataset in ``out`` says what it is."""
    return out / META / "dataset.json"


def holds_partitioned_dataset(out: Path) -> bool:
    """Whether ``out`` holds a partitioned dataset (of one shard or several)."""
    return dataset_description(out).exists()


def prepare_folder(out: Path) -> list[Path]:
    """Create ``out`` (and its parents) if needed, or explain why it cannot be used.

    Returns the folders it created, deepest first: a run that writes nothing removes
    them again (``remove_created``).
    """
    if out.exists() and not out.is_dir():
        msg = (
            f"output folder {str(out)!r} is a file, not a folder. "
            "Pass a folder path (it is created if missing) or move the file away."
        )
        raise SinkError(msg)
    created = [folder for folder in (out, *out.parents) if not folder.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        msg = (
            f"cannot create output folder {str(out)!r}: {error.strerror or error}. "
            "Pass a folder path you can write to."
        )
        raise SinkError(msg) from error
    return created


class FolderLock:
    """A hold on a folder, so that two runs never write one at once (their ``.partial``
    files have the same names, and each would delete or overwrite the other's): the output
    folder, held by the command; in a partitioned dataset, each shard's commit folder too,
    held by whichever process writes the shard (a task on a Dask cluster may outlive the
    command that started it). An exclusive ``flock`` on the folder's own descriptor (it
    adds no file), or with ``in_file`` on that file in the folder, opened for writing, as NFS
    needs (it refuses ``flock`` on a folder, and runs there go unguarded). It ends with the
    process however it ends (kill -9 too)."""

    def __init__(self, out: Path, busy: str | None = None, in_file: str | None = None) -> None:
        """``busy``: what to tell the user if another process holds ``out``."""
        descriptor = (
            os.open(out, os.O_RDONLY | os.O_DIRECTORY)
            if in_file is None
            else os.open(out / in_file, os.O_RDWR | os.O_CREAT, 0o644)
        )
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            msg = busy or (
                f"another fauxsim run is writing to {out}/: two runs into one folder would "
                "overwrite each other's files. Wait for it to end, or write to another folder"
            )
            raise SinkError(msg) from None
        except OSError:
            # A file system without locks (some network ones): the run goes on unguarded.
            os.close(descriptor)
            descriptor = -1
        self._descriptor = descriptor

    def release(self) -> None:
        """Let the folder go (closing the descriptor ends the lock). Safe to repeat."""
        if self._descriptor >= 0:
            os.close(self._descriptor)
            self._descriptor = -1


@contextmanager
def folder_held(out: Path) -> Iterator[None]:
    """``out`` created if needed (``prepare_folder``) and held for this run (``FolderLock``);
    the folders created for it are removed again if the run fails having left them empty."""
    created = prepare_folder(out)
    try:
        lock = FolderLock(out)
    except BaseException:
        remove_created(created)
        raise
    succeeded = False
    try:
        yield
        succeeded = True
    finally:
        lock.release()
        if not succeeded:
            remove_created(created)


def remove_created(folders: list[Path]) -> None:
    """Remove folders ``prepare_folder`` created, deepest first, as long as they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return  # not empty (or gone): leave it and its parents


# Ctrl-C, SIGTERM and a hang-up (a closed terminal: the command stops as on SIGTERM).
_STOPS = (signal.SIGINT, signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else []))


def partial_path(final: Path) -> Path:
    return final.with_name(f".{final.name}.partial")


def unfinished_table_files(out: Path) -> list[str]:
    """The names in ``out`` of a file a table a run left unfinished (``.<table>.<ext>.partial``,
    whatever the format), which the next run into ``out`` removes."""
    if not out.is_dir():
        return []
    prefixes = tuple(f".{spec.name}." for spec in ALL_TABLES)
    return sorted(
        path.name
        for path in out.iterdir()
        if path.name.startswith(prefixes) and path.name.endswith(".partial")
    )


def flush_to_disk(path: Path) -> None:
    """Flush a finished file's data to disk, before it is renamed: after a power cut, the
    renamed file must not turn out empty or truncated (the rename can reach the disk first)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def signals_held() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP wait until the block is done, then take effect as they
    would have.

    Publishing a run's files is a handful of renames: a stop half-way would leave a
    folder that mixes files of two runs. Python runs signal handlers in the main thread
    whichever thread the signal reached, so the handlers are swapped for ones that only
    note the signal (masking it in one thread would not be enough).
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers; it is the one that gets the stop
        return
    noted: dict[int, FrameType | None] = {}

    def note(number: int, frame: FrameType | None) -> None:
        noted.setdefault(number, frame)

    # A stop this process ignores stays ignored (a worker's Ctrl-C): noted, it would hide
    # the SIGTERM its parent sends next.
    previous = {
        number: signal.signal(number, note)
        for number in _STOPS
        if signal.getsignal(number) != signal.SIG_IGN
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if noted:  # SIGTERM if both came (the stronger word), else the one that came
            stop = signal.SIGTERM if signal.SIGTERM in noted else signal.Signals(next(iter(noted)))
            handler = previous[stop]
            if callable(handler):
                handler(stop, noted[stop])  # e.g. KeyboardInterrupt, now that it is done
            elif handler == signal.SIG_DFL:
                signal.raise_signal(stop)


def remove_quietly(path: Path) -> None:
    """Delete a leftover ``.partial`` file; a failure here must not hide the real error."""
    with suppress(OSError):
        path.unlink(missing_ok=True)


def write_error(path: Path, error: OSError) -> SinkError:
    """The user-facing error for a file that could not be opened or written."""
    # Arrow's errors carry the errno but wrap its text in their own words.
    reason = os.strerror(error.errno) if error.errno else error.strerror or str(error)
    msg = (
        f"cannot write {str(path)!r}: {reason}. "
        "Check that the output folder is writable and the disk has space, then run again."
    )
    return SinkError(msg)
