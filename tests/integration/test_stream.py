"""The RabbitMQ stream sink against a real broker: what arrives, resumes, and errors.

Each test declares its own exchange and queues (unique names) and deletes them after.
The broker is ``FAUXSIM_TEST_AMQP_URL`` (default ``amqp://guest:guest@127.0.0.1:5672/``);
``.ci/run`` starts the machine's RabbitMQ. Without a broker these tests are skipped, or
fail where ``FAUXSIM_REQUIRE_SERVICES`` is set (CI): see ``tests/service_support.py``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pika
import pytest
from pika.exceptions import AMQPError

from fauxsim.clock import SECOND
from fauxsim.errors import SinkError
from fauxsim.events import ID, OCCURRED_AT, RECEIVED_AT, TYPE
from fauxsim.runner import generate, run_into
from fauxsim.sinks.base import Batch, open_sink
from fauxsim.sinks.fanout import FanOut
from fauxsim.sinks.stream import open_stream_sink
from tests.cli.cli_support import run_cli
from tests.integration.scenario_fixtures import stream_scenario
from tests.integration.tcp_proxy import TcpProxy
from tests.service_support import unavailable

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.rabbitmq

AMQP_URL = os.environ.get("FAUXSIM_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
ROOT = Path(__file__).resolve().parents[2]
RUN_SCRIPT = Path(__file__).with_name("stream_run.py")
CONSUMER = ROOT / "examples" / "stream_consumer.py"


@dataclass
class Received:
    routing_key: str
    properties: Any
    body: bytes


@dataclass
class Broker:
    """A unique exchange (and queues bound to it with ``#``) for one test."""

    url: str
    exchange: str
    queues: list[str] = field(default_factory=list)

    def channel(self) -> Any:
        connection = pika.BlockingConnection(pika.URLParameters(self.url))
        return connection.channel()

    def bind_queue(self) -> str:
        """A durable queue bound with ``#``: it receives every message of the exchange."""
        name = f"{self.exchange}.q{len(self.queues)}"
        channel = self.channel()
        channel.exchange_declare(self.exchange, "topic", durable=True)
        channel.queue_declare(name, durable=True)
        channel.queue_bind(name, self.exchange, "#")
        channel.connection.close()
        self.queues.append(name)
        return name

    def depth(self, queue: str) -> int:
        channel = self.channel()
        try:
            return int(channel.queue_declare(queue, passive=True).method.message_count)
        finally:
            channel.connection.close()

    def drain(self, queue: str) -> list[Received]:
        """Every message in ``queue``, in queue order (the publisher confirmed them all)."""
        channel = self.channel()
        received = []
        while True:
            method, properties, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                break
            received.append(Received(method.routing_key, properties, body))
        channel.connection.close()
        return received

    def delete(self) -> None:
        channel = self.channel()
        for queue in self.queues:
            channel.queue_delete(queue)
        channel.exchange_delete(self.exchange)
        channel.connection.close()


@pytest.fixture(scope="session")
def amqp_url() -> str:
    try:
        pika.BlockingConnection(pika.URLParameters(AMQP_URL)).close()
    except AMQPError as error:
        unavailable(f"needs RabbitMQ at {AMQP_URL} (FAUXSIM_TEST_AMQP_URL): {error!r}")
    return AMQP_URL


@pytest.fixture
def broker(amqp_url: str) -> Iterator[Broker]:
    broker = Broker(amqp_url, f"fauxsim.test.{uuid.uuid4().hex[:12]}")
    try:
        yield broker
    finally:
        broker.delete()


def jsonl_lines(scenario: Any, out: Path) -> list[bytes]:
    """The events.jsonl lines of the same run, written by the JSONL sink."""
    run_into(open_sink("jsonl", out), scenario)
    return (out / "events.jsonl").read_bytes().splitlines()


def delivered_events(scenario: Any) -> list[tuple[Any, ...]]:
    return [event for batch in generate(scenario) for event in batch.rows.get("events", ())]


# ---------------------------------------------------------------------- what arrives


def test_every_delivered_event_arrives_once_as_its_jsonl_line(broker: Broker, tmp_path):
    """Each delivered event (duplicates and late arrivals included) is one message, in
    delivery order: its JSONL line as body, routed by type, labelled with its id and time."""
    scenario = stream_scenario()
    queue = broker.bind_queue()
    sink = open_stream_sink(broker.url, scenario, exchange=broker.exchange, state_dir=tmp_path)
    stats = run_into(sink, scenario, resume_after=sink.resume_after)

    received = broker.drain(queue)
    events = delivered_events(scenario)
    assert len(received) == len(events) == stats.events
    ids = [event[ID] for event in events]
    assert len(set(ids)) < len(ids), "the scenario's duplicate_events quirk should show"
    assert any(event[RECEIVED_AT] != event[OCCURRED_AT] for event in events), (
        "late arrivals expected"
    )
    assert [message.body for message in received] == jsonl_lines(scenario, tmp_path / "files")
    for message, event in zip(received, events, strict=True):
        assert message.routing_key == event[TYPE]
        assert message.properties.message_id == str(event[ID])
        assert message.properties.type == event[TYPE]
        assert message.properties.timestamp == event[RECEIVED_AT] // SECOND
        assert message.properties.content_type == "application/json"
        assert message.properties.delivery_mode == 2
    assert orjson.loads(received[0].body)["event_id"] == events[0][ID]


def test_the_batch_is_left_for_the_next_sink(broker: Broker, tmp_path):
    """The sink reads a batch's rows and changes neither the batch nor its lists."""
    scenario = stream_scenario()
    batch = next(iter(generate(scenario)))
    before = {name: list(rows) for name, rows in batch.rows.items()}
    sink = open_stream_sink(broker.url, scenario, exchange=broker.exchange, state_dir=tmp_path)
    sink.write(batch)
    sink.close()
    assert {name: list(rows) for name, rows in batch.rows.items()} == before


def test_the_stream_beside_files_publishes_what_the_files_hold(broker: Broker, tmp_path):
    """Stream first, JSONL after it in one FanOut (as ``fauxsim run`` orders them): the file
    sink empties the rows it writes, and still every event is published and written."""
    scenario = stream_scenario()
    queue = broker.bind_queue()
    stream = open_stream_sink(broker.url, scenario, exchange=broker.exchange, state_dir=tmp_path)
    files = open_sink("jsonl", tmp_path / "files")
    run_into(FanOut([stream, files]), scenario)
    lines = (tmp_path / "files" / "events.jsonl").read_bytes().splitlines()
    assert [message.body for message in broker.drain(queue)] == lines
    assert len(lines) == len(delivered_events(scenario))


def test_other_tables_are_not_published(broker: Broker, tmp_path):
    scenario = stream_scenario()
    queue = broker.bind_queue()
    sink = open_stream_sink(broker.url, scenario, exchange=broker.exchange, state_dir=tmp_path)
    sink.write(Batch(1, {"products": [(1, "SKU-1")], "events": []}))
    sink.close()
    assert broker.drain(queue) == []
    assert sink.resume_after == 1


# ---------------------------------------------------------------------- resuming


def test_a_completed_run_run_again_publishes_nothing(broker: Broker, tmp_path):
    scenario = stream_scenario()
    queue = broker.bind_queue()
    first = open_stream_sink(broker.url, scenario, exchange=broker.exchange, state_dir=tmp_path)
    stats = run_into(first, scenario, resume_after=first.resume_after)
    assert first.resume_after == stats.watermark
    broker.drain(queue)

    again = open_stream_sink(broker.url, scenario, exchange=broker.exchange, state_dir=tmp_path)
    assert again.resume_after == stats.watermark
    assert run_into(again, scenario, resume_after=again.resume_after).events == 0
    assert broker.drain(queue) == []


def test_another_seed_starts_from_the_beginning(broker: Broker, tmp_path):
    scenario = stream_scenario(end="2024-03-02")
    sink = open_stream_sink(broker.url, scenario, exchange=broker.exchange, state_dir=tmp_path)
    run_into(sink, scenario)
    other = stream_scenario(end="2024-03-02", seed=12)
    again = open_stream_sink(broker.url, other, exchange=broker.exchange, state_dir=tmp_path)
    again.abort()
    assert sink.resume_after is not None
    assert again.resume_after is None


def test_a_killed_publisher_resumes_with_nothing_lost(broker: Broker, tmp_path):
    """SIGKILL mid-run, then the same command: after dedupe on message_id the queue holds
    exactly the events of one run, and the second run published only from its resume point."""
    scenario = stream_scenario()
    queue = broker.bind_queue()
    command = [sys.executable, str(RUN_SCRIPT), broker.url, broker.exchange, str(tmp_path), "300"]
    run = subprocess.Popen(command, cwd=ROOT)  # noqa: S603 - our own interpreter and script
    try:
        while broker.depth(queue) < 1_500:
            assert run.poll() is None, "the run ended before it could be killed"
            time.sleep(0.01)  # polling the condition, not waiting for a moment
        run.send_signal(signal.SIGKILL)
    finally:
        run.wait()
    assert run.returncode == -signal.SIGKILL

    sink = open_stream_sink(broker.url, scenario, exchange=broker.exchange, state_dir=tmp_path)
    assert sink.resume_after is not None
    second = run_into(sink, scenario, resume_after=sink.resume_after, batch_rows=300)

    events = delivered_events(scenario)
    received = broker.drain(queue)
    assert {int(message.properties.message_id) for message in received} == {
        event[ID] for event in events
    }
    assert 0 < second.events < len(events)
    assert len(received) >= len(events)  # at least once: the unconfirmed tail came twice


# ---------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("amqp://guest:guest@127.0.0.1:1/", "cannot use RabbitMQ amqp://guest:***@127.0.0.1:1/"),
        ("http://127.0.0.1:5672/", "malformed broker URL 'http://127.0.0.1:5672/'"),
        ("amqp://guest:guest@127.0.0.1:70000/", "the port is not a number"),
        ("amqp://guest:wrong@127.0.0.1:5672/", "refused the credentials of user 'guest'"),
        ("amqp://guest:guest@127.0.0.1:5672/no-such-vhost", "no virtual host 'no-such-vhost'"),
    ],
    ids=["unreachable", "not-amqp", "bad-port", "credentials", "vhost"],
)
def test_a_broker_that_cannot_be_used_is_one_clear_line(amqp_url, tmp_path, url, expected):
    del amqp_url  # only needs the broker to run
    with pytest.raises(SinkError) as raised:
        open_stream_sink(url, stream_scenario(), state_dir=tmp_path)
    message = str(raised.value)
    assert expected in message
    assert raised.value.exit_code == 3
    assert "\n" not in message
    assert "Traceback" not in message
    assert ":wrong@" not in message


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("?heartbeat=abc", "Invalid heartbeat value 'abc'\n"),
        ("?foo=1", "Unknown URL parameter: 'foo'\n"),
        ("?heartbeat=1&heartbeat=2", "Expected exactly one value for URL parameter heartbeat"),
    ],
    ids=["bad-heartbeat", "unknown-parameter", "repeated-parameter"],
)
def test_a_url_pika_cannot_read_is_refused_before_the_publisher_starts(
    tmp_path, capsys, monkeypatch, query, reason
):
    """No broker needed: the run's own process checks the URL as pika reads it, so the user
    gets one line and exit 3 instead of the publisher process's traceback."""
    url = f"amqp://guest:s3cret@127.0.0.1:5672/{query}"
    expected = f"error: malformed broker URL 'amqp://guest:***@127.0.0.1:5672/{query}': {reason}"
    out = tmp_path / "data"
    result = run_cli(
        ["run", "black_friday", "--until", "2024-11-03", "--stream", url, "--out", str(out)],
        capsys,
        monkeypatch,
    )
    assert result.exit_code == 3
    assert result.stderr.startswith(expected)
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert "s3cret" not in result.stderr
    assert not out.exists()  # refused before any output was opened


