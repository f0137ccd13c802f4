"""A sink whose work runs in a child process beside the engine, and the pipe between them.

The Postgres loader (:mod:`fauxsim.sinks.postgres.process`) and the stream's publisher
(:mod:`fauxsim.sinks.stream.sink`) both run in a spawned child, on the other core, and
speak the same small protocol over a pipe:

- parent → child: each batch as ``marshal`` bytes, then :data:`CLOSE` to finish;
- child → parent: its own "opened" message once ready, :class:`Closed` once finished, or
  :class:`Failed` with the error, at any time (the parent reads it at its next write).

:class:`ChildChannel` is the parent's side; :func:`end_with_parent`, :func:`portable` and
:func:`drain` are the child's helpers.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fauxsim.errors import FauxError, SinkError

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

CLOSE = b""  # parent -> child: the last batch was sent; finish
# How long a stopped child gets to go before it is killed.
ABORT_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Failed:
    error: BaseException


@dataclass(frozen=True, slots=True)
class Closed:
    pass


class ChildChannel:
    """The parent's side: send batches, finish, or stop the child; its failures raised here.

    ``what`` names the child in messages ("the Postgres loader process").
    """

    def __init__(self, child: BaseProcess, channel: Connection, what: str) -> None:
        self.child = child
        self._channel = channel
        self._what = what

    def send(self, message: bytes) -> None:
        """Send a batch; a failure the child reported meanwhile is raised instead."""
        if self._channel.poll():  # the child only speaks unasked when it failed
            self._out_of_turn(self.receive())
        try:
            self._channel.send_bytes(message)
        except OSError:
            self._out_of_turn(self.receive())

    def finish(self) -> None:
        """Tell the child the last batch was sent and wait until it has finished."""
        try:
            with contextlib.suppress(OSError):  # a child that failed hung up; its word waits
                self._channel.send_bytes(CLOSE)
            answer = self.receive()
            if not isinstance(answer, Closed):
                self._out_of_turn(answer)
        except BaseException:
            self.stop()
            raise
        self.child.join()
        self._channel.close()

    def receive(self) -> Any:  # noqa: ANN401 - the child's own "opened" message, or Closed
        """The child's next message; a failure it reports is raised here."""
        try:
            message = self._channel.recv()
        except (EOFError, OSError):
            self.child.join(ABORT_SECONDS)
            raise SinkError(
                f"{self._what} stopped unexpectedly (exit code {self.child.exitcode}); "
                "run the same command again to resume"
            ) from None
        if isinstance(message, Failed):
            raise message.error
        return message

    def stop(self) -> None:
        """End the child at once (SIGTERM, then SIGKILL): what it committed stays."""
        with contextlib.suppress(OSError):
            self._channel.close()
        if self.child.is_alive():
            self.child.terminate()
        self.child.join(ABORT_SECONDS)
        if self.child.is_alive():
            self.child.kill()
            self.child.join()

    def _out_of_turn(self, message: object) -> None:
        raise RuntimeError(f"{self._what} answered {message!r} out of turn")  # a bug


# ---------------------------------------------------------------------- in the child


def end_with_parent(parent: int) -> None:
    """Be sent SIGTERM when the parent dies (Linux), so that ``kill -9`` of a run ends
    its children too (and frees the database's writer lock).

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


def portable(error: BaseException, what: str) -> BaseException:
    """``error`` if it survives pickling (user errors do); else a RuntimeError with its trace."""
    if isinstance(error, FauxError):
        return error
    text = "".join(traceback.format_exception(error))
    return RuntimeError(f"{what} failed:\n{text}")


def drain(channel: Connection) -> None:
    """After a failure: read (and drop) what the parent still sends, until it hangs up."""
    with contextlib.suppress(EOFError, OSError):
        while channel.recv_bytes() != CLOSE:
            pass
