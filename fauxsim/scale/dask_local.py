"""``--dask local``: a Dask cluster on this machine for one command, as a context manager.

Where the local runner forks its workers (Linux, no other Python thread in this process:
:func:`fauxsim.scale.local.default_start_method`), the Dask workers are forked too. They
are forked from this thread before the scheduler starts (its event loop runs in a thread,
which a later fork would copy in an unknown state), wait on a pipe for the scheduler's
address, then serve it. A forked worker starts in milliseconds with Dask and the engine
imported; a nanny of Dask's own LocalCluster spawns a fresh interpreter that imports them
again: about 1 s of CPU a worker, which on 2 cores and a run of seconds is the difference
between --dask local and local workers (benchmarks/README.md, "Dask workers forked").
(Dask's own ``multiprocessing-method: fork`` forks from a nanny's thread while the event
loop runs: not used.)

Elsewhere, it is Dask's LocalCluster as it comes, its workers spawned by nannies.

A forked worker has no nanny to restart it: one that ends before the command closes it
stops the run, as a local worker does (:meth:`LocalDask.check`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fauxsim.scale.local import (
    StartMethod,
    WorkerEndedError,
    check_alive,
    children_ignore_ctrl_c,
    term_held,
)
from fauxsim.sinks.child_process import end_with_parent

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess


# No dashboard; the scheduler's HTTP server (health and metrics) on a port of the
# system's choosing, on this machine only: by default it takes 8787, and says so in a
# warning when another cluster holds that port.
_NO_DASHBOARD: dict[str, Any] = {
    "dashboard_address": None,
    "scheduler_kwargs": {"dashboard_address": "127.0.0.1:0"},
}

# How long a forked worker may take to end once asked to, before it is killed.
_CLOSE_SECONDS = 5.0


@dataclass
class LocalDask:
    """A client of the command's own cluster, and the worker processes it forked (none when
    Dask's nannies started them)."""

    client: Any  # a distributed.Client
    forked: Sequence[BaseProcess] = ()

    def check(self) -> None:
        """Raise :class:`fauxsim.scale.local.WorkerEndedError` if a forked worker ended: it
        has no nanny to start it again, and without workers the tasks would wait for good."""
        check_alive(self.forked)
        for process in self.forked:
            if process.exitcode is not None:  # (0: ended on its own, not asked to)
                msg = (
                    f"worker {process.name} ended before its shards were done; what was "
                    "committed stays: run the same command again to resume"
                )
                raise WorkerEndedError(msg)

    def any_alive(self) -> bool:
        """Whether a worker can still run tasks: any, on a cluster whose workers Dask's
        nannies keep (they start one that ends again)."""
        return not self.forked or any(process.is_alive() for process in self.forked)


@contextlib.contextmanager
def local_cluster(workers: int, start_method: StartMethod) -> Iterator[LocalDask]:
    """A cluster of ``workers`` worker processes of one thread each, closed at the end."""
    import dask  # noqa: PLC0415 - the optional extra
    from dask.distributed import Client, LocalCluster  # noqa: PLC0415

    if start_method == "spawn":
        # The nannies hand the configuration to the worker processes they start. A Ctrl-C
        # in the second it takes is lost: its workers must inherit SIGINT ignored (blocked,
        # it is not inherited by a spawned worker, which then dies of the next Ctrl-C).
        with children_ignore_ctrl_c():
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, **_NO_DASHBOARD
            )
        with cluster, Client(cluster) as client:
            yield LocalDask(client)
        return
    context = multiprocessing.get_context("fork")
    pipes = [context.Pipe(duplex=False) for _ in range(workers)]
    forked = [
        context.Process(
            target=_forked_worker, args=(reading, pipes, os.getpid()), daemon=True,
            name=f"fauxsim-dask-worker-{number}",
        )
        for number, (reading, _) in enumerate(pipes, 1)
    ]  # fmt: skip
    try:
        # Ctrl-C ignored (the command stops their tasks with a flag), and SIGTERM held until
        # a worker has put back its default action (this command's handler would run in it).
        with children_ignore_ctrl_c(), term_held(held=True):
            for process in forked:
                process.start()
        for reading, _ in pipes:
            reading.close()
        # The command watches its workers (``LocalDask.check``): the scheduler does not let
        # them go after a silence (a paused run, Ctrl-Z), which would end them with exit 0.
        with (
            dask.config.set({"distributed.scheduler.worker-ttl": None}),
            LocalCluster(n_workers=0, **_NO_DASHBOARD) as cluster,
        ):
            try:
                for _, writing in pipes:
                    writing.send(cluster.scheduler_address)
                with Client(cluster) as client:
                    yield LocalDask(client, forked)
            except BaseException:
                # Its processes are this command's: what Dask logs of their end (dropped
                # connections) says nothing to the user. (The caller restores the level.)
                logging.getLogger("distributed").setLevel(logging.CRITICAL)
                raise
            finally:
                _close_workers(cluster, forked)
    finally:
        for _, writing in pipes:
            writing.close()  # a worker still waiting for its address ends
        _join(forked)


def _close_workers(cluster: Any, forked: Sequence[BaseProcess]) -> None:  # noqa: ANN401 - a LocalCluster
    """Close the workers before their scheduler: a worker that loses its scheduler first
    tries to reach it again, and logs its failure (an error the user need not see). One
    not registered yet (a stop in the run's first second) holds no task: SIGTERM ends it."""
    registered = {state.pid for state in cluster.scheduler.workers.values()}
    for address in list(cluster.scheduler.workers):
        cluster.loop.add_callback(cluster.scheduler.close_worker, address)
    for process in forked:
        if process.pid not in registered and process.is_alive():
            process.terminate()
    _join(forked)


def _join(forked: Sequence[BaseProcess]) -> None:
    """Wait for the forked workers to end, ``_CLOSE_SECONDS`` in all; SIGTERM any still
    running then, and kill any that outlives that."""
    started = [process for process in forked if process.pid is not None]
    deadline = time.monotonic() + _CLOSE_SECONDS
    for process in started:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in started:
        if process.is_alive():
            process.terminate()
    for process in started:
        process.join(1.0)
        if process.is_alive():
            process.kill()
            process.join()


def _forked_worker(
    addresses: Connection, pipes: list[tuple[Connection, Connection]], parent: int
) -> None:
    """A forked worker's life: the scheduler's address from the pipe, then tasks (one at a
    time) until the command closes it."""
    # Every pipe's ends were copied into it: all but its own reading end are closed, so
    # that the command closing its writing end (a stop before the scheduler started) is
    # the end of the pipe here.
    for reading, writing in pipes:
        writing.close()
        if reading is not addresses:
            reading.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # (as it was forked: kept so)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    # Stopped from outside, it just ends (the next run removes its shard's unfinished
    # files); a SIGTERM held while it was forked ends it now.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    end_with_parent(parent)  # kill -9 of the command ends its workers too
    try:
        address = addresses.recv()
    except EOFError:
        return  # the command ended before its scheduler started
    addresses.close()
    # Quiet: the command says what went wrong, from the tasks' results and the workers'
    # exits (a worker's own client, closed with it, would log its failure to reconnect).
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    asyncio.run(_serve(address))


async def _serve(address: str) -> None:
    from dask.distributed import Worker  # noqa: PLC0415

    worker: Any
    async with Worker(address, nthreads=1) as worker:
        await worker.finished()
