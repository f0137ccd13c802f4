"""Scale out (#20): shards in parallel, and what a shard costs, as ratios measured in one run.

    .venv/bin/python benchmarks/scale.py                    # everything below, black_friday
    .venv/bin/python benchmarks/scale.py --until 2024-11-15 # a shorter window (quicker)
    .venv/bin/python benchmarks/scale.py --skip-dask --skip-flatness
    .venv/bin/python benchmarks/scale.py --skip-dask --skip-workers --flatness 1,64 --rounds 3

Prints, each against a baseline measured in the same run:

1. black_friday with ``shards=8`` to Parquet: wall time in 1 worker process against 2
   (target on a 2-core machine: >= 1.8x), in this process with the workers forked (as a
   run starts them on Linux) and spawned (as elsewhere), then as the command a user runs
   (``fauxsim run``, its start included, every process cold); and on Dask with 2 worker
   processes against 1 local worker (target >= 1.6x), two ways: ``--dask local`` as a
   run starts it (the cluster's start and close included: its workers forked from this
   process on Linux, then spawned by Dask's nannies as elsewhere; and as the command a
   user runs, against the command with 1 worker), and a cluster
   already running (``--dask tcp://...``: a LocalCluster of 2 worker processes started in
   another process before the timing, so its workers import fauxsim on their first task,
   as a real cluster's do; timed on a first run, cold, and a second, warm; then a first run
   on a cluster whose workers import the engine as they start, ``--preload
   fauxsim.scale.jobs``). Wall time, so the machine must be otherwise idle for the ratio
   to mean anything: the load average is printed beside it.
2. CPU flatness: the same total traffic as K = 1, 4, 16, 64 shards, every shard run one
   after the other in this process (``time.process_time``, engine and projector, no
   sink): CPU at K against K = 1 (target: at most 1.10 at K = 64); with ``--rounds N``,
   N interleaved rounds and the median of each K. ``--checkpoint-hours 24``: the same with
   checkpoints a day apart, an experiment (it changes the data) that shows what a shard's
   hourly checkpoints cost it.
3. Peak memory per worker: the largest resident set of the worker processes of (1)
   (``RUSAGE_CHILDREN``), target <= 300 MB.
4. With ``--db-server postgresql://...`` (a server where the benchmark may create and
   drop databases): the same shards loaded into Postgres in 1 worker against 2.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fauxsim import runner
from fauxsim.clock import HOUR, to_micros
from fauxsim.gc_tuning import tuned_collector
from fauxsim.runner import generate
from fauxsim.scale.jobs import ShardJob
from fauxsim.scale.local import StartMethod, run_locally
from fauxsim.scenario.loading import load_scenario
from fauxsim.scenario.model import Scenario
from fauxsim.simulation.shards import all_shards
from fauxsim.sinks.files.partitioned import open_dataset

if TYPE_CHECKING:
    from collections.abc import Iterator

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "black_friday.yaml"

# A Dask cluster already running, as `dask scheduler` and `dask worker` would be: run with
# `python -c`, so its spawned workers import nothing of this script (nor fauxsim) at start.
_CLUSTER = """
import sys
import dask
from dask.distributed import LocalCluster

if sys.argv[2:]:  # as `dask worker --preload MODULE` would
    dask.config.set({"distributed.worker.preload": sys.argv[2:]})
with LocalCluster(n_workers=int(sys.argv[1]), threads_per_worker=1, processes=True,
                  dashboard_address=None) as cluster:
    print(cluster.scheduler_address, flush=True)
    sys.stdin.read()  # until the benchmark closes it
