"""``fauxsim run ... --db URL --stream amqp://...`` as a user runs it: Postgres and the
RabbitMQ stream written by one command, killed, resumed, and ending with the same events.

A consumer bound before the run, after dedupe on ``message_id``, holds exactly the
event ids of the database (Postgres keeps the first delivery of a duplicated event; the
stream publishes both, with one message id).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
import yaml

from tests.integration.test_live_runs import QUIRKY_SHOP, wait_for_watermark
from tests.integration.test_live_runs import fauxsim as run_fauxsim

if TYPE_CHECKING:
    from tests.integration.test_stream import Broker

PROJECT = Path(__file__).parents[2]

pytestmark = [pytest.mark.rabbitmq, pytest.mark.slow]


def fauxsim(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    """The command, with the stream's resume state in the test's own folder."""
    return run_fauxsim(*args, environment={"XDG_DATA_HOME": str(tmp_path / "data-home")})


def database_event_ids(url: str) -> set[int]:
    with psycopg.connect(url) as connection:
        return {row[0] for row in connection.execute("SELECT event_id FROM events")}


def consumed_ids(broker: Broker, queue: str) -> tuple[set[int], int]:
    """The distinct message ids in ``queue``, and how many messages it held."""
    received = broker.drain(queue)
    return {int(message.properties.message_id) for message in received}, len(received)


def scenario_file(tmp_path: Path, **changes: Any) -> Path:
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump({**QUIRKY_SHOP, **changes}))
    return path


def test_a_killed_batch_run_into_postgres_and_the_stream_resumes_to_the_same_events(
    broker: Broker, postgres_url, tmp_path
):
    queue = broker.bind_queue()
    command = (
        "run", str(scenario_file(tmp_path)), "--db", postgres_url,
        "--stream", broker.url, "--stream-exchange", broker.exchange, "--batch-rows", "400",
    )  # fmt: skip
    first = fauxsim(tmp_path, *command)
    try:
        while broker.depth(queue) < 2_000:
            assert first.poll() is None, f"the run ended before it could be killed: {first.stderr}"
            time.sleep(0.01)  # polling the condition, not waiting for a moment
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait()

    second = fauxsim(tmp_path, *command)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    rabbitmq = f"RabbitMQ amqp://guest:***@127.0.0.1:5672/ exchange {broker.exchange}"
    assert f"Extended live_test into {rabbitmq} and Postgres" in out

    ids, messages = consumed_ids(broker, queue)
    in_database = database_event_ids(postgres_url)
    assert ids == in_database
    assert messages >= len(in_database)  # at least once: duplicates and the unconfirmed tail


def test_a_live_run_into_postgres_and_the_stream_killed_then_finished(
    broker: Broker, postgres_url, tmp_path
):
    queue = broker.bind_queue()
    command = (
        "run", str(scenario_file(tmp_path)), "--db", postgres_url, "--live", "--speed", "7200",
        "--until", "2024-03-01T20:00", "--stream", broker.url,
        "--stream-exchange", broker.exchange,
    )  # fmt: skip
    first = fauxsim(tmp_path, *command)
    start = dt.datetime(2024, 2, 29, 23, tzinfo=dt.UTC)
    try:
        wait_for_watermark(postgres_url, first, start + dt.timedelta(hours=6))
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait()
    second = fauxsim(tmp_path, *command)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    assert "Traceback" not in out + err

    ids, _ = consumed_ids(broker, queue)
    assert ids == database_event_ids(postgres_url)
    assert len(ids) > 1_000


def test_a_stream_alone_writes_no_database(broker: Broker, tmp_path):
    queue = broker.bind_queue()
    env_free = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    run = subprocess.Popen(  # noqa: S603 - our interpreter, our command
        [sys.executable, "-m", "cli.app", "run", str(scenario_file(tmp_path)),
         "--until", "2024-03-01T06:00", "--stream", broker.url,
         "--stream-exchange", broker.exchange],
        cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**env_free, "XDG_DATA_HOME": str(tmp_path / "data-home")},
    )  # fmt: skip
    out, err = run.communicate(timeout=300)
    assert run.returncode == 0, err
    assert "Wrote live_test into RabbitMQ" in out
    assert "Postgres" not in out
    assert "rows published" in out
    assert "customers" not in out  # a stream carries only the events
    assert broker.depth(queue) > 0


def test_an_unreachable_broker_is_one_line_and_exit_3(postgres_url, tmp_path):
    run = fauxsim(
        tmp_path, "run", str(scenario_file(tmp_path)), "--db", postgres_url,
        "--stream", "amqp://guest:guest@127.0.0.1:1/",
    )  # fmt: skip
    _, err = run.communicate(timeout=120)
    assert run.returncode == 3
    assert err.count("\n") == 1, err
    assert err.startswith("error: cannot use RabbitMQ amqp://guest:***@127.0.0.1:1/")
    with psycopg.connect(postgres_url) as connection:
        tables = connection.execute("SELECT to_regclass('events')").fetchone()
    assert tables is not None
    assert tables[0] is None  # nothing was written: the stream is opened first
