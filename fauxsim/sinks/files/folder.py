"""The output folder and its files: creation, ``.partial`` names and the final rename.

Every file is written as ``<table>.<ext>.partial`` and renamed only once it is complete,
so a run that dies at any moment never leaves a truncated file under a final name.
"""

from __future__ import annotations

import os
from contextlib import suppress
from typing import TYPE_CHECKING

from fauxsim.errors import SinkError

if TYPE_CHECKING:
    from pathlib import Path


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


def remove_created(folders: list[Path]) -> None:
    """Remove folders ``prepare_folder`` created, deepest first, as long as they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return  # not empty (or gone): leave it and its parents


def partial_path(final: Path) -> Path:
    return final.with_name(final.name + ".partial")


def publish(partial: Path, final: Path) -> None:
    """Make a finished ``.partial`` file visible under its final name."""
    # Flush the data to disk before the rename: after a power cut, the renamed file
    # must not turn out empty or truncated (the rename can reach the disk first).
    descriptor = os.open(partial, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    partial.replace(final)


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
