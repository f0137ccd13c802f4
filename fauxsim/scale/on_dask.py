"""Shard jobs on a Dask cluster: ``--dask tcp://host:8786``, or ``--dask local``.

Dask is an optional extra (``pip install 'fauxgenie[dask]'``). Each shard is one task; its
files go to the output folder from the worker that runs it, so on a cluster that folder
must be one every worker sees (a shared file system). A task reports no progress while it
runs: the bar moves as shards complete.

Stopping the command (Ctrl-C, or a shard that failed) sets a cluster-wide flag, a
``distributed.Event``, that each task reads before it starts and after every batch: a shard
running stops there, removes its unfinished files as a local worker does on SIGTERM, and
keeps the months it committed; one not started does not start. The same command resumes.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import uuid
from typing import TYPE_CHECKING, Any

from fauxsim.errors import UsageError
from fauxsim.scale.jobs import ShardResult, run_shard
from fauxsim.scale.local import Progress, default_workers

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from fauxsim.runner import RunStats
    from fauxsim.scale.jobs import Job

# How long a stopped command waits for its running shards to reach their next batch and
# clean up, before it cancels them (their unfinished files are then removed by the next run).
_STOP_SECONDS = 30.0

# A LocalCluster of ``--dask local`` lives for one command, without a dashboard, on the
# cores its workers need: Dask's watching is turned down for it (a cluster of your own keeps
# its settings). Each setting below measured as paying on 2 cores (benchmarks/README.md,
# "Dask overhead"): the workers' statistical profiler samples the task's stack every 10 ms,
# and every process of the cluster wakes 50 times a second to time its event loop; together
# ~1.5 s of CPU in a black_friday run of 8 shards, taken from the two workers.
_LOCAL_CLUSTER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",  # (its warning limit stays 3 s)
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
}


def run_on_dask(
    jobs: Sequence[Job],
    address: str,
    *,
    workers: int | None,
    start: int,
    on_progress: Callable[[RunStats], None] | None = None,
) -> list[ShardResult]:
    """Run ``jobs`` on the cluster at ``address`` (``local``: a LocalCluster of ``workers``)."""
    try:
        import dask  # noqa: PLC0415
        from dask.distributed import (  # noqa: PLC0415
            Client,
            Event,
            LocalCluster,
            as_completed,
            wait,
        )
    except ImportError:
        msg = "--dask needs Dask: pip install 'fauxgenie[dask]' (dask and distributed)"
        raise UsageError(msg) from None
    progress = Progress(start, on_progress, shards=len(jobs))
    cluster = None
    if address == "local":
        count = default_workers(len(jobs)) if workers is None else workers
        # The nannies hand this configuration to the worker processes they start.
        with dask.config.set(_LOCAL_CLUSTER_CONFIG), _processes_ignore_ctrl_c():
            cluster = LocalCluster(
                n_workers=count, threads_per_worker=1, processes=True, dashboard_address=None
            )
        client = Client(cluster)
    else:
        try:
            client = Client(address, timeout="10s")
        except OSError as error:
            msg = f"--dask {address}: cannot reach the scheduler ({error})"
            raise UsageError(msg) from None
    results: dict[int, ShardResult] = {}
    stop = Event(f"fauxsim-stop-{uuid.uuid4().hex}", client=client)
    # Shard 0 first: in a database, the other shards wait for its catalog (the products).
    futures = [
        client.submit(_until_stopped, job, stop, key=f"fauxsim-shard-{job.shard}", pure=False,
                      priority=len(jobs) - job.shard)
        for job in jobs
    ]  # fmt: skip
    try:
        for future in as_completed(futures):
            result: ShardResult = future.result()
            results[result.shard] = result
            progress.update(result.shard, result.stats)
    except BaseException:
        if cluster is not None:
            # Its workers are this command's: their shutdown warnings say nothing to the user.
            logging.getLogger("distributed").setLevel(logging.CRITICAL)
        # (A cluster that is gone cannot be told: the error being raised says why.)
        with contextlib.suppress(Exception):
            stop.set()
            wait(futures, timeout=_STOP_SECONDS, return_when="ALL_COMPLETED")
            client.cancel(futures)  # any still running after the wait
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return [results[job.shard] for job in jobs]


@contextlib.contextmanager
def _processes_ignore_ctrl_c() -> Iterator[None]:
    """SIGINT ignored while a LocalCluster starts its worker processes, which keep that (an
    ignored signal stays ignored in a child): a terminal's Ctrl-C, sent to every process of
    the group, then reaches only this command, which stops the shards through the flag (see
    the module docstring). A Ctrl-C within the second the cluster takes to start is lost."""
    if threading.current_thread() is not threading.main_thread():
        yield  # (signal handlers can only be set from the main thread)
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _Stopped(BaseException):
    """The command was stopped: raised from a shard's batch callback, so that ``run_into``
    aborts its sink (what was committed stays) as on Ctrl-C."""


def _until_stopped(job: Job, stop: Any) -> ShardResult | None:  # noqa: ANN401 - a distributed.Event
    """``run_shard`` on a Dask worker, until the command is stopped (``stop`` is set): then
    None, before it starts or after its next batch, its unfinished files removed."""

    def check(_stats: RunStats | None = None) -> None:
        if stop.is_set():
            raise _Stopped

    try:
        check()
        return run_shard(job, on_batch=check)
    except _Stopped:
        return None