def test_an_unclosed_ipv6_host_is_a_malformed_url(capsys, monkeypatch):
    url = "amqp://guest:s3cret@[::1:5672/"
    result = run_cli(["run", "black_friday", "--stream", url], capsys, monkeypatch)
    assert result.exit_code == 3
    assert (
        result.stderr
        == "error: malformed broker URL 'amqp://guest:***@[::1:5672/': Invalid IPv6 URL\n"
    )


def test_an_exchange_of_another_type_is_refused(broker: Broker, tmp_path):
    channel = broker.channel()
    channel.exchange_declare(broker.exchange, "fanout", durable=True)
    channel.connection.close()
    with pytest.raises(SinkError) as raised:
        open_stream_sink(
            broker.url, stream_scenario(), exchange=broker.exchange, state_dir=tmp_path
        )
    message = str(raised.value)
    assert f"the exchange {broker.exchange!r}" in message
    assert "PRECONDITION_FAILED" in message
    assert "--stream-exchange" in message
    assert raised.value.exit_code == 3
    assert "\n" not in message


def test_a_second_run_of_the_same_dataset_is_refused_while_the_first_publishes(
    broker: Broker, tmp_path
):
    scenario = stream_scenario()
    first = open_stream_sink(broker.url, scenario, exchange=broker.exchange, state_dir=tmp_path)
    try:
        with pytest.raises(SinkError) as raised:
            open_stream_sink(broker.url, scenario, exchange=broker.exchange, state_dir=tmp_path)
    finally:
        first.abort()
    assert str(raised.value).startswith(
        f"another run is publishing this dataset to exchange {broker.exchange!r} on 127.0.0.1:5672/"
    )
    assert raised.value.exit_code == 3
    open_stream_sink(broker.url, scenario, exchange=broker.exchange, state_dir=tmp_path).close()


