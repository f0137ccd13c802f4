"""Shard jobs on a Dask cluster: ``--dask tcp://host:8786``, or ``--dask local``.

Dask is an optional extra (``pip install 'fauxgenie[dask]'``). Each shard is one task; its
files go to the output folder from the worker that runs it, so on a cluster that folder
must be one every worker sees (a shared file system). A task reports no progress while it
runs: the bar moves as shards complete. Stopping the command cancels the tasks; a shard
cut short keeps the months it committed, and the same command resumes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fauxsim.errors import UsageError
from fauxsim.scale.jobs import ShardResult, run_shard
from fauxsim.scale.local import Progress, default_workers

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from fauxsim.runner import RunStats
    from fauxsim.scale.jobs import Job

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
        from dask.distributed import Client, LocalCluster, as_completed  # noqa: PLC0415
    except ImportError:
        msg = "--dask needs Dask: pip install 'fauxgenie[dask]' (dask and distributed)"
        raise UsageError(msg) from None
    progress = Progress(start, on_progress, shards=len(jobs))
    cluster = None
    if address == "local":
        count = default_workers(len(jobs)) if workers is None else workers
        # The nannies hand this configuration to the worker processes they start.
        with dask.config.set(_LOCAL_CLUSTER_CONFIG):
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
    # Shard 0 first: in a database, the other shards wait for its catalog (the products).
    futures = [
        client.submit(run_shard, job, key=f"fauxsim-shard-{job.shard}", pure=False,
                      priority=len(jobs) - job.shard)
        for job in jobs
    ]  # fmt: skip
    try:
        for future in as_completed(futures):
            result: ShardResult = future.result()
            results[result.shard] = result
            progress.update(result.shard, result.stats)
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return [results[job.shard] for job in jobs]
