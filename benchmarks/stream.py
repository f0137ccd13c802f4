"""Stream speed: a black_friday batch run published to RabbitMQ, against a bare pika client.

    .venv/bin/python benchmarks/stream.py                          # until 2024-11-15
    .venv/bin/python benchmarks/stream.py --until 2024-11-22 --repeat 3
    .venv/bin/python benchmarks/stream.py --queue                  # a durable queue bound

Prints events/s in wall time (it is I/O: the broker, the publisher process and the
engine work at once) for:

- stream: ``run_into(open_stream_sink(...), scenario)``, the whole run: simulating,
  making the bodies, publishing with confirms, recording the resume state, ``close()``;
- bare pika: the same messages (same bodies and properties, same batches), built before
  the clock starts, published by a minimal pika ``SelectConnection`` loop with the same
  confirm policy: at most two batches unconfirmed, a batch done when all its messages are.

and the ratio stream / bare (target >= 0.8; aim >= 50,000 events/s), and the peak
resident memory of the publisher process. ``--in-process`` adds a third figure: the
same publisher driven in the engine's own process (no overlap: what a thread would get,
pika being pure Python under the interpreter lock), the case for the child process.
Both publish to a fresh durable topic exchange, deleted afterwards; with ``--queue`` a
durable queue bound with ``#`` takes every message (persistent, so the broker writes them
to disk), else the broker drops them. The broker: ``--url`` (default the local guest).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import threading
import time
import uuid
from collections import deque
from itertools import accumulate
from pathlib import Path
from statistics import median
from typing import TYPE_CHECKING

import pika
from pika.adapters.select_connection import SelectConnection

from fauxsim.runner import generate, run_into
from fauxsim.scenario.loading import load_scenario
from fauxsim.sinks.stream import open_stream_sink
from fauxsim.sinks.stream.address import BrokerAddress
from fauxsim.sinks.stream.bodies import event_messages
from fauxsim.sinks.stream.publisher import Publisher
from fauxsim.tables import EVENTS

if TYPE_CHECKING:
    from fauxsim.sinks.stream.messages import Messages

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "black_friday.yaml"
URL = "amqp://guest:guest@127.0.0.1:5672/"
TARGET_RATIO, TARGET_RATE = 0.8, 50_000


def batch_messages(until: dt.date) -> list[Messages]:
    """The run's messages, batch by batch, as the sink makes them."""
    scenario = load_scenario(SCENARIO)
    return [
        event_messages(batch.watermark, batch.rows.get(EVENTS.name, ()))
        for batch in generate(scenario, until=until)
    ]


def properties(event_id: int, kind: str, stamp: int) -> pika.BasicProperties:
    return pika.BasicProperties(
        content_type="application/json",
        delivery_mode=2,
        message_id=str(event_id),
        timestamp=stamp,
        type=kind,
    )


def bare_pika(url: str, exchange: str, batches: list[Messages]) -> float:
    """Seconds to publish ``batches`` with confirms, at most two batches unconfirmed."""
    todo = deque(zip(batches, accumulate(map(len, batches)), strict=True))
    waiting: deque[int] = deque()  # last delivery tag of each unconfirmed batch
    clock: list[float] = []

    def publish_next(channel: pika.channel.Channel) -> None:
        while todo and len(waiting) < 2:
            messages, end = todo.popleft()
            for body, kind, event_id, stamp in zip(
                messages.bodies,
                messages.event_types,
                messages.event_ids,
                messages.timestamps,
                strict=True,
            ):
                channel.basic_publish(exchange, kind, body, properties(event_id, kind, stamp))
            waiting.append(end)

    def on_confirm(frame: pika.frame.Method, channel: pika.channel.Channel) -> None:
        tag = frame.method.delivery_tag  # acks come in order here: no queue or one queue
        while waiting and waiting[0] <= tag:
            waiting.popleft()
        publish_next(channel)
        if not todo and not waiting:
            clock.append(time.perf_counter())
            channel.connection.close()

    def on_open(connection: SelectConnection) -> None:
        connection.channel(on_open_callback=on_channel)

    def on_channel(channel: pika.channel.Channel) -> None:
        def started(_frame: object) -> None:
            clock.append(time.perf_counter())
            publish_next(channel)

        channel.confirm_delivery(lambda frame: on_confirm(frame, channel), callback=started)

    connection = SelectConnection(
        pika.URLParameters(url),
        on_open_callback=on_open,
        on_close_callback=lambda connection, _reason: connection.ioloop.stop(),
    )
    connection.ioloop.start()
    return clock[1] - clock[0]