"""


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def _with_shards(scenario: Scenario, shards: int) -> Scenario:
    return Scenario.model_validate({**scenario.model_dump(), "shards": shards})


def _cpu_now() -> float:
    """CPU seconds of this process and of its children that have ended."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _wall(
    scenario: Scenario,
    until: dt.date | None,
    workers: int,
    dask: str | None = None,
    start_method: StartMethod | None = None,
) -> float:
    """Wall seconds to write every shard of ``scenario`` to Parquet (CPU printed too), in
    ``workers`` local processes (started by ``start_method``, else as a run starts them) or
    on Dask at ``dask`` (``local``: a LocalCluster of them)."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "data"
        open_dataset(out, scenario, "parquet", "benchmark")
        jobs = [ShardJob(scenario, index, out, "parquet", until)
                for index in range(scenario.shards)]  # fmt: skip
        start = to_micros(scenario.start_utc)
        began, cpu = time.perf_counter(), _cpu_now()
        if dask is not None:
            from fauxsim.scale.on_dask import run_on_dask  # noqa: PLC0415 - optional

            run_on_dask(jobs, dask, workers=workers, start=start, start_method=start_method)
        else:
            run_locally(jobs, workers, start=start, start_method=start_method)
        wall = time.perf_counter() - began
        where = "local" if dask is None else "Dask" if dask == "local" else "Dask cluster"
        if start_method is not None:
            where += f" ({start_method})"
        # (A LocalCluster's workers are children of this process, its nannies' processes:
        # counted once they end. A running cluster's processes are not: see _cluster_cpu.)
        print(f"  {where}, {workers} worker(s): {wall:.1f} s wall, "
              f"{_cpu_now() - cpu:.1f} s CPU of this process and its ended children")  # fmt: skip
        return wall


@contextmanager
def _running_cluster(
    workers: int, preload: tuple[str, ...] = ()
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A LocalCluster of ``workers`` worker processes in another process, which import
    the ``preload`` modules as they start: its address."""
    process = subprocess.Popen(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", _CLUSTER, str(workers), *preload],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip(), process
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=60)


def _cluster_cpu(process: subprocess.Popen[str]) -> float:
    """CPU seconds so far of the cluster's process and its worker processes."""
    import psutil  # noqa: PLC0415 - installed with distributed

    parent = psutil.Process(process.pid)
    total = 0.0
    for one in [parent, *parent.children(recursive=True)]:
        times = one.cpu_times()
        total += times.user + times.system
    return total


def _on_dask(scenario: Scenario, until: dt.date | None, one: float, two: float) -> None:
    """(1) on Dask with 2 workers: ``--dask local`` (start and close included), then a
    cluster already running, first run and second, each against ``one`` (1 local worker)
    and beside what ``two`` (2 local workers) made of the same cores: Dask's ceiling."""
    ceiling = f"2 local workers: {one / two:.2f}x"
    local = _wall(scenario, until, workers=2, dask="local")
    print(f"--dask local, a cluster of 2 workers forked, started and closed by the run "
          f"{local:.1f} s: {one / local:.2f}x against 1 local worker (target >= 1.6; "
          f"{ceiling}); {_load()}")  # fmt: skip
    spawned = _wall(scenario, until, workers=2, dask="local", start_method="spawn")
    print(f"--dask local, Dask's LocalCluster of 2 workers spawned by nannies (as on macOS) "
          f"{spawned:.1f} s: {one / spawned:.2f}x against 1 local worker; {_load()}")  # fmt: skip
    command_one = _command(scenario.shards, until, workers=1)
    command_dask = _command(scenario.shards, until, workers=2, dask=True)
    print(f"the command: 1 worker {command_one:.1f} s, --dask local with 2 workers "
          f"{command_dask:.1f} s: {command_one / command_dask:.2f}x; {_load()}")  # fmt: skip
    with _running_cluster(workers=2) as (address, process):
        time.sleep(1.0)  # the workers' start-up CPU settles
        for run in ("first run on it (its workers import fauxsim)", "second run on it"):
            cpu = _cluster_cpu(process)
            wall = _wall(scenario, until, workers=2, dask=address)
            print(f"--dask {address}, a running LocalCluster of 2 worker processes, {run}: "
                  f"{wall:.1f} s ({_cluster_cpu(process) - cpu:.1f} s CPU of the cluster's "
                  f"processes): {one / wall:.2f}x against 1 local worker (target >= 1.6; "
                  f"{ceiling}); {_load()}")  # fmt: skip
    # As the README advises for a cluster of your own: its workers import the engine as they
    # start, not on a run's first task.
    with _running_cluster(workers=2, preload=("fauxsim.scale.jobs",)) as (address, process):
        time.sleep(3.0)  # the workers' start-up (and import) CPU settles
        cpu = _cluster_cpu(process)
        wall = _wall(scenario, until, workers=2, dask=address)
        print(f"--dask {address}, a running LocalCluster of 2 worker processes started with "
              f"--preload fauxsim.scale.jobs, first run on it: {wall:.1f} s "
              f"({_cluster_cpu(process) - cpu:.1f} s CPU of the cluster's processes): "
              f"{one / wall:.2f}x against 1 local worker (target >= 1.6; {ceiling}); "
              f"{_load()}")  # fmt: skip


