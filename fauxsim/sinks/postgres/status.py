"""What a database holds, for ``fauxsim db status`` and ``fauxsim db reset``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fauxsim.clock import to_micros
from fauxsim.sinks.postgres import ledger
from fauxsim.sinks.postgres.connection import connect, translate_errors
from fauxsim.sinks.postgres.migrate import upgrade

if TYPE_CHECKING:
    import datetime as dt


@dataclass(frozen=True, slots=True)
class LastRun:
    run_id: int
    status: str
    until: int | None
    watermark: int | None
    batches: int
    rows_written: int
    started_at: dt.datetime
    updated_at: dt.datetime
    shard: int = 0  # the shard it loaded (a dataset of several has a run per shard)

    @property
    def unfinished(self) -> bool:
        """Short of its target (the scenario's end when it had none)."""
        return self.watermark is None or self.until is None or self.watermark < self.until


@dataclass(frozen=True, slots=True)
class DatabaseStatus:
    committed: ledger.Committed | None
    last_run: LastRun | None
    rows: dict[str, int]
    # A dataset of several shards: how many, and each one's committed watermark (None:
    # nothing yet); loaded in parallel, each shard stands at its own.
    shard_count: int = 1
    shards: dict[int, int | None] | None = None

    @property
    def dataset_watermark(self) -> int | None:
        """Everything before it is in the database, in every shard."""
        if self.shards is None:
            return None if self.committed is None else self.committed.watermark
        marks = [self.shards.get(index) for index in range(self.shard_count)]
        return None if None in marks else min(mark for mark in marks if mark is not None)


def database_status(url: str) -> DatabaseStatus:
    """The dataset, its watermark, the latest run and the row count of every table."""
    upgrade(url)
    with (
        translate_errors(url, "read the status of"),
        connect(url) as connection,
        connection.cursor() as cursor,
    ):
        committed = ledger.read_committed(cursor)
        # Asked before the run rows are read: a run that finishes in between shows complete.
        writing = ledger.writer_lock_held(cursor)
        loading = ledger.shards_loading(cursor)
        # Each shard's latest run (a dataset of several has a run per shard).
        latest = [
            _last_run(row, writing, loading)
            for row in cursor.execute(
                "SELECT DISTINCT ON (shard) run_id, status, until_at, watermark, batches, "
                "rows_written, started_at, updated_at, shard FROM runs "
                "ORDER BY shard, run_id DESC"
            )
        ]
        # The one to show: a shard's that stopped short, which the same command resumes;
        # else the latest.
        stopped = [run for run in latest if run.status == "interrupted" and run.unfinished]
        last_run = min(stopped, key=lambda run: run.shard) if stopped else max(
            latest, key=lambda run: run.run_id, default=None
        )  # fmt: skip
        counted_shards = cursor.execute("SELECT max(shards) FROM runs").fetchone()
        shard_count = int(counted_shards[0]) if counted_shards and counted_shards[0] else 1
        shards = ledger.committed_by_shard(cursor) if shard_count > 1 else None
        rows = {}
        for table in ledger.DATA_TABLES:
            counted = cursor.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
            rows[table] = int(counted[0]) if counted else 0
    return DatabaseStatus(
        committed=committed,
        last_run=last_run,
        rows=rows,
        shard_count=shard_count,
        shards=shards,
    )


def _last_run(row: tuple[Any, ...], writing: bool, loading: set[int]) -> LastRun:
    run_id, status, until, watermark, batches, rows_written, started, updated, shard = row
    if status == "running" and not writing and int(shard) not in loading:
        # Its process is gone (killed, or its machine went down): the next run marks it
        # so, and resumes after the watermark. (A shard still held is being loaded: by a
        # task a killed command left on a Dask cluster, say.)
        status = "interrupted"
    return LastRun(
        run_id=int(run_id),
        status=str(status),
        until=None if until is None else to_micros(until),
        watermark=None if watermark is None else to_micros(watermark),
        batches=int(batches),
        rows_written=int(rows_written),
        started_at=started,
        updated_at=updated,
        shard=int(shard),
    )


def reset_database(url: str) -> None:
    """Delete every data row and the runs ledger; API tokens stay. Refused while a run writes."""
    upgrade(url)
    with connect(url) as connection:
        ledger.take_writer_lock(connection, url)
        with translate_errors(url, "reset"), connection.cursor() as cursor:
            ledger.empty_dataset(cursor)
        connection.commit()
