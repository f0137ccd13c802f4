"""The Postgres sink in a process of its own, so that loading runs on another core.

Turning rows into binary COPY data costs about half as much CPU as simulating them. In
a thread it competes with the engine for the interpreter lock; in a child process it
runs beside the engine, and ``fauxsim run`` is limited by the slower of the two instead
of their sum. The child opens a :class:`~fauxsim.sinks.postgres.sink.PostgresSink` and
commits each batch it receives before it reads the next; the parent sends batches down
a pipe as ``marshal`` data (rows hold only ints, floats, text, booleans, None, lists and
dicts: marshal packs and unpacks them in about 70% of pickle's time). A batch being
generated and one being loaded: memory stays flat.

Nothing changes for crash safety: the child commits each batch with its watermark, as
the sink does in-process. When the parent stops (an error, Ctrl-C, ``kill -9``) the
child is ended with it, and its open transaction rolls back.
"""

from __future__ import annotations

import marshal
import multiprocessing
import os
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fauxsim.gc_tuning import tuned_collector
from fauxsim.sinks.base import Batch
from fauxsim.sinks.child_process import (
    CLOSE,
    ChildChannel,
    Closed,
    Failed,
    drain,
    end_with_parent,
    portable,
)

if TYPE_CHECKING:
    import datetime as dt
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from fauxsim.scenario.model import Scenario

# A fresh interpreter: no state inherited from the parent (threads, open connections).
_CONTEXT = multiprocessing.get_context("spawn")
_WHAT = "the Postgres loader process"


@dataclass(frozen=True, slots=True)
class _Opened:
    resume_after: int | None
    description: str


def open_loader_process(
    url: str | None,
    scenario: Scenario,
    *,
    replace: bool = False,
    until: dt.datetime | dt.date | None = None,
) -> LoaderProcess:
    """Like :func:`~fauxsim.sinks.postgres.sink.open_database_sink`, loading in a child process.

    Returns once the child has opened the database (schema, writer lock, ledger); the
    same errors are raised here, with the same messages.
    """
    ours, theirs = _CONTEXT.Pipe()
    child = _CONTEXT.Process(
        target=_serve,
        args=(theirs, os.getpid(), url, scenario, replace, until),
        name="fauxsim-postgres-loader",
        daemon=True,  # never outlives the command
    )
    child.start()
    theirs.close()
    loader = LoaderProcess(child, ours)
    try:
        opened = loader.receive()
    except BaseException:
        loader.abort()
        raise
    if not isinstance(opened, _Opened):
        loader.abort()
        raise TypeError(f"the loader process answered {opened!r} instead of opening")  # a bug
    loader.resume_after, loader.description = opened.resume_after, opened.description
    return loader


class LoaderProcess:
    """A sink (:class:`fauxsim.sinks.base.Sink`) whose batches a child process loads."""

    def __init__(self, child: BaseProcess, channel: Connection) -> None:
        self._child = child
        self._pipe = ChildChannel(child, channel, _WHAT)
        self._done = False
        self.completed = False  # every batch committed and the run marked complete (close)
        self.resume_after: int | None = None  # the committed watermark to resume after
        self.description = ""

    def describe(self) -> str:
        return self.description

    def write(self, batch: Batch) -> None:
        """Hand ``batch`` over; blocks while the child is still loading the previous one."""
        if self._done:
            msg = "write() after close(): open a new sink"
            raise RuntimeError(msg)
        self._pipe.send(marshal.dumps((batch.watermark, dict(batch.rows))))

    def close(self) -> None:
        """Wait until every batch is committed and the run is marked complete."""
        if self._done:
            return
        self._done = True
        self._pipe.finish()
        self.completed = True

    def abort(self) -> None:
        """Stop the child at once; what it committed stays, its open transaction rolls back."""
        if self._done:
            return
        self._done = True
        self._pipe.stop()

    def receive(self) -> _Opened | Closed:
        """The child's next message; a failure it reports is raised here."""
        message: _Opened | Closed = self._pipe.receive()
        return message


# ---------------------------------------------------------------------- in the child


def _serve(
    channel: Connection,
    parent: int,
    url: str | None,
    scenario: Scenario,
    replace: bool,
    until: dt.datetime | dt.date | None,
) -> None:
    """The child's life: open the sink, load each batch received, close it when told."""
    end_with_parent(parent)
    # Ctrl-C reaches the whole process group; the parent decides, and aborts the child.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from fauxsim.sinks.postgres.sink import open_database_sink  # noqa: PLC0415 - child only

    try:
        sink = open_database_sink(url, scenario, replace=replace, until=until)
    except BaseException as error:  # noqa: BLE001 - every failure goes to the parent
        channel.send(Failed(portable(error, _WHAT)))
        return
    channel.send(_Opened(sink.resume_after, sink.describe()))
    with tuned_collector():  # batches are unpickled as the engine made them: young objects
        while True:
            try:
                message = channel.recv_bytes()
            except EOFError:  # the parent is gone without a word: keep what is committed
                sink.abort()
                return
            try:
                if message == CLOSE:
                    sink.close()
                    channel.send(Closed())
                    return
                watermark, rows = marshal.loads(message)  # noqa: S302 - from our own parent
                sink.write(Batch(watermark, rows))
                sink.flush()  # committed before the next batch is read: one batch at a time
            except BaseException as error:  # noqa: BLE001
                sink.abort()
                channel.send(Failed(portable(error, _WHAT)))
                drain(channel)
                return
