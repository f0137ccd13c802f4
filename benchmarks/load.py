"""Postgres loading speed: black_friday end to end, and the load stage against a floor.

    .venv/bin/python benchmarks/load.py                          # embedded Postgres
    .venv/bin/python benchmarks/load.py --db postgresql://postgres@127.0.0.1/postgres
    .venv/bin/python benchmarks/load.py --sessions-per-day 6000 --load-rows 1000000

Every measurement writes into its own scratch database on the server (created and
dropped here), in this order:

1. engine alone: the batches generated and dropped, for context;
2. end to end: engine + projector + Postgres sink, every table, in a child process
   whose peak memory is reported, loading as ``fauxsim run`` does (in a loader process
   of its own, ``fauxsim.sinks.postgres.process``); once more for the first half of the
   window, so "peak memory stays flat with dataset size" can be read off the two
   figures; and once with the loader in a writer thread of the engine's process, the
   baseline the loader process is compared with;
3. load stage alone: the first ``--load-rows`` rows of batches, generated into memory
   first, then written through an open sink (conversion, upserts, ledger, commits);
   opening the sink (schema check, writer lock, ledger) is timed apart;
4. floor, measured right after on the same server: the rows the database ends up with
   (the last version of each), pre-built as psycopg wants them (datetimes, dicts) and
   loaded with plain binary COPY into the same schema in one transaction.

Steps 3 and 4 alternate ``--repeat`` times and the best time of each is compared: on a
shared machine the worst times measure the neighbours, not the code.

Targets: end to end >= 100,000 events/s; load stage <= 1.3 x the floor's time. The end
to end figure is also given scaled to the machine the targets were set on, by bare
SimPy's speed measured just before it (``engine_profile.REFERENCE_BASELINE``): this
machine's speed moves by half from one day to the next. The CPU seconds of the fauxsim
process (end to end against engine alone) show what loading costs the engine's core,
whatever else the machine is doing.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import psycopg
from engine_profile import REFERENCE_BASELINE, at_reference_speed, simpy_baseline
from psycopg.types.json import set_json_dumps

from fauxsim.clock import to_datetime
from fauxsim.runner import generate, run_into
from fauxsim.scenario.loading import load_scenario
from fauxsim.sinks.postgres.connection import resolve_database_url
from fauxsim.sinks.postgres.migrate import upgrade
from fauxsim.sinks.postgres.process import open_loader_process
from fauxsim.sinks.postgres.sink import open_database_sink
from fauxsim.tables import ALL_TABLES, TABLES_BY_NAME, ColumnType

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterator
    from multiprocessing.connection import Connection

    from fauxsim.scenario.model import Scenario
    from fauxsim.sinks.base import Batch

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "black_friday.yaml"


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    name = f"fauxsim_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base, _, query = server_url.partition("?")
    url = f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")
    try:
        yield url
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def cpu_seconds() -> float:
    """CPU time of this process: unlike wall time, untouched by busy neighbours."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --------------------------------------------------------------------------- stages


def engine_alone(scenario: Scenario) -> tuple[int, float, float]:
    """Events, wall seconds and CPU seconds of the engine with nowhere to write."""
    began, cpu = time.perf_counter(), cpu_seconds()
    events = sum(len(batch.rows.get("events", ())) for batch in generate(scenario))
    return events, time.perf_counter() - began, cpu_seconds() - cpu


def _end_to_end_child(
    url: str, scenario: Scenario, until: dt.date | None, in_process: bool, report: Connection
) -> None:
    upgrade(url)  # schema creation is not loading
    began, cpu = time.perf_counter(), cpu_seconds()
    # As `fauxsim run` loads: in a child process; or in a writer thread of this process.
    opener = open_database_sink if in_process else open_loader_process
    sink = opener(url, scenario, until=until)
    stats = run_into(sink, scenario, until=until)
    elapsed = time.perf_counter() - began
    loader = resource.getrusage(resource.RUSAGE_CHILDREN)  # the loader, joined by close()
    report.send((
        stats.events, elapsed, cpu_seconds() - cpu, loader.ru_utime + loader.ru_stime,
        max(peak_memory_mb(), loader.ru_maxrss / 1024),
    ))  # fmt: skip


