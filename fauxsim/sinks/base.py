"""The Sink protocol, the Batch it receives, and the registry that picks a sink by name.

The engine knows nothing of sinks and sinks know nothing of SimPy: the runner hands a
sink one :class:`Batch` at a time, in simulated-time order, then closes it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from fauxsim.errors import UsageError

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Batch:
    """Everything that happened before ``watermark`` and after the previous batch.

    ``rows`` maps a table name (``fauxsim.tables``) to rows in column order. For the
    ``events`` table these are new events. For entity tables they are row versions:
    the state, at a checkpoint, of each row that changed since the previous checkpoint,
    so one id may appear in several batches, each time with a later ``updated_at``.
    Tables without rows in this batch may be missing from the mapping.

    With ``release_rows`` the batch hands its lists of rows over to the sink, which may
    empty them as it writes (file sinks replace each written row with None): a row freed
    right after it was read is still in the CPU's cache, one freed with the whole batch
    is not. The runner's batches do; nothing reads their rows after the sink.
    """

    watermark: int
    rows: Mapping[str, Sequence[Row]]
    release_rows: bool = False


class Sink(Protocol):
    """Somewhere to write a run's output."""

    def write(self, batch: Batch) -> None:
        """Write one batch; batches arrive in watermark order.

        Rows of a batch with ``release_rows`` may be gone from its lists afterwards.
        """

    def close(self) -> None:
        """Flush and release everything; the output is complete after this returns."""

    def abort(self) -> None:
        """Stop after a failure: keep what was committed, discard the rest, release all.

        A database keeps its committed batches (the next run resumes after them); file
        sinks delete their ``.partial`` files and leave earlier complete files alone.
        """


SinkFactory = Callable[[Path], Sink]

_REGISTRY: dict[str, SinkFactory] = {}


def register(name: str) -> Callable[[SinkFactory], SinkFactory]:
    """Class or function decorator: make a file sink available under ``name``."""

    def add(factory: SinkFactory) -> SinkFactory:
        _REGISTRY[name] = factory
        return factory

    return add


def sink_names() -> list[str]:
    _load_builtin_sinks()
    return sorted(_REGISTRY)


def open_sink(name: str, out: Path) -> Sink:
    """The sink registered as ``name``, writing below ``out``."""
    _load_builtin_sinks()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        valid = ", ".join(sorted(_REGISTRY))
        msg = f"unknown format {name!r}. Valid values are: {valid}"
        raise UsageError(msg) from None  # an option mistake: exit 2
    return factory(out)


def _load_builtin_sinks() -> None:
    # Imported for their @register side effect; kept here so importing this module
    # stays cheap and free of pyarrow.
    from fauxsim.sinks import files  # noqa: F401, PLC0415
