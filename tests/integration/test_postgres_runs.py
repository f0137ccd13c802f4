"""Real runs into Postgres: same data as the files, and no row lost or doubled by a
crash, a resume or an extension."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest

from fauxsim.clock import to_micros, to_rfc3339
from fauxsim.runner import run_into
from fauxsim.sinks.base import open_sink
from fauxsim.sinks.postgres.ledger import DatasetMismatchError
from fauxsim.sinks.postgres.sink import open_database_sink
from fauxsim.tables import ALL_TABLES, EVENTS, ColumnType, TableSpec
from tests.conftest import with_database
from tests.integration.helpers import table_counts, table_digests
from tests.integration.scenario_fixtures import quirky_scenario

WRITE_RUN = Path(__file__).with_name("write_run.py")
PROJECT = Path(__file__).parents[2]
SMALL_BATCHES = 500  # many commits, so kills land between and inside them


def run_in_process(url: str, *, until: dt.date | None = None, batch_rows: int = 2_000) -> None:
    scenario = quirky_scenario()
    with open_database_sink(url, scenario, until=until) as sink:
        run_into(sink, scenario, until=until, resume_after=sink.resume_after, batch_rows=batch_rows)


def ledger(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as connection:
        return connection.execute("SELECT status, batches FROM runs ORDER BY run_id").fetchall()


# --------------------------------------------------------------------------- same data


def _as_file_values(spec: TableSpec, row: tuple[Any, ...]) -> dict[str, Any]:
    """A Postgres row as the JSONL sink writes it: RFC 3339 text timestamps."""
    return {
        column.name: (
            to_rfc3339(to_micros(value))
            if column.type is ColumnType.TIMESTAMP and value is not None
            else value
        )
        for column, value in zip(spec.columns, row, strict=True)
    }


def _final_rows_of_file(path: Path, spec: TableSpec) -> list[dict[str, Any]]:
    """The JSONL file holds every row version; a table holds the latest of each row.

    Events are append-only: a duplicate delivery keeps its first copy in Postgres.
    """
    rows: dict[Any, dict[str, Any]] = {}
    for line in path.read_bytes().splitlines():
        record = orjson.loads(line)
        key = record[spec.primary_key]
        if spec.append_only and key in rows:
            continue
        rows[key] = record
    return [rows[key] for key in sorted(rows)]


def test_postgres_holds_what_the_file_sink_wrote(postgres_url, tmp_path):
    scenario = quirky_scenario()
    run_into(open_sink("jsonl", tmp_path), scenario)
    run_in_process(postgres_url)
    with psycopg.connect(postgres_url) as connection:
        for spec in ALL_TABLES:
            rows = connection.execute(
                f"SELECT {', '.join(spec.column_names)} FROM {spec.name} "  # noqa: S608
                f"ORDER BY {spec.primary_key}"
            ).fetchall()
            from_files = _final_rows_of_file(tmp_path / f"{spec.name}.jsonl", spec)
            from_postgres = [_as_file_values(spec, row) for row in rows]
            assert from_postgres == from_files, spec.name
            assert from_postgres or spec.name == "quirks", f"{spec.name} is empty"


def test_a_duplicate_delivery_is_kept_once_and_recorded_in_quirks(postgres_url, tmp_path):
    scenario = quirky_scenario()
    run_into(open_sink("jsonl", tmp_path), scenario)
    run_in_process(postgres_url)
    delivered = [
        orjson.loads(line) for line in (tmp_path / "events.jsonl").read_bytes().splitlines()
    ]
    distinct = {event["event_id"] for event in delivered}
    assert len(delivered) > len(distinct)  # the scenario does deliver duplicates
    counts = table_counts(postgres_url)
    assert counts[EVENTS.name] == len(distinct)
    with psycopg.connect(postgres_url) as connection:
        # A copy that would arrive after the end of the run is recorded but not delivered.
        recorded = connection.execute(
            "SELECT count(*) FROM quirks WHERE quirk = 'duplicate_event'"
            " AND (detail->>'received_at_us')::bigint < %s",
            (to_micros(scenario.end_utc),),
        ).fetchone()
    assert recorded == (len(delivered) - len(distinct),)


# --------------------------------------------------------------------------- crashes


@pytest.fixture
def clean_run(postgres_server_url):
    """Digests of one uninterrupted run, in its own database."""
    name = f"fauxsim_clean_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = with_database(postgres_server_url, name)
        run_in_process(url, batch_rows=7_000)  # other batch sizes: the data must not care
        yield table_digests(url)
    finally:
        with psycopg.connect(postgres_server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _start_writer(url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - our interpreter, our script
        [sys.executable, str(WRITE_RUN), url, str(SMALL_BATCHES)],
        cwd=PROJECT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _open_write_transactions(monitor: psycopg.Connection[Any]) -> int:
    """Transactions of the writer that have written and not yet committed."""
    row = monitor.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND application_name = 'fauxsim' AND backend_xid IS NOT NULL"
    ).fetchone()
    return int(row[0]) if row else 0


def _committed(monitor: psycopg.Connection[Any]) -> int:
    try:
        row = monitor.execute("SELECT coalesce(sum(batches), 0) FROM runs").fetchone()
    except psycopg.errors.UndefinedTable:  # the first run has not migrated yet
        return 0
    return int(row[0]) if row else 0


def _kill_at(
    url: str, writer: subprocess.Popen[bytes], committed: int, inside: bool | None
) -> bool:
    """SIGKILL ``writer`` once ``committed`` batches are in, and (unless ``inside`` is None)
    while a batch's transaction is open (True) or none is (False). Decided on conditions
    seen with the writer stopped (SIGSTOP), so the kill lands where it was seen, whatever
    the machine's speed. False if the writer ended first."""
    deadline = time.monotonic() + 120  # only ends a hung test
    with psycopg.connect(url, autocommit=True) as monitor:
        while writer.poll() is None:
            assert time.monotonic() < deadline, "the writer made no progress"
            if _committed(monitor) >= committed:
                writer.send_signal(signal.SIGSTOP)
                seen = _open_write_transactions(monitor) > 0
                if inside is None or seen == inside:
                    writer.send_signal(signal.SIGKILL)
                    writer.wait()
                    return True
                writer.send_signal(signal.SIGCONT)
    return False