def end_to_end(
    url: str, scenario: Scenario, until: dt.date | None, *, in_process: bool = False
) -> tuple[int, float, float, float, float]:
    """Events, wall s, CPU s of the engine's process and of the loader's, peak MB of a run."""
    receive, send = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.get_context("fork").Process(
        target=_end_to_end_child, args=(url, scenario, until, in_process, send)
    )
    child.start()
    child.join()
    if child.exitcode != 0:
        sys.exit(f"the end-to-end run failed (exit code {child.exitcode})")
    result: tuple[int, float, float, float, float] = receive.recv()
    return result


def first_batches(scenario: Scenario, rows: int) -> list[Batch]:
    batches, total = [], 0
    for batch in generate(scenario):
        batches.append(batch)
        total += sum(len(table_rows) for table_rows in batch.rows.values())
        if total >= rows:
            break
    return batches


def load_stage(url: str, scenario: Scenario, batches: list[Batch]) -> tuple[float, float]:
    """Seconds to open the sink (schema check, lock, ledger), then to write and close."""
    began = time.perf_counter()
    sink = open_database_sink(url, scenario)
    opened = time.perf_counter()
    with sink:
        for batch in batches:
            sink.write(batch)
    return opened - began, time.perf_counter() - opened


def final_rows(batches: list[Batch]) -> dict[str, list[tuple[Any, ...]]]:
    """The rows a database ends up with, pre-built for psycopg's own dumpers."""
    latest: dict[str, dict[Any, tuple[Any, ...]]] = {spec.name: {} for spec in ALL_TABLES}
    for batch in batches:
        for name, rows in batch.rows.items():
            table = latest[name]
            keep_first = TABLES_BY_NAME[name].append_only
            for row in rows:
                if not (keep_first and row[0] in table):
                    table[row[0]] = row
    built = {}
    for spec in ALL_TABLES:
        stamps = [i for i, column in enumerate(spec.columns) if column.type is ColumnType.TIMESTAMP]
        built[spec.name] = [
            tuple(
                to_datetime(value) if i in stamps and value is not None else value
                for i, value in enumerate(row)
            )
            for row in latest[spec.name].values()
        ]
    return built


def floor(url: str, rows: dict[str, list[tuple[Any, ...]]]) -> float:
    upgrade(url)
    types = {
        ColumnType.BIGINT: "int8", ColumnType.INTEGER: "int4", ColumnType.DOUBLE: "float8",
        ColumnType.TEXT: "text", ColumnType.BOOLEAN: "bool", ColumnType.TIMESTAMP: "timestamptz",
        ColumnType.JSON: "jsonb",
    }  # fmt: skip
    with psycopg.connect(url) as connection:
        set_json_dumps(orjson.dumps, connection)
        began = time.perf_counter()
        with connection.cursor() as cursor:
            for spec in ALL_TABLES:
                statement = (
                    f"COPY {spec.name} ({', '.join(spec.column_names)}) FROM STDIN (FORMAT BINARY)"
                )
                with cursor.copy(statement) as copy:
                    copy.set_types([types[column.type] for column in spec.columns])
                    for row in rows[spec.name]:
                        copy.write_row(row)
        connection.commit()
        return time.perf_counter() - began