def through_sink(url: str, exchange: str, until: dt.date) -> tuple[float, int, int]:
    """Seconds of the whole run into the stream sink, the events it published, and the
    publisher process's peak resident memory in MB (0 where /proc is missing)."""
    scenario = load_scenario(SCENARIO)
    with tempfile.TemporaryDirectory() as state_dir:
        sink = open_stream_sink(url, scenario, exchange=exchange, state_dir=Path(state_dir))
        peak: list[int] = [0]
        watcher = threading.Thread(target=watch_peak, args=(sink.publisher_pid, peak))
        watcher.start()
        began = time.perf_counter()
        stats = run_into(sink, scenario, until=until)
        seconds = time.perf_counter() - began
        watcher.join()
        return seconds, stats.events, peak[0]


def watch_peak(pid: int, peak: list[int]) -> None:
    """Keep the peak RSS (VmHWM) of process ``pid`` in ``peak[0]`` until it ends.

    Not ``getrusage(RUSAGE_CHILDREN)``: a spawned child is forked from this process first,
    and its maximum counts this process's memory (the baseline's messages) before exec.
    """
    status = Path(f"/proc/{pid}/status")
    while True:
        try:
            text = status.read_text()
        except OSError:
            return
        for line in text.splitlines():
            if line.startswith("VmHWM:"):
                peak[0] = int(line.split()[1]) // 1024
        time.sleep(0.1)


def in_process(url: str, exchange: str, until: dt.date) -> float:
    """Seconds of the same run with the publisher in this process: engine, then publish."""
    scenario = load_scenario(SCENARIO)
    publisher = Publisher(BrokerAddress.parse(url), exchange, on_confirmed=lambda _: None)
    publisher.open()
    began = time.perf_counter()
    for batch in generate(scenario, until=until):
        publisher.wait(fewer_than=2)
        publisher.publish(event_messages(batch.watermark, batch.rows.get(EVENTS.name, ())))
    publisher.wait(fewer_than=1)
    seconds = time.perf_counter() - began
    publisher.close()
    return seconds


def declare(url: str, exchange: str, *, queue: bool) -> None:
    with pika.BlockingConnection(pika.URLParameters(url)) as connection:
        channel = connection.channel()
        channel.exchange_declare(exchange, "topic", durable=True)
        if queue:
            channel.queue_declare(exchange, durable=True)
            channel.queue_bind(exchange, exchange, "#")


def delete(url: str, exchange: str) -> None:
    with pika.BlockingConnection(pika.URLParameters(url)) as connection:
        channel = connection.channel()
        channel.queue_delete(exchange)
        channel.exchange_delete(exchange)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--until", type=dt.date.fromisoformat, default=dt.date(2024, 11, 15))
    parser.add_argument("--url", default=URL)
    parser.add_argument("--queue", action="store_true", help="bind a durable queue with #")
    parser.add_argument("--repeat", type=int, default=1, help="N runs of each, the median")
    parser.add_argument("--in-process", action="store_true", help="also publish in-process")
    args = parser.parse_args()

    batches = batch_messages(args.until)
    events = sum(map(len, batches))
    print(f"black_friday until {args.until}: {events:,} events in {len(batches)} batches")
    in_process_label = f" {'in-process':>11}" if args.in_process else ""
    print(f"{'run':>4} {'stream ev/s':>12} {'bare pika ev/s':>15} {'ratio':>6}{in_process_label}")
    ratios, rates, peaks = [], [], []
    for run in range(1, args.repeat + 1):
        exchange = f"fauxsim.bench.{uuid.uuid4().hex[:8]}"
        try:
            declare(args.url, exchange, queue=args.queue)
            bare = events / bare_pika(args.url, exchange, batches)
            if args.queue:
                delete(args.url, exchange)
                declare(args.url, exchange, queue=True)
            seconds, published, peak = through_sink(args.url, exchange, args.until)
            peaks.append(peak)
            assert published == events, (published, events)
            line = ""
            if args.in_process:
                if args.queue:
                    delete(args.url, exchange)
                    declare(args.url, exchange, queue=True)
                line = f" {events / in_process(args.url, exchange, args.until):11,.0f}"
        finally:
            delete(args.url, exchange)
        rate = events / seconds
        ratios.append(rate / bare)
        rates.append(rate)
        print(f"{run:4} {rate:12,.0f} {bare:15,.0f} {rate / bare:6.2f}{line}")
    print(
        f"median: stream {median(rates):,.0f} events/s (aim {TARGET_RATE:,}), "
        f"ratio {median(ratios):.2f} (target >= {TARGET_RATIO}); "
        f"publisher process peak RSS {max(peaks)} MB"
    )


if __name__ == "__main__":
    main()
