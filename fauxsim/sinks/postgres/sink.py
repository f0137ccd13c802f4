"""The Postgres sink: each batch and its watermark in one transaction, written while
the engine simulates the next one.

Crash safety comes from the transaction boundary: a batch's rows and the ``runs``
watermark commit together or not at all, so after ``kill -9`` the database holds
exactly the batches up to the recorded watermark. Running the same command again
resumes after it (:attr:`PostgresSink.resume_after`); rows are upserts, so a row written
twice (a run sharing its resume point with another sink's, ``fanout``) is harmless.

Loading overlaps simulation: :meth:`PostgresSink.write` hands the batch to a writer
thread and returns, so Postgres (usually on another core) works while the engine
builds the next batch. At most one batch waits in the queue, which keeps memory flat
whatever the dataset size. A failure in the writer is raised by the next ``write`` or
by ``close``.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from typing import TYPE_CHECKING, Any, Self

import psycopg
from psycopg import sql

from fauxsim.clock import run_end
from fauxsim.sinks.postgres import ledger
from fauxsim.sinks.postgres.connection import (
    connect,
    mask_password,
    resolve_database_url,
    translate_errors,
)
from fauxsim.sinks.postgres.loader import LOADERS, create_staging_tables, prepare_cursor
from fauxsim.sinks.postgres.migrate import upgrade

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable
    from types import TracebackType

    from fauxsim.scenario.model import Scenario
    from fauxsim.simulation.shards import Shard
    from fauxsim.sinks.base import Batch

_STOP = None  # queue sentinel


def open_database_sink(
    url: str | None,
    scenario: Scenario,
    *,
    replace: bool = False,
    until: dt.datetime | dt.date | None = None,
    shard: Shard | None = None,
    while_waiting: Callable[[], None] | None = None,
) -> PostgresSink:
    """A sink writing ``scenario`` into the database at ``url`` (None: DATABASE_URL or embedded).

    Creates or upgrades the schema, takes the database's writer lock, and checks the
    ledger: the same dataset resumes after its committed watermark; another one is
    refused unless ``replace`` (which deletes it in the first batch's transaction).

    With ``shard``, one shard of a dataset of several, loaded beside the others: the
    run that loads them holds the writer lock and checked the ledger
    (:func:`open_sharded_dataset`); the shard resumes after its own watermark. A shard
    other than 0 first waits for shard 0's catalog, calling ``while_waiting`` (if given)
    between looks: it raises to stop waiting (a stopped run on Dask, whose tasks get no
    signal).
    """
    if shard is not None:
        return _open_shard_sink(url, scenario, until, shard, while_waiting)
    resolved = resolve_database_url(url)
    upgrade(resolved)
    connection = connect(resolved)
    try:
        ledger.take_writer_lock(connection, resolved)
        identity = ledger.DatasetIdentity.of(scenario)
        with translate_errors(resolved, "read the runs ledger of"), connection.cursor() as cursor:
            ledger.mark_interrupted(cursor)
            resume_after = ledger.check_writable(cursor, identity, resolved, replace=replace)
            connection.commit()
    except BaseException:
        connection.close()
        raise
    return PostgresSink(
        url=resolved,
        connection=connection,
        identity=identity,
        resume_after=resume_after,
        replace=replace,
        until=run_end(scenario, until),
        events_may_repeat=scenario.quirks.duplicate_events > 0,
    )


def open_sharded_dataset(
    url: str | None, scenario: Scenario, *, replace: bool = False
) -> tuple[str, psycopg.Connection[Any]]:
    """Open a database for a run of several shards: its URL, and a connection that holds
    the writer lock until the run ends (close it then).

    The ledger is checked as for one shard; with ``replace`` the dataset is deleted now,
    before any shard loads.
    """
    resolved = resolve_database_url(url)
    upgrade(resolved)
    connection = connect(resolved)
    try:
        ledger.take_writer_lock(connection, resolved)
        identity = ledger.DatasetIdentity.of(scenario)
        with translate_errors(resolved, "read the runs ledger of"), connection.cursor() as cursor:
            ledger.mark_interrupted(cursor)
            ledger.check_writable(cursor, identity, resolved, replace=replace)
            if replace:
                ledger.empty_dataset(cursor)
            connection.commit()
    except BaseException:
        connection.close()
        raise
    return resolved, connection


def _open_shard_sink(
    url: str | None,
    scenario: Scenario,
    until: dt.datetime | dt.date | None,
    shard: Shard,
    while_waiting: Callable[[], None] | None,
) -> PostgresSink:
    resolved = resolve_database_url(url)
    connection = connect(resolved)
    try:
        ledger.take_shard_lock(connection, resolved, shard.index)
        with translate_errors(resolved, "read the runs ledger of"), connection.cursor() as cursor:
            committed = ledger.read_committed(cursor, shard.index)
            connection.commit()
            if committed is None and not shard.emits_catalog:
                _wait_for_the_catalog(connection, cursor, while_waiting)
    except BaseException:
        connection.close()
        raise
    return PostgresSink(
        url=resolved,
        connection=connection,
        identity=ledger.DatasetIdentity.of(scenario),
        resume_after=None if committed is None else committed.watermark,
        replace=False,
        until=run_end(scenario, until),
        events_may_repeat=scenario.quirks.duplicate_events > 0,
        shard=shard,
    )


# How often a shard waiting for shard 0's catalog looks again (see below).
_CATALOG_POLL_SECONDS = 0.1


def _wait_for_the_catalog(
    connection: psycopg.Connection[Any],
    cursor: psycopg.Cursor[Any],
    while_waiting: Callable[[], None] | None,
) -> None:
    """Wait until shard 0 has committed its first batch: the products, which the rows of
    every shard refer to (foreign keys). Shard 0's job starts first (local workers take
    jobs in shard order; on Dask it has the highest priority). ``while_waiting`` is called
    between looks (it raises to stop)."""
    while ledger.read_committed(cursor, 0) is None:
        connection.commit()
        if while_waiting is not None:
            while_waiting()
        time.sleep(_CATALOG_POLL_SECONDS)
    connection.commit()


class PostgresSink:
    """Writes batches into Postgres; satisfies :class:`fauxsim.sinks.base.Sink`.

    Use it as a context manager (or call :meth:`close` only after the last batch): on
    an exception the run is left as it is, to be resumed, rather than marked complete.
    """

    def __init__(
        self,
        *,
        url: str,
        connection: psycopg.Connection[Any],
        identity: ledger.DatasetIdentity,
        resume_after: int | None,
        replace: bool,
        until: int,
        events_may_repeat: bool,
        shard: Shard | None = None,
    ) -> None:
        self.url = url
        self._shard = shard
        self._connection = connection
        self._identity = identity
        self._resume_after = resume_after
        self._replace = replace
        self._until = until
        self._events_may_repeat = events_may_repeat
        self._run_id: int | None = None
        # The watermark the database holds; None while it holds nothing of this dataset.
        self._committed_until = resume_after
        # Tables this run wrote to (committed), whose planner statistics it refreshes.
        self._changed: set[str] = set()
        self._statistics = StatisticsKeeper()
        self._batches: queue.Queue[Batch | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._closed = False
        self._writer = threading.Thread(
            target=self._write_batches, name="fauxsim-postgres-writer", daemon=True
        )
        self._cursor = connection.cursor()
        try:
            with translate_errors(url, "prepare loading into"):
                prepare_cursor(self._cursor)
                create_staging_tables(self._cursor)
                # A commit need not wait for its WAL flush: if the *server* crashes, the
                # last few commits are lost whole (rows and watermark together) and the
                # next run resumes before them. Our own crashes are unaffected.
                self._cursor.execute("SET synchronous_commit = off")
                self._statistics.start(self._cursor)
                connection.commit()
        except BaseException:
            connection.close()
            raise
        self._writer.start()

    @property
    def resume_after(self) -> int | None:
        """The committed watermark to resume after, or None to start from the beginning."""
        return self._resume_after

    def describe(self) -> str:
        """Where the rows go, for progress and summaries (password masked)."""
        return f"Postgres {mask_password(self.url)}"

    def write(self, batch: Batch) -> None:
        """Queue ``batch`` for the writer; blocks while one batch is already waiting."""
        if self._closed:
            msg = "write() after close(): open a new sink"
            raise RuntimeError(msg)
        self._raise_writer_error()
        self._batches.put(batch)

    def flush(self) -> None:
        """Wait until every batch written so far is committed (or the writer failed)."""
        self._batches.join()
        self._raise_writer_error()

    def close(self) -> None:
        """Wait for every queued batch to commit, then mark the run complete."""
        if self._closed:
            return
        self._stop_writer()
        try:
            self._raise_writer_error()
            with (
                translate_errors(self.url, "finish the run in"),
                self._connection.cursor() as cursor,
            ):
                if self._run_id is not None:
                    ledger.finish(cursor, self._run_id)
                self._connection.commit()
                refresh_statistics(cursor, self._changed)
                self._connection.commit()
        finally:
            self._connection.close()

    def abort(self) -> None:
        """Stop without marking the run complete; committed batches stay for a resume."""
        if self._closed:
            return
        # Drop what waits: it was never committed and the next run regenerates it.
        while not self._batches.empty():
            self._batches.get_nowait()
            self._batches.task_done()
        self._stop_writer()
        self._connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # ------------------------------------------------------------------ writer thread

    def _stop_writer(self) -> None:
        self._closed = True
        self._batches.put(_STOP)
        self._writer.join()

    def _raise_writer_error(self) -> None:
        if self._error is not None:
            raise self._error

    def _write_batches(self) -> None:
        while (batch := self._batches.get()) is not _STOP:
            try:
                # After a failure keep draining, so the producer never blocks forever.
                if self._error is None:
                    with translate_errors(self.url, "write to"):
                        self._commit(batch)
            except BaseException as error:  # noqa: BLE001 - handed to the main thread
                self._error = error
                with contextlib.suppress(psycopg.Error):  # the connection may be gone
                    self._connection.rollback()
            finally:
                self._batches.task_done()
        self._batches.task_done()

    def _commit(self, batch: Batch) -> None:
        cursor = self._cursor
        with self._connection.transaction():
            run_id = self._run_id
            first_batch = run_id is None
            if run_id is None:
                if self._replace:
                    ledger.empty_dataset(cursor)
                run_id = ledger.start_run(cursor, self._identity, self._until, self._shard)
            # Right after a resume the engine may repeat events; so may the quirk.
            events_may_repeat = self._events_may_repeat or (
                first_batch and self._resume_after is not None
            )
            written = 0
            changed = set(ledger.DATA_TABLES) if first_batch and self._replace else set()
            written_to: dict[str, int] = {}
            for name, rows in batch.rows.items():
                if not rows:
                    continue
                changed.add(name)
                written_to[name] = len(rows)
                loader = LOADERS[name]
                if loader.spec.append_only:
                    written += loader.load_events(cursor, rows, may_repeat=events_may_repeat)
                else:
                    committed = self._committed_until
                    written += loader.load_versions(cursor, rows, committed_until=committed)
            ledger.advance(cursor, run_id, batch.watermark, written)
        self._run_id = run_id  # only once its row is committed
        self._committed_until = batch.watermark
        self._changed |= changed
        # A long or live run refreshes statistics on the way too, when a table has grown
        # as much again as it held at its last ANALYZE: autovacuum may be off or behind.
        due = self._statistics.grown(written_to)
        if due:
            with self._connection.transaction():
                refresh_statistics(cursor, due)
                self._statistics.analyzed(cursor, due)


class StatisticsKeeper:
    """Which tables grew enough since their last ANALYZE to need another.

    A table is due when the rows written to it since its last ANALYZE reach the rows it
    had then (at least ``MIN_ROWS``): the planner's estimates stay within a factor of two
    of the truth, and a table of N rows is analyzed about log2(N) times however it grows.
    """

    MIN_ROWS = 10_000

    def __init__(self) -> None:
        self._estimated: dict[str, float] = {}
        self._written: dict[str, int] = {}

    def start(self, cursor: psycopg.Cursor[Any]) -> None:
        self.analyzed(cursor, set(ledger.DATA_TABLES))

    def analyzed(self, cursor: psycopg.Cursor[Any], tables: set[str]) -> None:
        # reltuples is the planner's row estimate; -1 for a table never analyzed.
        cursor.execute(
            "SELECT name, greatest(reltuples, 0) FROM unnest(%s::text[]) AS name"
            " JOIN pg_class ON pg_class.oid = to_regclass(name)",
            (sorted(tables),),
        )
        for name, estimate in cursor.fetchall():
            self._estimated[name] = float(estimate)
            self._written[name] = 0

    def grown(self, written_to: dict[str, int]) -> set[str]:
        due = set()
        for name, rows in written_to.items():
            self._written[name] = self._written.get(name, 0) + rows
            if self._written[name] >= max(self.MIN_ROWS, self._estimated.get(name, 0.0)):
                due.add(name)
        return due


def refresh_statistics(cursor: psycopg.Cursor[Any], tables: set[str]) -> None:
    """ANALYZE the tables a run changed, so the API's page queries keep their index.

    Autovacuum would get to it, but may be off or behind, and until then the planner
    reads a table a run just filled as empty (or as it was) and pages by sorting all of
    it: a 0.5 ms query becomes 400 ms. ANALYZE reads a fixed sample of rows, whatever
    the table's size, so this costs about a second at most.
    """
    if tables:
        cursor.execute(
            sql.SQL("ANALYZE {}").format(sql.SQL(", ").join(map(sql.Identifier, sorted(tables))))
        )