def test_the_description_hides_the_password(broker: Broker, tmp_path):
    sink = open_stream_sink(
        broker.url, stream_scenario(), exchange=broker.exchange, state_dir=tmp_path
    )
    sink.abort()
    assert (
        sink.describe() == f"RabbitMQ amqp://guest:***@127.0.0.1:5672/ exchange {broker.exchange}"
    )


# ---------------------------------------------------------------------- a broker going away


def rabbitmqctl(*arguments: str) -> str:
    """The output of the broker's admin command; skips the test where it is not installed."""
    command = shutil.which("rabbitmqctl")
    if command is None:
        unavailable("needs rabbitmqctl, to close a connection from the broker's side")
    done = subprocess.run(  # noqa: S603 - the broker's own tool, fixed arguments
        [command, "-q", *arguments], capture_output=True, text=True, check=True
    )
    return done.stdout


def close_connections_named(name: str) -> int:
    """Close, from the broker's side, every connection whose connection_name holds ``name``."""
    listing = rabbitmqctl("list_connections", "pid", "client_properties")
    pids = [line.split("\t")[0] for line in listing.splitlines() if name in line]
    for pid in pids:
        rabbitmqctl("close_connection", pid, "test: broker going away")
    return len(pids)


def test_a_connection_cut_mid_run_reconnects_and_loses_nothing(broker: Broker, tmp_path):
    scenario = stream_scenario()
    queue = broker.bind_queue()
    sink = open_stream_sink(broker.url, scenario, exchange=broker.exchange, state_dir=tmp_path)
    cut: list[int] = []

    def cut_once(_stats: object) -> None:
        if not cut:
            cut.append(close_connections_named(broker.exchange))

    stats = run_into(sink, scenario, batch_rows=1_000, on_batch=cut_once)
    assert cut == [1]
    received = broker.drain(queue)
    assert {int(message.properties.message_id) for message in received} == {
        event[ID] for event in delivered_events(scenario)
    }
    assert sink.resume_after == stats.watermark


