"""``fauxsim run`` of a scenario of several shards: in local workers or on Dask, into
files or Postgres.

Every shard is a job (``fauxsim.scale``) writing its own part of a partitioned dataset
(``fauxsim.sinks.files.partitioned``), or loading Postgres over its own connection with
its own watermark (this command holds the database's writer lock meanwhile); the same
command again resumes each shard after its last commit, and ``--until`` later extends
the dataset.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from cli.console import console, raise_if_stopped
from cli.run_progress import RunProgress
from fauxsim.clock import run_end, to_datetime, to_micros
from fauxsim.errors import SinkError, UsageError
from fauxsim.scale.jobs import DatabaseShardJob, ShardJob
from fauxsim.scale.local import combine, default_workers, run_locally
from fauxsim.sinks.files.folder import folder_held
from fauxsim.sinks.files.partitioned import forget_if_unwritten, open_dataset

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from fauxsim.runner import RunStats
    from fauxsim.scale.jobs import Job, ShardResult
    from fauxsim.scenario.model import Scenario


def check_shard_options(
    scenario: Scenario,
    *,
    workers: int | None,
    dask: str | None,
    live: bool,
    stream: str | None,
) -> None:
    """Refuse options that a run of this many shards cannot take, saying what to change."""
    if workers is not None and workers < 1:
        raise UsageError(f"--workers must be at least 1, got {workers}")
    if workers is not None and dask is not None and dask != "local":
        raise UsageError("--workers sizes a local run or --dask local; a cluster has its own")
    if scenario.shards == 1:
        for name, value in (("--workers", workers), ("--dask", dask)):
            if value is not None:
                raise UsageError(
                    f"{name} runs shards in parallel, and this scenario has one: add "
                    "--set shards=K (e.g. 8), or drop the option"
                )
        return
    if live or stream is not None:
        raise UsageError(
            f"a scenario of {scenario.shards} shards is written to files (--out DIR) or "
            "Postgres for now: a live run or a stream shard by shard is not built yet. "
            "Drop --live/--stream, or use --set shards=1."
        )


def run_shards_into_database(
    scenario: Scenario,
    *,
    db: str | None,
    replace: bool,
    until: dt.datetime | dt.date | None,
    batch_rows: int,
    workers: int | None,
    dask: str | None,
    print_summary: Callable[..., None],
) -> int:
    """Load every shard of ``scenario`` into Postgres, each over its own connection."""
    from fauxsim.sinks.postgres import ledger  # noqa: PLC0415 - database runs only
    from fauxsim.sinks.postgres.connection import mask_password  # noqa: PLC0415
    from fauxsim.sinks.postgres.sink import open_sharded_dataset  # noqa: PLC0415

    url, connection = open_sharded_dataset(db, scenario, replace=replace)
    try:
        with connection.cursor() as cursor:
            committed = ledger.committed_by_shard(cursor)
            connection.commit()
        jobs = [
            DatabaseShardJob(scenario, index, url, until, batch_rows)
            for index in range(scenario.shards)
        ]
        where = f"Postgres {mask_password(url)} ({_shards(scenario.shards)})"
        end = run_end(scenario, until)
        done = [committed.get(job.shard) for job in jobs]
        if all(watermark is not None and watermark >= end for watermark in done):
            return _nothing_to_do(scenario, end, where)
        resumed = any(watermark is not None for watermark in done)
        return _run_jobs(scenario, jobs, until, workers, dask, where, resumed, print_summary)
    finally:
        connection.close()  # the writer lock with it


def run_shards(
    scenario: Scenario,
    *,
    out: Path,
    format_name: str,
    until: dt.datetime | dt.date | None,
    batch_rows: int,
    workers: int | None,
    dask: str | None,
    print_summary: Callable[..., None],
) -> int:
    """Run every shard of ``scenario`` into the dataset at ``out``; print the summary."""
    from fauxsim.sinks.postgres.ledger import scenario_digest  # noqa: PLC0415 - one digest

    with folder_held(out):  # one run at a time: a second would delete the first's files
        dataset = open_dataset(out, scenario, format_name, scenario_digest(scenario))
        # Absolute: a Dask worker runs in a folder of its own, elsewhere its own machine.
        jobs = [
            ShardJob(scenario, index, out.absolute(), format_name, until, batch_rows)
            for index in range(scenario.shards)
        ]
        end = run_end(scenario, until)
        where = f"{out}/ ({format_name}, {_shards(scenario.shards)})"
        resumed = any(dataset.committed(job.shard) is not None for job in jobs)
        if all(job.done() for job in jobs):
            return _nothing_to_do(scenario, end, where)
        try:
            return _run_jobs(scenario, jobs, until, workers, dask, where, resumed, print_summary)
        except BaseException:
            forget_if_unwritten(out)  # (a cluster it could not reach: as it found the folder)
            raise


def _nothing_to_do(scenario: Scenario, end: int, where: str) -> int:
    console.print(f"Nothing to do: {where} already holds everything up to {_when(scenario, end)}.")
    return 0


def _when(scenario: Scenario, moment: int) -> str:
    return to_datetime(moment).astimezone(scenario.zone).strftime("%Y-%m-%d %H:%M %Z")


def _run_jobs(
    scenario: Scenario,
    jobs: Sequence[Job],
    until: dt.datetime | dt.date | None,
    workers: int | None,
    dask: str | None,
    where: str,
    resumed: bool,
    print_summary: Callable[..., None],
) -> int:
    start, end = to_micros(scenario.start_utc), run_end(scenario, until)
    began = time.perf_counter()
    progress = RunProgress(scenario, start, end, None)
    try:
        if dask is not None:
            from fauxsim.scale.on_dask import run_on_dask  # noqa: PLC0415 - an optional extra

            results = run_on_dask(
                jobs, dask, workers=workers, start=start, on_progress=progress, say=_say
            )
        else:
            count = default_workers(scenario.shards) if workers is None else workers
            results = run_locally(jobs, count, start=start, on_progress=progress)
    finally:
        progress.stop()
    raise_if_stopped()
    _check_committed(jobs, dask)
    stats = _total(results, start)
    print_summary(
        stats, scenario, where, time.perf_counter() - began, resumed=resumed, events_only=False
    )
    ahead = [result.shard for result in results if result.stats.watermark > end]
    if ahead:  # an earlier run went further: those shards stay where they are
        console.print(
            f"note: {_shards(len(ahead))} ({', '.join(map(str, ahead))}) already "
            f"{'reaches' if len(ahead) == 1 else 'reach'} past "
            f"{_when(scenario, end)} from an earlier run; the dataset is whole only up to where "
            "every shard stands: run as far (the same command without --until, or with theirs)",
            highlight=False,
            soft_wrap=True,
        )
    return 0


def _say(note: str) -> None:
    console.print(note, highlight=False, soft_wrap=True)


def _check_committed(jobs: Sequence[Job], dask: str | None) -> None:
    """Every shard of a file dataset done, as this command sees the folder: workers of a
    cluster whose machines do not share it wrote their files somewhere else."""
    unseen = [job.shard for job in jobs if isinstance(job, ShardJob) and not job.done()]
    if unseen:
        folder = next(job for job in jobs if isinstance(job, ShardJob)).out
        msg = (
            f"the workers report {_shards(len(unseen))} ({', '.join(map(str, unseen))}) "
            f"written, but {folder} does not hold their commits as this command sees it"
            + (
                f": the workers of the Dask cluster at {dask} must see {folder} as this "
                "command does (a shared file system, mounted at the same path)"
                if dask is not None and dask != "local"
                else ""
            )
        )
        raise SinkError(msg)


def _total(results: list[ShardResult], start: int) -> RunStats:
    return combine((result.stats for result in results), start)


def _shards(count: int) -> str:
    return "1 shard" if count == 1 else f"{count} shards"
