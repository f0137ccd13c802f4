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

import asyncio
import contextlib
import logging
import time
import uuid
from concurrent.futures import CancelledError
from typing import TYPE_CHECKING, Any

from fauxsim.errors import FauxError, SinkError, UsageError
from fauxsim.scale.dask_local import LocalDask, local_cluster
from fauxsim.scale.jobs import ShardResult, run_shard
from fauxsim.scale.local import Progress, StartMethod, default_start_method, default_workers

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from fauxsim.runner import RunStats
    from fauxsim.scale.jobs import Job

# How long a stopped command waits for its running shards to reach their next batch and
# clean up, before it cancels them (their unfinished files are then removed by the next run).
_STOP_SECONDS = 30.0
# How long the command waits for a shard to end before it checks the cluster's workers.
_POLL_SECONDS = 0.5

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
    start_method: StartMethod | None = None,
    say: Callable[[str], None] | None = None,
) -> list[ShardResult]:
    """Run ``jobs`` on the cluster at ``address`` (``local``: a cluster of ``workers`` on
    this machine, :mod:`fauxsim.scale.dask_local`, its workers started by ``start_method``,
    else as the local runner's). ``say`` is given a note for the user: a cluster without
    workers, where the run waits for some."""
    try:
        import dask  # noqa: PLC0415
        from dask.distributed import Client  # noqa: PLC0415
    except ImportError:
        msg = "--dask needs Dask: pip install 'fauxgenie[dask]' (dask and distributed)"
        raise UsageError(msg) from None
    progress = Progress(start, on_progress, shards=len(jobs))
    if address != "local":
        try:
            client = Client(address, timeout="10s")
        except OSError as error:
            msg = f"--dask {address}: cannot reach the scheduler ({error})"
            raise UsageError(msg) from None
        except (ValueError, TypeError) as error:  # Dask's word on a malformed address
            msg = (
                f"--dask {address!r}: Dask cannot connect to it ({error}); a scheduler's "
                "address is tcp://host:8786, or local for a LocalCluster here"
            )
            raise UsageError(msg) from None
        if not client.scheduler_info().get("workers") and say is not None:
            say(f"note: the Dask cluster at {address} has no worker yet; waiting for one")
        # The client logs each failed attempt to reach a scheduler that is gone, with its
        # traceback; the command says it in one line instead (below).
        client_logs = logging.getLogger("distributed.client")
        level = client_logs.level
        client_logs.setLevel(logging.CRITICAL)
        try:
            return _as_tasks(client, jobs, progress)
        except (OSError, CancelledError, asyncio.CancelledError) as error:  # (Futures...)
            if client.status == "running":  # (the scheduler is there: it cancelled them)
                msg = (
                    f"the Dask cluster at {address} cancelled this run's tasks (restarted by "
                    "another client?); what the shards committed stays: run the same command "
                    "again to resume"
                )
                raise SinkError(msg) from None
            lost = isinstance(error, CancelledError) or not str(error)
            reason = "the connection to it was lost" if lost else str(error).splitlines()[0]
            msg = (
                f"lost the Dask scheduler at {address} ({reason}); what the shards committed "
                "stays: run the same command again, on a running cluster, to resume"
            )
            raise SinkError(msg) from None
        finally:
            with contextlib.suppress(Exception):  # (a scheduler that is gone)
                client.close()
            client_logs.setLevel(level)
    # As local workers: no more than there are shards (a worker more would only start).
    count = default_workers(len(jobs)) if workers is None else min(workers, len(jobs))
    logs = logging.getLogger("distributed")
    level = logs.level
    try:
        with (
            dask.config.set(_LOCAL_CLUSTER_CONFIG),
            local_cluster(count, start_method or default_start_method()) as cluster,
        ):
            return _as_tasks(cluster.client, jobs, progress, cluster)
    except BaseException:
        # Its processes are this command's: their shutdown warnings say nothing to the user.
        logs.setLevel(logging.CRITICAL)
        raise
    finally:
        logs.setLevel(level)


