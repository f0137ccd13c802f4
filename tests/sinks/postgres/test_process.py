"""The Postgres sink in a loader process: same rows, same errors, and it never outlives a run."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from fauxsim.clock import to_micros
from fauxsim.errors import SinkError
from fauxsim.runner import run_into
from fauxsim.scenario.model import Scenario
from fauxsim.sinks.base import Batch
from fauxsim.sinks.postgres.connection import DatabaseError
from fauxsim.sinks.postgres.ledger import DatasetMismatchError
from fauxsim.sinks.postgres.process import LoaderProcess, open_loader_process
from fauxsim.sinks.postgres.sink import open_database_sink
from tests.conftest import fresh_database
from tests.integration.helpers import event_row, table_counts, table_digests
from tests.integration.scenario_fixtures import quirky_scenario

SCENARIO = Scenario.model_validate(
    {
        "name": "loader",
        "start": "2025-01-01",
        "end": "2025-01-02",
        "traffic": {"sessions_per_day": 300},
    }
)
START = to_micros(SCENARIO.start_utc)
HOUR = 3_600_000_000


def test_a_run_through_the_loader_process_equals_one_loaded_in_process(
    postgres_url, postgres_server_url
):
    run_into(open_loader_process(postgres_url, SCENARIO), SCENARIO, batch_rows=500)
    with fresh_database(postgres_server_url) as in_process:
        run_into(open_database_sink(in_process, SCENARIO), SCENARIO, batch_rows=500)
        assert table_digests(postgres_url) == table_digests(in_process)
    assert table_counts(postgres_url)["events"] > 1_000


def test_every_quirk_survives_the_trip_to_the_loader(postgres_url, postgres_server_url):
    """Duplicates, late arrivals, nulls: every kind of row the engine makes crosses the pipe."""
    quirky = quirky_scenario()
    run_into(open_loader_process(postgres_url, quirky), quirky, batch_rows=2_000)
    with fresh_database(postgres_server_url) as in_process:
        run_into(open_database_sink(in_process, quirky), quirky, batch_rows=2_000)
        assert table_digests(postgres_url) == table_digests(in_process)
    assert table_counts(postgres_url)["quirks"] > 0


def test_the_loader_reports_where_it_writes_and_where_to_resume(postgres_url):
    run_into(open_loader_process(postgres_url, SCENARIO, until=dt.date(2025, 1, 1)), SCENARIO,
             until=dt.datetime(2025, 1, 1, 12, tzinfo=dt.UTC))  # fmt: skip
    loader = open_loader_process(postgres_url, SCENARIO)
    try:
        assert loader.resume_after == START + 12 * HOUR
        assert loader.describe().startswith("Postgres postgresql://")
    finally:
        loader.close()


def test_an_error_opening_the_database_is_the_same_error_in_the_parent(postgres_url):
    run_into(open_loader_process(postgres_url, SCENARIO), SCENARIO)
    other = SCENARIO.model_copy(update={"seed": SCENARIO.seed + 1})
    with pytest.raises(DatasetMismatchError) as in_child:
        open_loader_process(postgres_url, other)
    with pytest.raises(DatasetMismatchError) as in_process:
        open_database_sink(postgres_url, other)
    assert str(in_child.value) == str(in_process.value)


def test_an_unreachable_server_is_a_database_error():
    with pytest.raises(DatabaseError, match="could not connect"):
        open_loader_process("postgresql://nobody@127.0.0.1:1/none", SCENARIO)


def test_a_failed_batch_stops_the_run_and_keeps_what_was_committed(postgres_url):
    loader = open_loader_process(postgres_url, SCENARIO)
    loader.write(Batch(START + HOUR, {"events": [event_row(1, START)]}))
    loader.write(Batch(START + 2 * HOUR, {"no_such_table": [(1,)]}))
    with pytest.raises(RuntimeError, match=r"loader process failed(.|\n)*no_such_table"):
        write_until_it_fails(loader)
    loader.abort()
    assert table_counts(postgres_url)["events"] == 1
    with open_database_sink(postgres_url, SCENARIO) as again:  # the writer lock is free
        assert again.resume_after == START + HOUR


def test_abort_ends_the_child_and_frees_the_writer_lock(postgres_url):
    loader = open_loader_process(postgres_url, SCENARIO)
    loader.write(Batch(START + HOUR, {"events": [event_row(1, START)]}))
    loader.abort()
    loader.abort()  # twice is harmless
    with open_database_sink(postgres_url, SCENARIO):
        pass
    with pytest.raises(RuntimeError, match="after close"):
        loader.write(Batch(START + 2 * HOUR, {}))


def test_the_loader_dies_with_its_parent_even_by_kill_9(postgres_url):
    """A run killed with SIGKILL leaves no loader holding the writer lock for long."""
    script = textwrap.dedent(f"""
        import sys, time
        from fauxsim.scenario.model import Scenario
        from fauxsim.sinks.postgres.process import LoaderProcess, open_loader_process
        scenario = Scenario.model_validate({SCENARIO.model_dump(mode="json")!r})
        loader = open_loader_process({postgres_url!r}, scenario)
        print("open", flush=True)
        time.sleep(60)
    """)
    parent = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=Path.cwd()
    )
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline().strip() == "open"
        with pytest.raises(DatasetMismatchError, match="another fauxsim run is writing"):
            open_database_sink(postgres_url, SCENARIO)  # the loader holds the writer lock
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 10
    while True:
        try:
            with open_database_sink(postgres_url, SCENARIO):
                break
        except DatasetMismatchError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_child_that_vanishes_is_a_clear_error(postgres_url):
    loader = open_loader_process(postgres_url, SCENARIO)
    os.kill(loader._child.pid, signal.SIGKILL)  # type: ignore[arg-type]
    loader._child.join()
    with pytest.raises(SinkError, match=r"stopped unexpectedly .*run the same command again"):
        write_until_it_fails(loader)
    loader.abort()


def write_until_it_fails(loader: LoaderProcess) -> None:
    """A child's failure is raised by a later write, or at the latest by close."""
    for hour in range(3, 23):
        loader.write(Batch(START + hour * HOUR, {"events": [event_row(hour, START)]}))
        time.sleep(0.05)
    loader.close()


def test_the_loader_process_imports_neither_the_simulation_nor_alembic():
    """What the child imports it pays for before its first batch (see DEVELOPERS.md)."""
    heavy = ("simpy", "numpy", "pyarrow", "fauxsim.simulation", "fauxsim.runner", "alembic")
    probe = (
        "import sys\n"
        "import fauxsim.sinks.postgres.process, fauxsim.sinks.postgres.sink\n"
        "import fauxsim.scenario.model\n"  # the child unpickles a Scenario
        f"print([name for name in {heavy!r} if name in sys.modules])\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
