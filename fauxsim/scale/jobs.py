"""One shard's job: simulate it and write its files, resuming after its last commit.

A job is plain data (it crosses to worker processes and Dask workers by pickle) and its
result is the shard's :class:`~fauxsim.runner.RunStats`. ``on_batch`` reports progress
while it runs; where the job runs decides what it is (a queue to the parent process, or
nothing on Dask).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fauxsim.clock import run_end, to_micros
from fauxsim.runner import DEFAULT_BATCH_ROWS, RunStats, run_into
from fauxsim.simulation.shards import Shard
from fauxsim.sinks.files.partitioned import DatasetFolder, ShardFilesSink, period_end

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable
    from pathlib import Path

    from fauxsim.scenario.model import Scenario
    from fauxsim.sinks.base import Sink


@dataclass(frozen=True)
class ShardJob:
    """Shard ``shard`` of ``scenario`` into the dataset at ``out``, up to ``until``."""

    scenario: Scenario
    shard: int
    out: Path
    format_name: str
    until: dt.datetime | dt.date | None = None
    batch_rows: int = DEFAULT_BATCH_ROWS

    @property
    def dataset(self) -> DatasetFolder:
        return DatasetFolder(self.out, self.format_name)

    def resume_after(self) -> int | None:
        return self.dataset.committed(self.shard)

    def done(self) -> bool:
        """Whether the shard's files already reach the job's end."""
        committed = self.resume_after()
        return committed is not None and committed >= run_end(self.scenario, self.until)


@dataclass(frozen=True)
class DatabaseShardJob:
    """Shard ``shard`` of ``scenario`` into the Postgres database at ``url`` (resolved: no
    embedded server is started for it), over a connection of its own, up to ``until``."""

    scenario: Scenario
    shard: int
    url: str
    until: dt.datetime | dt.date | None = None
    batch_rows: int = DEFAULT_BATCH_ROWS


# Any shard's job (what workers take).
Job = ShardJob | DatabaseShardJob


@dataclass(frozen=True)
class ShardResult:
    shard: int
    stats: RunStats
    resumed: bool


def run_shard(
    job: Job,
    on_batch: Callable[[RunStats], None] | None = None,
    while_waiting: Callable[[], None] | None = None,
) -> ShardResult:
    """Run one shard's job: its files (after removing any a dead run left uncommitted), or
    its rows into Postgres, each batch committed with the shard's watermark (a shard
    other than 0 first waits for shard 0's catalog, calling ``while_waiting`` between
    looks: see ``open_database_sink``)."""
    if isinstance(job, DatabaseShardJob):
        return _into_database(job, on_batch, while_waiting)
    dataset = job.dataset
    with dataset.shard_held(job.shard):  # before any file of the shard is touched
        dataset.remove_uncommitted(job.shard)
        resume_after = dataset.committed(job.shard)
        if job.done():
            return ShardResult(job.shard, RunStats(watermark=resume_after or 0), resumed=True)
        shard = Shard(job.shard, job.scenario.shards)
        began = to_micros(job.scenario.start_utc) if resume_after is None else resume_after
        sink = ShardFilesSink(dataset, shard, began)
        return _simulate_into(sink, job, shard, resume_after, on_batch, cut_at=period_end)


def _into_database(
    job: DatabaseShardJob,
    on_batch: Callable[[RunStats], None] | None,
    while_waiting: Callable[[], None] | None,
) -> ShardResult:
    from fauxsim.sinks.postgres.sink import open_database_sink  # noqa: PLC0415 - db runs only

    shard = Shard(job.shard, job.scenario.shards)
    sink = open_database_sink(
        job.url, job.scenario, until=job.until, shard=shard, while_waiting=while_waiting
    )
    resume_after = sink.resume_after
    if resume_after is not None and resume_after >= run_end(job.scenario, job.until):
        sink.close()
        return ShardResult(job.shard, RunStats(watermark=resume_after), resumed=True)
    return _simulate_into(sink, job, shard, resume_after, on_batch)


def _simulate_into(
    sink: Sink,
    job: Job,
    shard: Shard,
    resume_after: int | None,
    on_batch: Callable[[RunStats], None] | None,
    cut_at: Callable[[int], int] | None = None,
) -> ShardResult:
    """The shard simulated into ``sink`` after ``resume_after``, up to the job's end."""
    stats = run_into(
        sink,
        job.scenario,
        until=job.until,
        resume_after=resume_after,
        batch_rows=job.batch_rows,
        on_batch=on_batch,
        shard=shard,
        cut_at=cut_at,
    )
    return ShardResult(job.shard, stats, resumed=resume_after is not None)
