"""Load the event stream into DuckDB: a queue bound to the exchange, idempotent inserts.

    fauxsim run black_friday --stream amqp://guest:guest@localhost:5672/ &
    python examples/stream_consumer.py --queue fauxsim.learner --database events.duckdb

The stream is at least once: after a crash or a broker hiccup the publisher sends the
unconfirmed tail again, and a duplicate_events quirk delivers some events twice on
purpose. So the table is keyed on the event id (the ``message_id`` property) and rows are
inserted-or-ignored: loading a message twice changes nothing. Messages are acknowledged
only after their chunk is committed, so a consumer killed mid-way loses nothing either.

With ``--queue NAME`` the queue is durable and keeps messages while no consumer runs
(bind it before the run starts); without it, a temporary exclusive queue sees only what
is published while the consumer runs. It stops after ``--idle-seconds`` without a message
or after ``--max-messages``, and prints how many events it loaded, per event type.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

try:
    import duckdb
except ImportError as missing:  # the plain install leaves the examples' tools out
    raise SystemExit(f"{missing.name} is missing: pip install -e '.[examples]'") from None
import orjson
import pika
import pyarrow as pa

if TYPE_CHECKING:
    from pika.adapters.blocking_connection import BlockingChannel

CHUNK = 5_000  # messages per insert (and per acknowledgement)
TABLE = """
CREATE TABLE IF NOT EXISTS events (
    event_id BIGINT PRIMARY KEY,  -- the message_id: one row per event, however often sent
    event_type VARCHAR NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    received_at TIMESTAMP NOT NULL,
    session_id BIGINT,
    customer_id BIGINT,
    order_id BIGINT,
    event JSON NOT NULL           -- the whole message body
)
"""
COUNTS = "SELECT event_type, count(*) FROM events GROUP BY event_type"


def open_queue(url: str, exchange: str, queue: str | None) -> tuple[BlockingChannel, str]:
    """A channel and the name of its queue, bound to ``exchange`` for every event type."""
    channel = pika.BlockingConnection(pika.URLParameters(url)).channel()
    channel.exchange_declare(exchange, "topic", durable=True)  # as fauxsim declares it
    if queue:
        channel.queue_declare(queue, durable=True)
    else:
        queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, exchange, routing_key="#")  # every event type
    channel.basic_qos(prefetch_count=CHUNK)
    return channel, queue


def as_rows(bodies: list[tuple[str, bytes]]) -> pa.Table:
    """The chunk as columns; timestamps stay RFC 3339 text until DuckDB casts them."""
    events = [(message_id, orjson.loads(body), body) for message_id, body in bodies]
    return pa.table(
        {
            "event_id": [int(message_id) for message_id, _, _ in events],
            "event_type": [event["event_type"] for _, event, _ in events],
            "occurred_at": [event["occurred_at"] for _, event, _ in events],
            "received_at": [event["received_at"] for _, event, _ in events],
            "session_id": [event["session_id"] for _, event, _ in events],
            "customer_id": [event["customer_id"] for _, event, _ in events],
            "order_id": [event["order_id"] for _, event, _ in events],
            "event": [body.decode() for _, _, body in events],
        }
    )


def load(database: duckdb.DuckDBPyConnection, chunk: pa.Table) -> None:
    """Insert the chunk's new events; ids already in the table (or twice in it) are ignored."""
    database.register("incoming", chunk)
    database.execute(
        "INSERT OR IGNORE INTO events SELECT event_id, event_type, "
        "strptime(occurred_at, '%Y-%m-%dT%H:%M:%S.%fZ'), "
        "strptime(received_at, '%Y-%m-%dT%H:%M:%S.%fZ'), "
        "session_id, customer_id, order_id, event FROM incoming "
        "QUALIFY row_number() OVER (PARTITION BY event_id) = 1"
    )
    database.unregister("incoming")


def consume(
    channel: BlockingChannel,
    queue: str,
    database: duckdb.DuckDBPyConnection,
    idle_seconds: float,
    max_messages: int | None,
) -> int:
    """Load messages until the queue is idle or ``max_messages`` came; return how many came."""
    received, pending, last_tag = 0, [], 0
    for method, properties, body in channel.consume(queue, inactivity_timeout=idle_seconds):
        if method is not None:
            pending.append((properties.message_id, body))
            last_tag = method.delivery_tag
            received += 1
        done = method is None or (max_messages is not None and received >= max_messages)
        if pending and (len(pending) >= CHUNK or done):
            load(database, as_rows(pending))
            channel.basic_ack(last_tag, multiple=True)  # after the rows are committed
            pending = []
        if done:
            break
    channel.cancel()
    return received


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="amqp://guest:guest@localhost:5672/")
    parser.add_argument("--exchange", default="fauxsim.events")
    parser.add_argument("--queue", help="a durable queue of this name (default: temporary)")
    parser.add_argument("--database", default="stream.duckdb", help="DuckDB file")
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument("--max-messages", type=int)
    args = parser.parse_args()

    database = duckdb.connect(args.database)
    database.execute(TABLE)
    before = dict(database.execute(COUNTS).fetchall())
    channel, queue = open_queue(args.url, args.exchange, args.queue)
    received = consume(channel, queue, database, args.idle_seconds, args.max_messages)
    channel.connection.close()
    after = dict(database.execute(COUNTS).fetchall())
    loaded = {kind: count - before.get(kind, 0) for kind, count in sorted(after.items())}
    new = sum(loaded.values())
    print(f"received {received} messages; loaded {new} new events, {received - new} already loaded")
    for kind, count in loaded.items():
        if count:
            print(f"  {kind:24} {count:8}")
    print(f"{sum(after.values())} events in {args.database}")


if __name__ == "__main__":
    main()