def _into_postgres(scenario: Scenario, until: dt.date | None, server: str, workers: int) -> float:
    """Wall seconds to load every shard into a new database on ``server`` (then dropped)."""
    import psycopg  # noqa: PLC0415 - only with --db-server

    from fauxsim.scale.jobs import DatabaseShardJob  # noqa: PLC0415
    from fauxsim.sinks.postgres.sink import open_sharded_dataset  # noqa: PLC0415

    name = f"fauxsim_scale_bench_{os.getpid()}_{workers}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = server.rsplit("/", 1)[0] + f"/{name}"
    try:
        began = time.perf_counter()
        url, lock = open_sharded_dataset(url, scenario)
        jobs = [DatabaseShardJob(scenario, index, url, until) for index in range(scenario.shards)]
        run_locally(jobs, workers, start=to_micros(scenario.start_utc))
        lock.close()
        return time.perf_counter() - began
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _cpu(scenario: Scenario, until: dt.date | None) -> tuple[float, int]:
    """CPU seconds to generate every shard in turn in this process, and the events."""
    began, events = time.process_time(), 0
    with tuned_collector():  # as a worker process runs its shards (scale/local.py)
        for shard in all_shards(scenario.shards):
            for batch in generate(scenario, until=until, shard=shard):
                events += len(batch.rows.get("events", ()))
    return time.process_time() - began, events


# A pure-Python loop of ~2 s: what one core does alone, and two at once.
_SPIN = "x = 0\nfor i in range(25_000_000):\n    x += i"


def _two_cores() -> float:
    """Two processes' work in the wall time of the slower against one's alone: 2.0 where
    the second core is whole (a VM's second core, shared with neighbours, may not be)."""
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", _SPIN], check=True)  # noqa: S603 - our own code
    alone = time.perf_counter() - began
    began = time.perf_counter()
    both = [subprocess.Popen([sys.executable, "-c", _SPIN]) for _ in range(2)]  # noqa: S603
    for process in both:
        process.wait()
    return 2 * alone / (time.perf_counter() - began)


def _command(shards: int, until: dt.date | None, workers: int, *, dask: bool = False) -> float:
    """Wall seconds of ``fauxsim run black_friday --set shards=K --workers N`` to Parquet
    (with ``dask``, ``--dask local``), as a user runs it: the command's start and imports
    included, every process cold."""
    fauxsim = str(Path(sys.executable).with_name("fauxsim"))
    with tempfile.TemporaryDirectory() as folder:
        command = [fauxsim, "run", str(SCENARIO), "--set", f"shards={shards}",
                   "--workers", str(workers), "--out", str(Path(folder) / "data")]  # fmt: skip
        if until is not None:
            command += ["--until", until.isoformat()]
        if dask:
            command += ["--dask", "local"]
        began = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)  # noqa: S603 - our command
        wall = time.perf_counter() - began
    print(f"  the command{' --dask local' if dask else ''}, {workers} worker(s): {wall:.1f} s wall")
    return wall


