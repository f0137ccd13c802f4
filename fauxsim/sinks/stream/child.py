"""The publisher process: receives batches of messages from the run and publishes them.

It runs beside the engine, on the other core: encoding AMQP frames costs pika ~3x what
simulating an event costs, so in the run's own process (a thread shares the interpreter
lock) the run would be limited by their sum instead of the slower of the two. The parent
sends each batch's :class:`~fauxsim.sinks.stream.messages.Messages` as ``marshal`` data;
the child publishes it while the next one is being made, records the watermark of each
batch whose every message is confirmed, and reads the next batch only while fewer than
:data:`MAX_IN_FLIGHT` batches await their confirms: memory stays flat.
"""

from __future__ import annotations

import marshal
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fauxsim.sinks.child_process import CLOSE, Closed, Failed, drain, end_with_parent, portable
from fauxsim.sinks.stream.address import BrokerAddress
from fauxsim.sinks.stream.messages import Messages
from fauxsim.sinks.stream.publisher import Publisher

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from fauxsim.sinks.stream.state import StreamState

_WHAT = "the RabbitMQ publisher process"
MAX_IN_FLIGHT = 2  # batches published and not yet wholly confirmed, at most


@dataclass(frozen=True, slots=True)
class Opened:
    pass


def serve(channel: Connection, parent: int, url: str, exchange: str, state: StreamState) -> None:
    """The child's life: connect, publish each batch received, finish when told."""
    end_with_parent(parent)
    # Ctrl-C reaches the whole process group; the parent decides, and aborts the child.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        publisher = Publisher(BrokerAddress.parse(url), exchange, on_confirmed=state.record)
        publisher.open()
    except BaseException as error:  # noqa: BLE001 - every failure goes to the parent
        channel.send(Failed(portable(error, _WHAT)))
        return
    channel.send(Opened())
    try:
        _publish_until_closed(channel, publisher)
    except BaseException as error:  # noqa: BLE001
        channel.send(Failed(portable(error, _WHAT)))
        drain(channel)


def _publish_until_closed(channel: Connection, publisher: Publisher) -> None:
    while True:
        publisher.wait(fewer_than=MAX_IN_FLIGHT, readable=channel.fileno())
        try:
            message = channel.recv_bytes()
        except EOFError:  # the parent is gone without a word: keep what is confirmed
            return
        if message == CLOSE:
            publisher.wait(fewer_than=1)
            publisher.close()
            channel.send(Closed())
            return
        publisher.publish(Messages.unpack(marshal.loads(message)))  # noqa: S302 - our parent