# ---------------------------------------------------------------------- the example consumer


def test_the_example_consumer_loads_each_event_once_into_duckdb(broker: Broker, tmp_path):
    """Run twice over a stream with duplicates: one row per event id, counts as printed."""
    duckdb = pytest.importorskip("duckdb")
    scenario = stream_scenario(end="2024-03-02")
    queue = broker.bind_queue()
    sink = open_stream_sink(broker.url, scenario, exchange=broker.exchange, state_dir=tmp_path)
    run_into(sink, scenario)
    events = delivered_events(scenario)
    unique = {event[ID]: event for event in events}
    database = tmp_path / "events.duckdb"
    command = [
        sys.executable,
        str(CONSUMER),
        *("--url", broker.url, "--exchange", broker.exchange, "--queue", queue),
        *("--database", str(database), "--idle-seconds", "1"),
    ]

    def consume() -> list[str]:
        done = subprocess.run(  # noqa: S603 - our own interpreter and example
            command, capture_output=True, text=True, check=True, cwd=ROOT
        )
        return done.stdout.splitlines()

    printed = consume()
    duplicates = len(events) - len(unique)
    assert duplicates > 0
    assert printed[0] == (
        f"received {len(events)} messages; loaded {len(unique)} new events, "
        f"{duplicates} already loaded"
    )
    per_type = Counter(event[TYPE] for event in unique.values())
    assert printed[1:-1] == [f"  {kind:24} {count:8}" for kind, count in sorted(per_type.items())]
    with duckdb.connect(str(database)) as connection:
        rows = connection.execute("SELECT event_id, event_type, event FROM events").fetchall()
    assert {row[0] for row in rows} == set(unique)
    assert all(unique[event_id][TYPE] == kind for event_id, kind, _ in rows)
    assert all(orjson.loads(body)["event_id"] == event_id for event_id, _, body in rows)

    # The same events again (a rerun after a lost state file): nothing new is loaded.
    sink = open_stream_sink(
        broker.url, scenario, exchange=broker.exchange, state_dir=tmp_path / "s"
    )
    run_into(sink, scenario)
    assert consume()[0] == (
        f"received {len(events)} messages; loaded 0 new events, {len(events)} already loaded"
    )


