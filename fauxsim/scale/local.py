"""Shard jobs in worker processes of this machine.

This process is one of the workers: of N, it starts N - 1 others while it already runs the
first shard. On Linux they are forked from it (:func:`default_start_method`): they start in
a few milliseconds with the engine imported. Elsewhere, or if this process runs threads,
each is a fresh interpreter (spawned: ~0.5 s of imports and setup). Nothing a shard writes
depends on which: its data comes from (seed, shard) only, as on Dask. All take jobs from
one queue, a shard at a time, in shard order; the others report their progress after
every batch and their result at the end, and this process reads their messages after each
batch of its own. It alone handles Ctrl-C: the others ignore SIGINT (a terminal sends it
to every process of the group), and it stops them with SIGTERM, on which a worker aborts
its shard's open files (its committed months stay) and exits. With one worker, the jobs
run in this process only.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import sys
import threading
import traceback
import warnings
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from fauxsim.errors import FauxError
from fauxsim.gc_tuning import tuned_collector
from fauxsim.runner import RunStats
from fauxsim.scale.jobs import Job, ShardResult, run_shard
from fauxsim.sinks.child_process import end_with_parent

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from multiprocessing.queues import Queue
    from types import FrameType

StartMethod = Literal["fork", "spawn"]

# How long the parent waits for a message before checking that its workers still live.
_POLL_SECONDS = 0.5
# How long a stopped worker may take to clean up before it is killed.
_STOP_SECONDS = 30.0
# A worker's exit code once stopped by SIGTERM, as a shell reports a process it ended.
_STOPPED_EXIT = 128 + signal.SIGTERM


def default_workers(shards: int) -> int:
    """The machine's cores, at most one per shard."""
    return max(1, min(shards, os.cpu_count() or 1))


@dataclass
class Progress:
    """The shards' latest stats, added up into one ``RunStats`` for the progress bar."""

    start: int
    on_progress: Callable[[RunStats], None] | None
    latest: dict[int, RunStats] = field(default_factory=dict)
    shards: int = 1

    def update(self, shard: int, stats: RunStats) -> None:
        self.latest[shard] = stats
        if self.on_progress is not None:
            self.on_progress(self.total())

    def total(self) -> RunStats:
        """Everything written so far. For the bar, the watermark is the shards' mean (a
        shard not started yet stands at the start): with fewer workers than shards, the
        lowest would stay at the start until the last shards begin."""
        total = combine(self.latest.values(), self.start)
        moved = sum((stats.watermark or self.start) - self.start for stats in self.latest.values())
        total.watermark = self.start + moved // max(1, self.shards)
        return total


def combine(stats: Iterable[RunStats], start: int) -> RunStats:
    """Shards' stats added up; the watermark is the lowest (``start`` if one has none)."""
    total = RunStats()
    watermarks = []
    for one in stats:
        for name, count in one.rows.items():
            total.rows[name] = total.rows.get(name, 0) + count
        total.events += one.events
        total.sessions += one.sessions
        total.orders += one.orders
        total.revenue_cents += one.revenue_cents
        watermarks.append(one.watermark or start)
    total.watermark = min(watermarks) if watermarks else start
    return total


class WorkerFailedError(RuntimeError):
    """A worker process failed with an error that is not the user's (a bug): its traceback."""


class WorkerEndedError(FauxError):
    """A worker process ended before its shards were done: killed (out of memory, say) or
    stopped by someone else than this command."""


def run_locally(
    jobs: Sequence[Job],
    workers: int,
    *,
    start: int,
    on_progress: Callable[[RunStats], None] | None = None,
    start_method: StartMethod | None = None,
) -> list[ShardResult]:
    """Run ``jobs`` in ``workers`` processes; the results in shard order. ``start_method``
    ("fork" or "spawn") overrides :func:`default_start_method`'s choice (tests, benchmarks)."""
    progress = Progress(start, on_progress, shards=len(jobs))
    if workers <= 1:
        with tuned_collector():  # kept tuned from shard to shard (see _work)
            return [run_shard(job, on_batch=partial(progress.update, job.shard)) for job in jobs]
    method = start_method or default_start_method()
    return _in_processes(jobs, min(workers, len(jobs)), progress, method)