# (batches committed before the kill, whether a batch's transaction is open at the
# kill: None for either). (0, None) kills it during start-up/migration.
KILL_POINTS = [
    (0, None), (1, False), (2, True), (4, True), (6, False), (9, True), (13, True),
]  # fmt: skip


@pytest.mark.slow
def test_killed_runs_resumed_end_identical_to_a_clean_run(postgres_url, clean_run):
    kills = 0
    for committed, inside in KILL_POINTS:
        writer = _start_writer(postgres_url)
        kills += _kill_at(postgres_url, writer, committed, inside)
        writer.wait()
    finisher = _start_writer(postgres_url)
    _, errors = finisher.communicate(timeout=120)
    assert finisher.returncode == 0, errors.decode()
    assert kills == len(KILL_POINTS), "the run finished before a kill point: make it longer"
    assert table_digests(postgres_url) == clean_run
    statuses = [status for status, _ in ledger(postgres_url)]
    assert statuses[-1] == "complete"
    assert set(statuses[:-1]) <= {"interrupted"}


# --------------------------------------------------------------------------- extend


def test_extending_with_until_equals_one_run(postgres_url, clean_run):
    run_in_process(postgres_url, until=dt.date(2024, 3, 2))
    first_part = table_counts(postgres_url)
    run_in_process(postgres_url, until=dt.date(2024, 3, 3))
    run_in_process(postgres_url)  # to the scenario's end
    assert 0 < first_part[EVENTS.name] < table_counts(postgres_url)[EVENTS.name]
    assert table_digests(postgres_url) == clean_run
    assert [status for status, _ in ledger(postgres_url)] == ["complete"] * 3


def test_running_a_finished_dataset_again_writes_nothing(postgres_url):
    run_in_process(postgres_url)
    before = table_digests(postgres_url)
    run_in_process(postgres_url)
    assert table_digests(postgres_url) == before


def test_another_seed_is_refused_and_leaves_the_dataset_untouched(postgres_url):
    run_in_process(postgres_url, until=dt.date(2024, 3, 2))
    before = table_digests(postgres_url)
    with pytest.raises(DatasetMismatchError, match="Pass --replace to delete it"):
        open_database_sink(postgres_url, quirky_scenario(seed=12))
    assert table_digests(postgres_url) == before
