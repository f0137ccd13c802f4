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

import contextlib
import ctypes
import marshal
import multiprocessing
import os
import signal
import sys
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fauxsim.errors import FauxError, SinkError
from fauxsim.gc_tuning import tuned_collector
from fauxsim.sinks.base import Batch

if TYPE_CHECKING:
    import datetime as dt
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from fauxsim.scenario.model import Scenario

# A fresh interpreter: no state inherited from the parent (threads, open connections).
_CONTEXT = multiprocessing.get_context("spawn")
_CLOSE = b""  # parent -> child: the last batch was sent; finish the run
# How long an aborted child gets to go before it is killed.
_ABORT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class _Opened:
    resume_after: int | None
    description: str


@dataclass(frozen=True, slots=True)
class _Failed:
    error: BaseException


@dataclass(frozen=True, slots=True)
class _Closed:
    pass


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
        self._channel = channel
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
        if self._channel.poll():  # the child only speaks unasked when it failed
            self._raise(self.receive())
        message = marshal.dumps((batch.watermark, dict(batch.rows)))
        try:
            self._channel.send_bytes(message)
        except OSError:
            self._raise(self.receive())

    def close(self) -> None:
        """Wait until every batch is committed and the run is marked complete."""
        if self._done:
            return
        self._done = True
        try:
            with contextlib.suppress(OSError):  # a child that failed hung up; its word waits
                self._channel.send_bytes(_CLOSE)
            answer = self.receive()
            if not isinstance(answer, _Closed):
                self._raise(answer)
        except BaseException:
            self._stop()
            raise
        self.completed = True
        self._child.join()
        self._channel.close()

    def abort(self) -> None:
        """Stop the child at once; what it committed stays, its open transaction rolls back."""
        if self._done:
            return
        self._done = True
        self._stop()

    def receive(self) -> _Opened | _Closed:
        """The child's next message; a failure it reports is raised here."""
        try:
            message = self._channel.recv()
        except (EOFError, OSError):
            self._child.join(_ABORT_SECONDS)
            raise SinkError(
                "the Postgres loader process stopped unexpectedly "
                f"(exit code {self._child.exitcode}); run the same command again to resume"
            ) from None
        if isinstance(message, _Failed):
            raise message.error
        return message  # type: ignore[no-any-return]

    def _raise(self, message: _Opened | _Closed) -> None:
        raise RuntimeError(f"the loader process answered {message!r} out of turn")  # a bug

    def _stop(self) -> None:
        with contextlib.suppress(OSError):
            self._channel.close()
        if self._child.is_alive():
            self._child.terminate()
        self._child.join(_ABORT_SECONDS)
        if self._child.is_alive():
            self._child.kill()
            self._child.join()


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
    _end_with_parent(parent)
    # Ctrl-C reaches the whole process group; the parent decides, and aborts the child.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from fauxsim.sinks.postgres.sink import open_database_sink  # noqa: PLC0415 - child only

    try:
        sink = open_database_sink(url, scenario, replace=replace, until=until)
    except BaseException as error:  # noqa: BLE001 - every failure goes to the parent
        channel.send(_Failed(_portable(error)))
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
                if message == _CLOSE:
                    sink.close()
                    channel.send(_Closed())
                    return
                watermark, rows = marshal.loads(message)  # noqa: S302 - from our own parent
                sink.write(Batch(watermark, rows))
                sink.flush()  # committed before the next batch is read: one batch at a time
            except BaseException as error:  # noqa: BLE001
                sink.abort()
                channel.send(_Failed(_portable(error)))
                _drain(channel)
                return


def _drain(channel: Connection) -> None:
    """After a failure: read (and drop) what the parent still sends, until it hangs up."""
    with contextlib.suppress(EOFError, OSError):
        while channel.recv_bytes() != _CLOSE:
            pass


def _portable(error: BaseException) -> BaseException:
    """``error`` if it survives pickling (user errors do); else a RuntimeError with its trace."""
    if isinstance(error, FauxError):
        return error
    text = "".join(traceback.format_exception(error))
    return RuntimeError(f"the Postgres loader process failed:\n{text}")


def _end_with_parent(parent: int) -> None:
    """Be sent SIGTERM when the parent dies (Linux), so that ``kill -9`` of a run frees the lock.

    Elsewhere the child notices when it next reads from the pipe (EOF).
    """
    if not sys.platform.startswith("linux"):
        return
    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        libc: Any = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