def _workers(sharded: Scenario, until: dt.date | None) -> tuple[float, float]:
    """(1) without Dask, and (3): the wall times of 1 worker and of 2, in this process
    (workers forked as a run on Linux starts them, then spawned as elsewhere), and as the
    command a user runs."""
    before = _two_cores()
    one = _wall(sharded, until, workers=1)
    two = _wall(sharded, until, workers=2)
    spawned = _wall(sharded, until, workers=2, start_method="spawn")
    print(f"1 worker {one:.1f} s, 2 workers {two:.1f} s: {one / two:.2f}x (target >= 1.8); "
          f"spawned, not forked: {spawned:.1f} s, {one / spawned:.2f}x; {_load()}")  # fmt: skip
    command_one = _command(sharded.shards, until, workers=1)
    command_two = _command(sharded.shards, until, workers=2)
    print(f"the command: 1 worker {command_one:.1f} s, 2 workers {command_two:.1f} s: "
          f"{command_one / command_two:.2f}x; {_load()}")  # fmt: skip
    print(f"what two cores gave bare Python just before and after: {before:.2f}x, "
          f"{_two_cores():.2f}x (the most 2 workers can reach then)")  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory of a worker process: {peak:.0f} MB (target <= 300)")
    return one, two


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--until", type=dt.date.fromisoformat, default=None)
    parser.add_argument("--shards", type=int, default=8, help="shards of the parallel runs")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--skip-flatness", action="store_true")
    parser.add_argument("--db-server", default=None, help="(4): a Postgres server URL")
    parser.add_argument("--flatness", default="1,4,16,64", help="shard counts for (2)")
    parser.add_argument("--rounds", type=int, default=1, help="(2) interleaved, medians printed")
    parser.add_argument("--sessions-per-day", type=int, default=None, help="(2) at another traffic")
    parser.add_argument(
        "--skip-workers", action="store_true", help="skip (1) and (3) (with --skip-dask)"
    )
    parser.add_argument(
        "--checkpoint-hours", type=int, default=1,
        help="(2) with checkpoints this many hours apart: an experiment (it changes the data) "
        "that shows what the hourly checkpoints cost a shard",
    )  # fmt: skip
    options = parser.parse_args()
    base = load_scenario(SCENARIO, ())
    until = options.until
    sharded = _with_shards(base, options.shards)
    print(f"black_friday, shards={options.shards}, until {until or 'the end'}; {_load()}")

    if not (options.skip_workers and options.skip_dask):  # Dask is compared against them
        one, two = _workers(sharded, until)
        if not options.skip_dask:
            _on_dask(sharded, until, one, two)
    if options.db_server is not None:
        one = _into_postgres(sharded, until, options.db_server, workers=1)
        two = _into_postgres(sharded, until, options.db_server, workers=2)
        print(f"into Postgres: 1 worker {one:.1f} s, 2 workers {two:.1f} s: {one / two:.2f}x; "
              f"{_load()}")  # fmt: skip
    if not options.skip_flatness:
        if options.checkpoint_hours != 1:  # set once, before any run
            runner.CHECKPOINT = options.checkpoint_hours * HOUR
            print(f"(2) with checkpoints {options.checkpoint_hours} hours apart: not the data")
        counts = [int(text) for text in options.flatness.split(",")]
        if options.sessions_per_day is not None:
            traffic = {**base.traffic.model_dump(), "sessions_per_day": options.sessions_per_day}
            base = Scenario.model_validate({**base.model_dump(), "traffic": traffic})
        # Interleaved rounds: on a shared machine a run's CPU time moves by 10-20%, and
        # the median of each K over the rounds is steadier than any one run.
        seconds: dict[int, list[float]] = {count: [] for count in counts}
        for round_number in range(1, options.rounds + 1):
            for count in counts:
                cpu, events = _cpu(_with_shards(base, count), until)
                seconds[count].append(cpu)
                print(f"  round {round_number}, K={count:>3}: {events:,} events, {cpu:.2f} s CPU; "
                      f"{_load()}")  # fmt: skip
        first = statistics.median(seconds[counts[0]])
        for count in counts:
            cpu = statistics.median(seconds[count])
            print(f"K={count:>3}: median {cpu:.2f} s CPU, {cpu / first:.3f} of K={counts[0]} "
                  f"(target at 64: <= 1.10)")  # fmt: skip


if __name__ == "__main__":
    main()