def _as_tasks(
    client: Any,  # noqa: ANN401 - a distributed.Client
    jobs: Sequence[Job],
    progress: Progress,
    cluster: LocalDask | None = None,
) -> list[ShardResult]:
    """Run ``jobs`` as tasks through ``client``; stop them all on any error or a stop, or
    when a worker the command forked (``cluster``) ends: checked between waits for the
    next result."""
    from dask.distributed import Event, wait  # noqa: PLC0415

    results: dict[int, ShardResult] = {}
    run = uuid.uuid4().hex
    stop = Event(f"fauxsim-stop-{run}", client=client)
    # Shard 0 first: in a database, the other shards wait for its catalog (the products).
    # Keys of this run's own: a cluster of your own runs other commands' tasks, and Dask
    # hands the result of a key it holds to whoever asks for that key.
    futures = [
        client.submit(_until_stopped, job, stop, key=f"fauxsim-shard-{job.shard}-{run}",
                      pure=False, priority=len(jobs) - job.shard)
        for job in jobs
    ]  # fmt: skip
    pending = set(futures)
    try:
        while pending:
            try:
                done, pending = wait(pending, timeout=_POLL_SECONDS, return_when="FIRST_COMPLETED")
            except TimeoutError:
                done = set()
            for future in done:
                result = _shard_result(future.result())
                results[result.shard] = result
                progress.update(result.shard, result.stats)
            if cluster is not None:
                cluster.check()
    except BaseException:
        # (A cluster that is gone cannot be told: the error being raised says why.)
        with contextlib.suppress(Exception):
            stop.set()
        if _stopped_in_time(client, futures, cluster):
            # Not before, and not if some did not stop: a shard still running must still
            # see the flag (then the cluster keeps it: one small entry).
            _forget(stop)
        with contextlib.suppress(Exception):
            client.cancel(futures)  # any still running after the wait
        raise
    _forget(stop)
    return [results[job.shard] for job in jobs]


def _stopped_in_time(client: Any, futures: list[Any], cluster: LocalDask | None) -> bool:  # noqa: ANN401 - a Client
    """Wait up to ``_STOP_SECONDS`` for the tasks to end (each running one stops at its next
    batch); not once no worker of the command's own cluster lives to run them."""
    from dask.distributed import wait  # noqa: PLC0415

    deadline = time.monotonic() + _STOP_SECONDS
    while time.monotonic() < deadline and _can_run(client, cluster):
        try:
            wait(futures, timeout=_POLL_SECONDS, return_when="ALL_COMPLETED")
        except TimeoutError:
            continue
        except Exception:  # noqa: BLE001 - a cluster that is gone: nothing to wait for
            return False
        return True
    return False


def _can_run(client: Any, cluster: LocalDask | None) -> bool:  # noqa: ANN401 - a Client
    """Whether a task can still run: a worker of the command's own cluster lives, and the
    scheduler knows a worker (a cluster of your own may have none)."""
    if cluster is not None and not cluster.any_alive():
        return False
    with contextlib.suppress(Exception):  # (a scheduler that is gone: nothing runs)
        return bool(client.scheduler_info().get("workers"))
    return False


def _forget(stop: Any) -> None:  # noqa: ANN401 - a distributed.Event
    """Remove the run's flag from the scheduler, once no shard reads it: a cluster of your
    own outlives the command, and would keep one flag for each run (Dask deletes an Event
    that is cleared while nobody waits on it)."""
    with contextlib.suppress(Exception):  # (a cluster that is gone keeps nothing)
        stop.clear()


def _shard_result(returned: ShardResult | FauxError) -> ShardResult:
    """What a task returned (``_until_stopped``): its shard's result, or the user's error
    it met, raised here."""
    if isinstance(returned, FauxError):
        raise returned
    return returned


class _Stopped(BaseException):
    """The command was stopped: raised from a shard's batch callback, so that ``run_into``
    aborts its sink (what was committed stays) as on Ctrl-C."""


def _until_stopped(job: Job, stop: Any) -> ShardResult | FauxError | None:  # noqa: ANN401 - a distributed.Event
    """``run_shard`` on a Dask worker, until the command is stopped (``stop`` is set): then
    None, before it starts, after its next batch (its unfinished files removed) or while it
    waits for shard 0's catalog in a database. A user's error (a database that refuses,
    say) is returned, for the command to say in one line: raised, it would be a failed
    task, which every worker logs with its traceback."""

    def check(_stats: RunStats | None = None) -> None:
        if stop.is_set():
            raise _Stopped

    try:
        check()
        return run_shard(job, on_batch=check, while_waiting=check)
    except _Stopped:
        return None
    except FauxError as error:
        return error
