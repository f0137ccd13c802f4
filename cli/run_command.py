"""``fauxsim run``: simulate a scenario into files or a database."""

from __future__ import annotations

import datetime as dt
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from cyclopts import Parameter
from rich.table import Table

from cli.console import (
    console,
    error_console,
    handle_stops,
    raise_if_stopped,
    stop_received,
)
from cli.run_outputs import Outputs, open_outputs
from cli.run_progress import RunProgress
from cli.shard_runs import check_shard_options, run_shards, run_shards_into_database
from fauxsim import wall_clock
from fauxsim.clock import SECOND, run_end, to_datetime, to_micros
from fauxsim.currency import exponent
from fauxsim.errors import UsageError
from fauxsim.live import COMMIT_INTERVALS, SPEEDS, LiveClock, check_pacing, choose_pace
from fauxsim.runner import DEFAULT_BATCH_ROWS, RunStats, run_into
from fauxsim.scenario.loading import load_scenario
from fauxsim.sinks.files.folder import holds_partitioned_dataset
from fauxsim.tables import ALL_TABLES, EVENTS

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from cyclopts import Token

    from fauxsim.scenario.model import Scenario

FileFormat = Literal["parquet", "jsonl", "csv"]


def _folder(_: object, tokens: Sequence[Token]) -> Path:
    """An output folder path; an empty one (an unset variable, say) is refused."""
    text = tokens[0].value
    if not text.strip():
        msg = "an empty folder path; give a folder (it is created if missing)"
        raise ValueError(msg)
    return Path(text)


def run(
    scenario: str,
    /,
    *,
    out: Annotated[Path | None, Parameter(converter=_folder)] = None,
    format: FileFormat | None = None,  # noqa: A002 - the option users type is --format
    partitioned: Annotated[bool, Parameter(negative=())] = False,
    db: str | None = None,
    until: str | None = None,
    set_: Annotated[tuple[str, ...], Parameter(name="--set", negative=(), show_default=False)] = (),
    replace: bool = False,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    live: bool = False,
    speed: float | None = None,
    commit_every: float | None = None,
    stream: str | None = None,
    stream_exchange: str = "fauxsim.events",
    workers: int | None = None,
    dask: str | None = None,
) -> int:
    """Simulate a scenario and write its events and tables.

    With --out or --format the output goes to files (one per table); otherwise to
    Postgres: --db, else $DATABASE_URL, else an embedded server that needs no setup.
    With --live the shop follows the wall clock, committing as time passes.

    Parameters
    ----------
    scenario
        A scenario file, or the name of a bundled scenario (see `fauxsim scenarios`).
    out
        Folder for file output (default: data/ when --format is given). Without --out
        and --format, the run goes to Postgres (see --db).
    format
        File format: parquet (default with --out), jsonl or csv.
    partitioned
        Write a partitioned dataset (a folder a table, files by shard and month) that a
        later run with a later --until extends with new files, never rewriting one; a
        scenario of several shards always does. Without it, one shard writes a file a
        table, rewritten whole by each run. A folder that holds a partitioned dataset is
        extended as one, with or without this option.
    db
        Postgres URL, e.g. postgresql://me@localhost/shop (default: $DATABASE_URL, else
        an embedded server that needs no setup).
    until
        Stop at this date or datetime (scenario time zone) instead of the scenario's end.
        On an existing database, extends it up to this moment.
    set_
        Override a scenario value, e.g. --set traffic.sessions_per_day=20000 (repeatable).
    replace
        Replace a database that holds another scenario or seed.
    batch_rows
        Rows per write (and per database transaction). Does not change the output.
    live
        Follow the wall clock: catch up from where the dataset stands, then commit new
        events every second as simulated time passes (into Postgres). At --speed 1 on a
        scenario whose window holds today, simulated time is real time. Ctrl-C stops;
        the same command resumes.
    speed
        Live mode: simulated seconds per wall-clock second (default 1; 60 is an hour a
        minute).
    commit_every
        Live mode: seconds of wall time between commits once caught up (default 1).
    stream
        Also publish every event to RabbitMQ, e.g. amqp://guest:guest@localhost:5672/
        (with confirms; a rerun resumes after the last confirmed batch). With --stream
        alone, Postgres is written only when --db or $DATABASE_URL names one.
    stream_exchange
        The topic exchange the events go to (routing key: the event type).
    workers
        A scenario of several shards (--set shards=K): how many local processes run
        them (default: this machine's cores, at most K). Never changes the output.
    dask
        A scenario of several shards: run them on a Dask cluster, tcp://host:8786, or
        "local" for a LocalCluster here (--workers of them). Needs the dask extra:
        pip install 'fauxgenie[dask]'. The output folder must be one every worker sees.
    """
    if batch_rows < 1:
        raise UsageError(f"--batch-rows must be at least 1, got {batch_rows}")
    to_files = out is not None or format is not None
    _check_live_options(live=live, speed=speed, commit_every=commit_every, to_files=to_files)
    loaded = load_scenario(Path(scenario), set_)
    stop = _parse_until(until)
    if stop is not None:
        _check_until(loaded, stop)  # before any output is touched
    if to_files and (db is not None or replace):
        raise UsageError(
            "--db and --replace are for database output; drop --out/--format to use them"
        )
    check_shard_options(loaded, workers=workers, dask=dask, live=live, stream=stream)
    if partitioned and not to_files:
        raise UsageError("--partitioned is for file output: add --out DIR")
    # A folder holding a partitioned dataset is extended as one (a file a table would mix).
    target = out or Path("data")
    found = to_files and holds_partitioned_dataset(target)
    if (partitioned or found) and stream is not None:
        where = f"{target}/ holds a partitioned dataset" if found else "--partitioned"
        raise UsageError(
            f"{where}: a partitioned dataset and --stream in one run are not built yet. "
            "Write the stream in a run of its own"
        )
    partitioned = partitioned or found
    if loaded.shards > 1 and not to_files:
        return _run_sharded(
            partial(run_shards_into_database, loaded, db=db, replace=replace, until=stop,
                    batch_rows=batch_rows, workers=workers, dask=dask,
                    print_summary=_print_summary),
            "every batch each shard committed is kept: run the same command again to resume",
        )  # fmt: skip
    if loaded.shards > 1 or partitioned:
        return _run_sharded(
            partial(run_shards, loaded, out=target, format_name=format or "parquet", until=stop,
                    batch_rows=batch_rows, workers=workers, dask=dask,
                    print_summary=_print_summary),
            f"every shard's months written so far are kept in {target}/: run the same "
            "command again to resume",
        )  # fmt: skip
    handle_stops()  # a stopped run cleans up and says what it kept
    outputs = Outputs()
    try:
        open_outputs(
            outputs,
            loaded,
            files=(format or "parquet", target) if to_files else None,
            db=db,
            stream=stream,
            stream_exchange=stream_exchange,
            replace=replace,
            until=stop,
        )
        resume_after = outputs.resume_after
        clock = _live_clock(loaded, stop, resume_after, speed, commit_every) if live else None
        return _run_with_progress(outputs, loaded, stop, batch_rows, clock)
    except BaseException as error:
        # Ctrl-C or SIGTERM (cli.console.Terminated); or an error after a stop that some
        # code swallowed (the loader process, ended by the same SIGTERM, say): the stop
        # is what happened.
        stopped = error if isinstance(error, KeyboardInterrupt) else stop_received()
        if stopped is None:
            raise
        outputs.abort()  # stopped before run_into took charge of them (a no-op after)
        raise type(stopped)(outputs.what_was_kept(target)) from None