def test_a_connection_dropped_mid_publish_republishes_the_unconfirmed(broker: Broker, tmp_path):
    """The network drops the connection half-way through a batch: the publisher reconnects
    and publishes again what was not confirmed; every event arrives, the run completes."""
    scenario = stream_scenario()
    queue = broker.bind_queue()
    events = delivered_events(scenario)
    target = pika.URLParameters(broker.url)
    with TcpProxy((target.host, target.port), drop_after=1_000_000) as proxy:
        url = f"amqp://guest:guest@127.0.0.1:{proxy.port}/"
        sink = open_stream_sink(url, scenario, exchange=broker.exchange, state_dir=tmp_path)
        stats = run_into(sink, scenario, batch_rows=20_000)
        assert proxy.dropped
    received = broker.drain(queue)
    assert {int(message.properties.message_id) for message in received} == {
        event[ID] for event in events
    }
    assert len(received) > len(events)  # the unconfirmed part of the batch came twice
    assert sink.resume_after == stats.watermark


@pytest.mark.slow
def test_a_broker_gone_for_good_stops_the_run_after_a_few_retries(broker: Broker, tmp_path):
    """Reconnects are refused (the network is cut): after the retries, one clear SinkError;
    the batch confirmed before the cut stays recorded for the next run."""
    scenario = stream_scenario()
    first, second = list(generate(scenario, batch_rows=4_000))[:2]
    target = pika.URLParameters(broker.url)
    with TcpProxy((target.host, target.port)) as proxy:
        url = f"amqp://guest:guest@127.0.0.1:{proxy.port}/"
        sink = open_stream_sink(url, scenario, exchange=broker.exchange, state_dir=tmp_path)
        sink.write(first)
        for _ in range(1_000):  # until the child recorded the first batch as confirmed
            if sink.resume_after == first.watermark:
                break
            time.sleep(0.01)
        assert sink.resume_after == first.watermark
        proxy.cut()
        sink.write(second)  # handed over; the publisher retries in the background
        with pytest.raises(SinkError) as raised:
            sink.close()
    message = str(raised.value)
    where = f"RabbitMQ amqp://guest:***@127.0.0.1:{proxy.port}/"
    assert message.startswith(f"cannot publish to {where}: lost the connection")
    last = "(the last: lost the connection (connection refused))"
    assert f"5 reconnects over 17 s did not help {last}" in message
    assert "run the same command again to resume" in message
    assert "\n" not in message
    assert sink.resume_after == first.watermark


@pytest.mark.slow
def test_messages_the_broker_refuses_are_retried_then_reported(broker: Broker, tmp_path):
    """A queue that rejects publishes when full makes the broker nack: each nack is retried
    (republishing what is unconfirmed), a few times, then the run stops with one line."""
    scenario = stream_scenario()
    channel = broker.channel()
    channel.exchange_declare(broker.exchange, "topic", durable=True)
    full = f"{broker.exchange}.full"
    arguments = {"x-max-length": 100, "x-overflow": "reject-publish"}
    channel.queue_declare(full, durable=True, arguments=arguments)
    channel.queue_bind(full, broker.exchange, "#")
    channel.connection.close()
    broker.queues.append(full)

    sink = open_stream_sink(broker.url, scenario, exchange=broker.exchange, state_dir=tmp_path)
    with pytest.raises(SinkError) as raised:
        run_into(sink, scenario)
    message = str(raised.value)
    assert "the broker refused a message (basic.nack)" in message
    assert "5 reconnects over 17 s did not help" in message
    assert "\n" not in message
    assert sink.resume_after is None  # no batch was wholly confirmed