# --------------------------------------------------------------------------- report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db",
        default=None,
        help="a database on the server to use (default: DATABASE_URL, else embedded)",
    )
    parser.add_argument("--sessions-per-day", type=int, default=None)
    parser.add_argument(
        "--load-rows",
        type=int,
        default=600_000,
        help="rows held in memory for the load-stage comparison",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="load stage and floor are each measured this many times, alternately; the best counts",
    )
    args = parser.parse_args()

    overrides = (
        []
        if args.sessions_per_day is None
        else [f"traffic.sessions_per_day={args.sessions_per_day}"]
    )
    scenario = load_scenario(SCENARIO, overrides)
    server = resolve_database_url(args.db)
    half = (
        (scenario.start_utc + (scenario.end_utc - scenario.start_utc) / 2)
        .astimezone(scenario.zone)
        .date()
    )

    engine_events, engine_seconds, engine_cpu = engine_alone(scenario)
    with scratch_database(server) as url:
        half_events, _, _, _, half_memory = end_to_end(url, scenario, half)
    baseline = simpy_baseline()  # next to the end-to-end run: the same machine state
    with scratch_database(server) as url:
        events, seconds, cpu, loader_cpu, memory = end_to_end(url, scenario, None)
    with scratch_database(server) as url:
        _, thread_seconds, thread_cpu, _, _ = end_to_end(url, scenario, None, in_process=True)
    batches = first_batches(scenario, args.load_rows)
    prebuilt = final_rows(batches)
    load_times, floor_times, open_times = [], [], []
    for _ in range(args.repeat):  # alternately, so that a busy moment hits both alike
        with scratch_database(server) as url:
            upgrade(url)  # creating the schema is not loading
            open_seconds, load_seconds = load_stage(url, scenario, batches)
            open_times.append(open_seconds)
            load_times.append(load_seconds)
        with scratch_database(server) as url:
            floor_times.append(floor(url, prebuilt))
    load_seconds, floor_seconds = min(load_times), min(floor_times)
    batch_rows = sum(len(rows) for batch in batches for rows in batch.rows.values())
    final_count = sum(len(rows) for rows in prebuilt.values())

    label = f"{scenario.name} ({SCENARIO.name}{', ' + overrides[0] if overrides else ''})"
    engine_rate = engine_events / engine_seconds
    rate = events / seconds
    report = [
        ("scenario", label),
        (
            "engine alone",
            f"{engine_events:,} events, {engine_seconds:,.1f} s: {engine_rate:,.0f}/s",
        ),
        ("end to end", f"{events:,} events, {seconds:,.1f} s: {rate:,.0f}/s (target >= 100,000)"),
        (
            "  at reference speed",
            (
                f"{at_reference_speed(rate, baseline):,.0f}/s (bare SimPy here "
                f"{baseline:,.0f} timeouts/s; scaled to {REFERENCE_BASELINE:,}, as when the "
                "target was set)"
            ),
        ),
        (
            "  / engine alone",
            f"{rate / engine_rate:.2f} (1.00: loading slows the engine not at all)",
        ),
        (
            "  loader in a thread",
            (
                f"{thread_seconds:,.1f} s: {events / thread_seconds:,.0f}/s, "
                f"CPU {thread_cpu:,.1f} s (process: x {thread_seconds / seconds:.2f} as fast)"
            ),
        ),
        (
            "CPU of fauxsim",
            (
                f"{cpu:,.1f} s; engine alone {engine_cpu:,.1f} s: x {cpu / engine_cpu:.2f}; "
                f"loader process {loader_cpu:,.1f} s"
            ),
        ),
        ("peak memory", f"{memory:,.0f} MB, whole window (the larger of engine and loader)"),
        ("", f"{half_memory:,.0f} MB, first half ({half_events:,} events)"),
        ("load stage", f"{batch_rows:,} batch rows, {len(batches)} batches: {load_seconds:,.2f} s"),
        ("floor", f"{final_count:,} final rows, one COPY per table: {floor_seconds:,.2f} s"),
        ("load / floor", f"{load_seconds / floor_seconds:.2f} x (target <= 1.3)"),
        ("  opening the sink", f"{min(open_times):.2f} s more (schema check, lock, ledger)"),
        ("  best of", f"load {_seconds(load_times)}; floor {_seconds(floor_times)}"),
    ]
    for name, text in report:
        print(f"{name:<22}{text}")


def _seconds(times: list[float]) -> str:
    return ", ".join(f"{value:.2f}" for value in times)


if __name__ == "__main__":
    main()
