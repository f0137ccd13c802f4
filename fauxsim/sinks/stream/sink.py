"""The stream sink: every delivered event of a run, published to a RabbitMQ topic exchange.

The run's process turns each batch's events into message bodies (the JSONL line of each
event) and hands them to a publisher process (:mod:`fauxsim.sinks.stream.child`), which
publishes them with confirms and records, per confirmed batch, the watermark a later run
of the same command resumes after. Delivery is at least once: a crash between a message
and its confirm publishes it again; consumers dedupe on ``message_id`` (the event id).
"""

from __future__ import annotations

import marshal
import multiprocessing
import os
from typing import IO, TYPE_CHECKING

from fauxsim.errors import SinkError
from fauxsim.sinks.child_process import ChildChannel, Closed
from fauxsim.sinks.postgres.ledger import DatasetIdentity
from fauxsim.sinks.stream.address import BrokerAddress
from fauxsim.sinks.stream.child import Opened, serve
from fauxsim.sinks.stream.state import StreamState
from fauxsim.tables import EVENTS

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess
    from pathlib import Path

    from fauxsim.scenario.model import Scenario
    from fauxsim.sinks.base import Batch

DEFAULT_EXCHANGE = "fauxsim.events"
# A fresh interpreter: no state inherited from the parent (threads, open connections).
_CONTEXT = multiprocessing.get_context("spawn")


def open_stream_sink(
    url: str,
    scenario: Scenario,
    *,
    exchange: str = DEFAULT_EXCHANGE,
    state_dir: Path | None = None,
) -> StreamSink:
    """Connect to the broker at ``url``, declare ``exchange`` and read where to resume.

    Raises :class:`~fauxsim.errors.SinkError` with one line for a malformed URL, an
    unreachable broker, refused credentials, a missing virtual host or an exchange of
    that name with another type.
    """
    address = BrokerAddress.parse(url)
    if not exchange:
        raise SinkError("the stream exchange name is empty; give one with --stream-exchange")
    state = StreamState.for_run(address, exchange, DatasetIdentity.of(scenario), state_dir)
    lock = state.lock()
    try:
        state.read()  # a damaged file is reported before connecting
        child, ours = _start_publisher(url, exchange, state)
    except BaseException:
        lock.close()
        raise
    sink = StreamSink(child, ours, address, exchange, state, lock)
    try:
        answer = sink.receive()
    except BaseException:
        sink.abort()
        raise
    if not isinstance(answer, Opened):
        sink.abort()
        raise TypeError(f"the publisher process answered {answer!r} instead of opening")  # a bug
    return sink


def _start_publisher(url: str, exchange: str, state: StreamState) -> tuple[BaseProcess, Connection]:
    ours, theirs = _CONTEXT.Pipe()
    child = _CONTEXT.Process(
        target=serve,
        args=(theirs, os.getpid(), url, exchange, state),
        name="fauxsim-stream-publisher",
        daemon=True,  # never outlives the command
    )
    child.start()
    theirs.close()
    return child, ours


class StreamSink:
    """A sink (:class:`fauxsim.sinks.base.Sink`) whose events a child process publishes."""

    def __init__(
        self,
        child: BaseProcess,
        channel: Connection,
        address: BrokerAddress,
        exchange: str,
        state: StreamState,
        lock: IO[bytes],
    ) -> None:
        self._child = child
        self._pipe = ChildChannel(child, channel, "the RabbitMQ publisher process")
        self._address = address
        self._exchange = exchange
        self._state = state
        self._lock = lock  # held until close() or abort()
        # Imported here: the publisher process imports this package too, and needs neither
        # pyarrow nor the JSONL writer (~50 MB and a third of a second less to start).
        from fauxsim.sinks.stream.bodies import event_messages  # noqa: PLC0415

        self._event_messages = event_messages
        self._done = False

    @property
    def resume_after(self) -> int | None:
        """The watermark of the last batch whose every event was confirmed, or None."""
        return self._state.read()

    @property
    def state_file(self) -> Path:
        return self._state.path

    @property
    def publisher_pid(self) -> int | None:
        """The publisher process (``fauxsim-stream-publisher``), for measurements."""
        return self._child.pid

    def describe(self) -> str:
        return f"RabbitMQ {self._address.masked()} exchange {self._exchange}"

    def write(self, batch: Batch) -> None:
        """Hand the batch's events over; blocks while two earlier batches await confirms.

        Reads the rows of ``events`` and leaves the batch as it is: other sinks get it next.
        """
        if self._done:
            msg = "write() after close(): open a new sink"
            raise RuntimeError(msg)
        messages = self._event_messages(batch.watermark, batch.rows.get(EVENTS.name, ()))
        self._pipe.send(marshal.dumps(messages.pack()))

    def close(self) -> None:
        """Wait until every event is confirmed and the last watermark recorded."""
        if self._done:
            return
        self._done = True
        try:
            self._pipe.finish()
        finally:
            self._lock.close()  # once the child can no longer record a watermark

    def abort(self) -> None:
        """Stop publishing at once; the confirmed watermark stays recorded for a resume."""
        if self._done:
            return
        self._done = True
        self._pipe.stop()
        self._lock.close()  # once the child can no longer record a watermark

    def receive(self) -> Opened | Closed:
        """The child's next message; a failure it reports is raised here."""
        message: Opened | Closed = self._pipe.receive()
        return message