def default_start_method() -> StartMethod:
    """How workers start: forked on Linux when this process runs no other Python thread,
    else spawned.

    Forked, a worker skips the interpreter's start and the engine's imports: on 2 cores,
    black_friday in 8 shards ran a median 1.93x faster on 2 workers than on 1, against
    1.60x spawned in the same runs (benchmarks/README.md, "Workers forked"). A fork copies
    only the thread that forks, and a lock another thread held stays held in the child for
    good: with a Python thread running (the progress bar's, a Dask client's), the workers
    are spawned. The native threads NumPy's OpenBLAS and pyarrow's allocator start at
    import are always there; both libraries reset themselves in a forked child
    (``pthread_atfork``), and a worker uses neither before it has. macOS spawns: its system
    libraries are not safe to use after a fork.
    """
    if sys.platform == "linux" and threading.active_count() == 1:
        return "fork"
    return "spawn"


def _in_processes(
    jobs: Sequence[Job], workers: int, progress: Progress, method: StartMethod
) -> list[ShardResult]:
    context = (
        multiprocessing.get_context("fork")
        if method == "fork"
        else multiprocessing.get_context("spawn")
    )
    tasks: Queue[Job | None] = context.Queue()
    messages: Queue[tuple[str, int, Any]] = context.Queue()
    processes = [
        context.Process(
            target=_work,
            args=(tasks, messages, os.getpid()),
            name=f"fauxsim-worker-{number}",
            daemon=True,  # never outlives the command
        )
        for number in range(1, workers)
    ]
    results: dict[int, ShardResult] = {}
    try:
        # From their first instruction (see _work): Ctrl-C ignored, and a forked worker holds
        # SIGTERM until it has its own handler (this command's would run in it before).
        with children_ignore_ctrl_c(), term_held(method == "fork"), _fork_quietly():
            for process in processes:
                process.start()
        # Only now: the first put starts the queue's feeder thread, which a fork must not see.
        for job in jobs:
            tasks.put(job)
        for _ in range(workers):
            tasks.put(None)  # one stop for each worker (this process too), after the jobs
        _work_here(tasks, messages, processes, progress, results)
        while len(results) < len(jobs):
            _take_message(messages, processes, progress, results)
    except BaseException:
        _stop(processes)
        raise
    finally:
        for process in processes:
            if process.pid is not None:  # (started)
                process.join(_STOP_SECONDS)
        for channel in (tasks, messages):
            channel.cancel_join_thread()
            channel.close()
    return [results[job.shard] for job in jobs]


def _work_here(
    tasks: Queue[Job | None],
    messages: Queue[tuple[str, int, Any]],
    processes: list[Any],
    progress: Progress,
    results: dict[int, ShardResult],
) -> None:
    """This process as a worker: run jobs until its stop, reading the others' messages
    after each of its batches (a failure among them is raised here, which aborts its own
    shard's open files as Ctrl-C does)."""

    def after_batch(shard: int, stats: RunStats) -> None:
        progress.update(shard, stats)
        while _take_message(messages, processes, progress, results, wait=0.0):
            pass

    with tuned_collector():  # kept tuned from shard to shard (see _work)
        while (job := _next_job(tasks, processes)) is not None:
            result = run_shard(job, on_batch=partial(after_batch, job.shard))
            results[result.shard] = result
            progress.update(result.shard, result.stats)


def _next_job(tasks: Queue[Job | None], processes: list[Any]) -> Job | None:
    """The next job (None: stop), checking between waits that the workers still live (one
    killed while it read the queue would hold its lock)."""
    while True:
        try:
            return tasks.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            check_alive(processes)


def _take_message(
    messages: Queue[tuple[str, int, Any]],
    processes: list[Any],
    progress: Progress,
    results: dict[int, ShardResult],
    wait: float = _POLL_SECONDS,
) -> bool:
    """Handle a worker's next message, if one comes within ``wait`` seconds: progress, a
    result, or a failure (raised here). Whether there was one."""
    # Read before the wait: a worker may send its last result and end during it.
    ended = wait > 0 and all(process.exitcode is not None for process in processes)
    try:
        kind, shard, body = messages.get(timeout=wait)
    except queue.Empty:
        check_alive(processes)
        if ended:
            # All had ended well before the wait, with shards not reported (a worker's
            # messages are in the pipe before it exits): nothing more will come.
            msg = "every worker ended, and some shards were never reported done"
            raise WorkerFailedError(msg) from None
        return False
    if kind == "progress":
        progress.update(shard, body)
    elif kind == "done":
        results[shard] = body
        progress.update(shard, body.stats)
    else:
        raise body
    return True