def _run_sharded(run_shards: Callable[[], int], kept: str) -> int:
    """Run the shards of a scenario; a stop says what was ``kept``."""
    handle_stops()
    try:
        return run_shards()
    except BaseException as error:
        stopped = error if isinstance(error, KeyboardInterrupt) else stop_received()
        if stopped is None:
            raise
        raise type(stopped)(kept) from None


def _check_live_options(
    *, live: bool, speed: float | None, commit_every: float | None, to_files: bool
) -> None:
    if not live:
        for name, value in (("--speed", speed), ("--commit-every", commit_every)):
            if value is not None:
                raise UsageError(f"{name} paces a live run; add --live, or drop {name}")
        return
    if to_files:
        raise UsageError(
            "--live writes into Postgres and/or a stream (drop --out/--format; --db, "
            "$DATABASE_URL or the embedded default; --stream amqp://...): files are written "
            "whole when a run completes, so a live run has none to offer. For files, run "
            "without --live (--until to stop early)."
        )
    check_pacing("--speed", speed, SPEEDS)
    check_pacing("--commit-every", commit_every, COMMIT_INTERVALS)


def _live_clock(
    scenario: Scenario,
    until: dt.datetime | dt.date | None,
    resume_after: int | None,
    speed: float | None,
    commit_every: float | None,
) -> LiveClock:
    """The pace of a live run, and a note on the clock it keeps."""
    start, end = to_micros(scenario.start_utc), run_end(scenario, until)
    standing = start if resume_after is None else resume_after
    now = wall_clock.now_micros()
    pace = choose_pace(start=start, end=end, standing=standing, speed=speed or 1.0, wall_now=now)

    def local(micros: int) -> str:
        return to_datetime(micros).astimezone(scenario.zone).strftime("%Y-%m-%d %H:%M:%S %Z")

    if pace.real_time:
        if standing > now:
            _note(f"the dataset stands at {local(standing)}, ahead of the clock: new rows "
                  "wait until the clock gets there")  # fmt: skip
        else:
            _note(f"live in real time: simulated time is the clock's ({local(now)})")
    else:
        _note(f"live at x{pace.speed:g}: simulated time starts at {local(standing)} and runs "
              f"{pace.speed:g} s a second")  # fmt: skip
    return LiveClock(pace, commit_every=round((commit_every or 1.0) * SECOND))