def check_alive(processes: Sequence[Any]) -> None:
    """Raise if a worker ended badly. (One that failed has said why first: this is one that
    could not, killed or stopped from outside.)"""
    for process in processes:
        code = process.exitcode
        if code in (None, 0):
            continue
        if code in (_STOPPED_EXIT, -signal.SIGTERM):  # (-15: before or after its handler)
            how = "was stopped (SIGTERM)"
        elif code < 0:
            how = f"was killed (signal {-code})"
        else:
            how = f"ended with exit code {code}"
        msg = (
            f"worker {process.name} {how} before its shards were done; what was committed "
            "stays: run the same command again to resume"
        )
        raise WorkerEndedError(msg)


def _stop(processes: list[Any]) -> None:
    """SIGTERM every live worker; kill any that has not cleaned up in time."""
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(_STOP_SECONDS)
        if process.is_alive():
            process.kill()


@contextlib.contextmanager
def children_ignore_ctrl_c() -> Iterator[None]:
    """SIGINT ignored while processes are started, which keep it ignored (an ignored signal
    stays ignored in a child, spawned or not): a terminal's Ctrl-C, sent to every process of
    the group, then reaches only this command, which stops them itself (SIGTERM here, a
    flag on Dask). A Ctrl-C in those moments is lost (a LocalCluster takes about a second)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # (signal handlers can only be set from the main thread)
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A hang-up too (a closed terminal's goes to the whole group): the command stops them.
    hang_up = signal.signal(signal.SIGHUP, signal.SIG_IGN) if hasattr(signal, "SIGHUP") else None
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if hang_up is not None:
            signal.signal(signal.SIGHUP, hang_up)


@contextlib.contextmanager
def term_held(held: bool) -> Iterator[None]:
    """With ``held``, SIGTERM blocked in this thread while workers are forked: a forked
    worker would otherwise run this command's handler if stopped before it sets its own. It
    inherits the block and lifts it once its handler is set (:func:`_work`); here, a SIGTERM
    that came meanwhile is delivered when the block ends. (A spawned worker starts with the
    default action, which ends it quietly: its start is not held.)"""
    if not held or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def _fork_quietly() -> Iterator[None]:
    """Python 3.12+ warns at every fork of a process with native threads running, which
    this one always has (see :func:`default_start_method`)."""
    with warnings.catch_warnings():
        deadlocks = r".*use of fork\(\) may lead to deadlocks"
        warnings.filterwarnings("ignore", message=deadlocks, category=DeprecationWarning)
        yield


class _Stopped(BaseException):
    """SIGTERM in a worker: the parent stops it."""


_stopping = False  # a worker's first SIGTERM raises _Stopped; any later one, nothing


def _on_term(_number: int, _frame: FrameType | None) -> None:
    global _stopping  # noqa: PLW0603 - the one flag a signal handler may leave
    if not _stopping:
        _stopping = True
        raise _Stopped


def _work(tasks: Queue[Job | None], messages: Queue[tuple[str, int, Any]], parent: int) -> None:
    """A worker process: run jobs until told to stop. Stopped (SIGTERM), it exits with
    ``_STOPPED_EXIT``, so that a parent that did not stop it knows it ended early."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides (see module docstring)
    if hasattr(signal, "SIGHUP"):  # (a closed terminal hangs up the whole group)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_term)
    try:
        try:
            if hasattr(signal, "pthread_sigmask"):  # a stop held while it started: raised now
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
            end_with_parent(parent)  # kill -9 of the command ends its workers too
            # The collector stays tuned from one shard to the next: restored in between, it
            # would collect the whole heap after each (64 shards of a small shop: ~5% more).
            with tuned_collector():
                _run_jobs(tasks, messages)
        finally:
            # Past its jobs, a worker stopped while it exits just ends (no _Stopped
            # traceback from the queue's flush at exit).
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except _Stopped:
        # Exit at once: what this worker queued may never be read now (the parent stops
        # reading when it stops the workers), and waiting to flush it would hang the exit.
        messages.cancel_join_thread()
        sys.exit(_STOPPED_EXIT)


def _run_jobs(tasks: Queue[Job | None], messages: Queue[tuple[str, int, Any]]) -> None:
    """Run jobs until a stop (None) or the first that fails, each reported to the parent."""
    while (job := tasks.get()) is not None:
        shard = job.shard

        def report(stats: RunStats, shard: int = shard) -> None:
            messages.put(("progress", shard, stats))

        try:
            result = run_shard(job, on_batch=report)
        except FauxError as error:
            messages.put(("failed", shard, error))
            return
        except Exception:  # noqa: BLE001 - a bug: its traceback goes to the parent
            text = traceback.format_exc()
            messages.put(("failed", shard, WorkerFailedError(f"shard {shard} failed:\n{text}")))
            return
        messages.put(("done", shard, result))