def _parse_until(text: str | None) -> dt.datetime | dt.date | None:
    if text is None:
        return None
    try:
        if len(text) == len("2025-03-01"):
            return dt.date.fromisoformat(text)
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--until: {text!r} is not a date or datetime; use e.g. 2025-03-01 or 2025-03-01T12:00"
        ) from None


def _check_until(scenario: Scenario, until: dt.datetime | dt.date) -> None:
    """Refuse an --until that leaves nothing to simulate; say so when it is past the end."""
    moment = scenario.to_utc(until)

    def local(value: dt.datetime) -> str:
        return value.astimezone(scenario.zone).strftime("%Y-%m-%d %H:%M %Z")

    if moment <= scenario.start_utc:
        raise UsageError(
            f"--until {local(moment)} is not after the scenario's start "
            f"({local(scenario.start_utc)}): there would be nothing to simulate. Give a later "
            "moment, or leave --until out to run to the end."
        )
    if moment > scenario.end_utc:
        _note(
            f"--until {local(moment)} is after the scenario's end "
            f"({local(scenario.end_utc)}); running to the end."
        )
    _note_clock_changes(scenario, until, local(moment))


def _note_clock_changes(scenario: Scenario, until: dt.datetime | dt.date, used: str) -> None:
    """A local --until that a clock change skips or repeats: say which moment is used."""
    naive = until if isinstance(until, dt.datetime) else dt.datetime.combine(until, dt.time())
    if naive.tzinfo is not None:
        return  # an offset was given: the moment is exact
    first, second = naive.replace(tzinfo=scenario.zone), naive.replace(tzinfo=scenario.zone, fold=1)
    round_trip = first.astimezone(dt.UTC).astimezone(scenario.zone).replace(tzinfo=None)
    zone, written = scenario.timezone, f"{naive:%Y-%m-%d %H:%M}"
    if round_trip != naive:
        _note(f"--until {written} does not exist in {zone} (the clocks jump); using {used}.")
    elif first.utcoffset() != second.utcoffset():
        _note(
            f"--until {written} happens twice in {zone} (the clocks go back); "
            f"using the first, {used}."
        )


def _note(text: str) -> None:
    error_console.print(f"note: {text}", highlight=False, soft_wrap=True)


def _run_with_progress(
    outputs: Outputs,
    scenario: Scenario,
    until: dt.datetime | dt.date | None,
    batch_rows: int,
    live: LiveClock | None,
) -> int:
    sink, resume_after, where = outputs.sink, outputs.resume_after, outputs.where
    events_only = outputs.kinds == {"stream"}  # a stream carries only the events
    start, end = to_micros(scenario.start_utc), run_end(scenario, until)
    began = time.perf_counter()
    if resume_after is not None and resume_after >= end:
        last = to_datetime(end).astimezone(scenario.zone).strftime("%Y-%m-%d %H:%M %Z")
        sink.close()
        raise_if_stopped()
        console.print(f"Nothing to do: {where} already holds everything up to {last}.")
        return 0
    progress = RunProgress(scenario, start, end, live)
    try:
        stats = run_into(sink, scenario, until=until, resume_after=resume_after,
                         batch_rows=batch_rows, on_batch=progress, live=live)  # fmt: skip
    finally:
        progress.stop()
    raise_if_stopped()  # swallowed after the last batch: the run is complete, and says so
    seconds = time.perf_counter() - began
    _print_summary(
        stats, scenario, where, seconds, resumed=resume_after is not None, events_only=events_only
    )
    return 0


def _print_summary(
    stats: RunStats,
    scenario: Scenario,
    where: str,
    seconds: float,
    *,
    resumed: bool,
    events_only: bool,
) -> None:
    verb = "Extended" if resumed else "Wrote"
    # The heading on a line of its own: as a table title it would wrap to the table's width,
    # cutting the URL or folder in two.
    console.print(f"{verb} {scenario.name} into {where}", highlight=False, soft_wrap=True)
    table = Table()
    table.add_column("table")
    table.add_column("rows published" if events_only else "rows written", justify="right")
    # Every table, in the order db status lists them; a stream carries only the events.
    for spec in [EVENTS] if events_only else ALL_TABLES:
        table.add_row(spec.name, f"{stats.rows.get(spec.name, 0):,}")
    console.print(table)
    places = exponent(scenario.currency)  # ISO 4217 minor units: JPY has none
    revenue = stats.revenue_cents / 10**places
    console.print(
        f"{stats.sessions:,} sessions, {stats.orders:,} orders "
        f"(conversion {stats.conversion_rate:.2%}), "
        f"revenue {revenue:,.{places}f} {scenario.currency}, "
        f"{stats.events:,} events in {seconds:.1f} s "
        f"({stats.events / max(seconds, 1e-9):,.0f} events/s)",
        soft_wrap=True,  # one line, for a terminal to wrap: a log or pipe keeps it whole
    )
