"""Runs of several shards (#20): workers, the partitioned dataset, resuming and extending.

The output is the same, byte for byte, whatever runs the shards (one process, several,
a Dask cluster); readers see each table as one; a later --until only adds files.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import psutil
import pyarrow.dataset as ds
import pytest

from fauxsim.clock import to_micros
from fauxsim.errors import SinkError
from fauxsim.scale.jobs import DatabaseShardJob, ShardJob
from fauxsim.scale.local import combine, default_start_method, run_locally
from fauxsim.scenario.loading import load_scenario
from fauxsim.simulation.shards import Shard
from fauxsim.sinks.base import open_sink
from fauxsim.sinks.files.folder import META, FolderLock
from fauxsim.sinks.files.partitioned import SHARD_LOCK, DatasetFolder, open_dataset
from fauxsim.sinks.postgres.connection import DatabaseError
from fauxsim.sinks.postgres.sink import open_sharded_dataset
from fauxsim.tables import ALL_TABLES, EVENTS, TABLES_BY_NAME
from tests.cli.cli_support import run_cli
from tests.simulation.helpers import collect

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterator

    from fauxsim.scenario.model import Scenario

# Two months and a bit, so that every shard writes two periods; small and quick.
_SHOP = """\
name: sharded
seed: 11
start: 2024-02-27
end: 2024-03-03
shards: 3
traffic: {sessions_per_day: 600}
audience: {existing_customers: 30}
catalog: {generate: {count: 20}}
quirks: {duplicate_events: 0.01, late_arrivals: {probability: 0.02}}
"""


def _scenario_file(folder: Path, text: str = _SHOP) -> Path:
    path = folder / "shop.yaml"
    path.write_text(text)
    return path


def _run(
    scenario: Scenario,
    out: Path,
    workers: int,
    until: dt.date | None = None,
    format_name: str = "parquet",
    start_method: str | None = None,
) -> None:
    open_dataset(out, scenario, format_name, "digest")
    jobs = [
        ShardJob(scenario, index, out, format_name, until, batch_rows=500)
        for index in range(scenario.shards)
    ]
    run_locally(jobs, workers, start=to_micros(scenario.start_utc), start_method=start_method)


def _succeeds(arguments: list[str], capsys: Any, monkeypatch: Any) -> Any:
    """``fauxsim`` run in-process with ``arguments``, which must succeed: its result."""
    result = run_cli(arguments, capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    return result


def _files(out: Path) -> dict[str, str]:
    """Every file of a dataset, by path within it: its sha256."""
    return {
        str(path.relative_to(out)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(out.rglob("*"))
        if path.is_file()
    }


def _table(out: Path, name: str) -> list[tuple[Any, ...]]:
    """A table read as one by DuckDB, without the partition columns, in a fixed order."""
    query = (
        "SELECT * EXCLUDE (shard, period) FROM read_parquet($files, hive_partitioning = true)"
        " ORDER BY ALL"
    )
    return duckdb.execute(query, {"files": f"{out}/{name}/**/*.parquet"}).fetchall()


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return load_scenario(_scenario_file(tmp_path_factory.mktemp("shop")), ())


@pytest.fixture(scope="module")
def one_worker(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("one") / "data"
    _run(scenario, out, workers=1)
    return out


_FORK = pytest.param("fork", marks=pytest.mark.skipif(sys.platform != "linux", reason="Linux"))


@pytest.mark.parametrize(("workers", "start_method"), [(2, _FORK), (3, _FORK), (2, "spawn")])
def test_the_files_are_the_same_whatever_the_number_of_workers(
    scenario, one_worker, tmp_path, workers, start_method
):
    """Workers forked from this process (Linux's default) or spawned (elsewhere, or when
    this process runs threads) write what one process writes, byte for byte. (Named, not
    left to the default: a test that used Dask before leaves a thread, and the default
    would then spawn.)"""
    out = tmp_path / "data"
    _run(scenario, out, workers=workers, start_method=start_method)
    assert _files(out) == _files(one_worker)


def test_workers_are_forked_on_linux_unless_this_process_runs_threads(monkeypatch):
    with monkeypatch.context() as alone:
        alone.setattr(threading, "active_count", lambda: 1)
        assert default_start_method() == ("fork" if sys.platform == "linux" else "spawn")
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert default_start_method() == "spawn"
    finally:
        stop.set()
        thread.join()


def test_each_table_is_one_partitioned_dataset_for_duckdb_and_pyarrow(scenario, one_worker):
    files = _files(one_worker)
    assert "events/shard=002/period=2024-03/part-20240301T000000.parquet" in files
    assert "events/shard=000/period=2024-02/part-20240227T000000.parquet" in files
    shard_runs = [collect(scenario, shard=Shard(index, 3)) for index in range(3)]
    for spec in ALL_TABLES:
        expected = sum(
            len(run.events if spec is EVENTS else run.versions[spec.name]) for run in shard_runs
        )
        by_duckdb = _table(one_worker, spec.name)
        dataset = ds.dataset(one_worker / spec.name, format="parquet", partitioning="hive")
        assert len(by_duckdb) == dataset.count_rows() == expected, spec.name
        assert {"shard", "period"} <= set(dataset.schema.names)


def test_the_current_state_of_a_table_is_its_latest_version_of_each_row(scenario, one_worker):
    """What the README tells readers: the row of each id with the latest updated_at."""
    spec = TABLES_BY_NAME["orders"]
    expected: dict[int, dict[str, Any]] = {}
    for index in range(3):
        expected.update(collect(scenario, shard=Shard(index, 3)).final("orders"))
    query = (
        "SELECT * EXCLUDE (shard, period) FROM read_parquet($files, hive_partitioning = true)"
        " QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY updated_at DESC) = 1"
    )
    found = duckdb.execute(query, {"files": f"{one_worker}/orders/**/*.parquet"})
    columns = [column[0] for column in found.description]
    current = {row[0]: dict(zip(columns, row, strict=True)) for row in found.fetchall()}
    assert set(current) == set(expected)
    assert len(current) > 20
    for order_id, row in expected.items():
        assert current[order_id]["status"] == row["status"]
        assert to_micros(current[order_id]["updated_at"]) == row["updated_at"], spec.name


def test_until_later_adds_files_and_rewrites_none(scenario, one_worker, tmp_path):
    import datetime as dt  # noqa: PLC0415

    out = tmp_path / "data"
    _run(scenario, out, workers=2, until=dt.date(2024, 2, 29))
    before = {path: ((out / path).stat().st_ino, digest) for path, digest in _files(out).items()}
    _run(scenario, out, workers=2)
    after = _files(out)
    for path, (inode, digest) in before.items():
        assert after[path] == digest, path
        assert (out / path).stat().st_ino == inode, f"{path} was rewritten"
    assert set(after) > set(before)
    assert "orders/shard=001/period=2024-02/part-20240229T000000.parquet" in after
    for spec in ALL_TABLES:  # the same rows as a run to the end at once
        assert _table(out, spec.name) == _table(one_worker, spec.name), spec.name


def test_a_shard_resumes_after_its_last_commit_and_drops_what_came_after(
    scenario, one_worker, tmp_path
):
    """A run that died after publishing a month's files but before committing them left
    files that no commit covers: the next run deletes them and writes them again."""
    out = tmp_path / "data"
    _run(scenario, out, workers=1)
    markers = sorted((out / META / "shard=001").glob("upto-*.json"))
    assert len(markers) == 2
    markers[-1].unlink()  # the March commit never happened
    stray = out / "events/shard=001/period=2024-03/part-20240302T000000.parquet.partial"
    stray.write_bytes(b"half a file")
    _run(scenario, out, workers=1)
    assert _files(out) == _files(one_worker)


def test_another_dataset_in_the_folder_is_refused(tmp_path, capsys, monkeypatch):
    shop = _scenario_file(tmp_path)
    out = tmp_path / "data"
    _succeeds(["run", str(shop), "--out", str(out), "--until", "2024-02-28"], capsys, monkeypatch)
    again = run_cli(["run", str(shop), "--out", str(out), "--set", "seed=12"], capsys, monkeypatch)
    assert again.exit_code != 0
    assert "holds another dataset: seed 11 there, 12 in this run." in again.stderr
    assert "Traceback" not in again.stderr
    # The same name, seed and shards, other settings: the difference is named all the same.
    busier = ["--set", "traffic.sessions_per_day=700"]
    again = run_cli(["run", str(shop), "--out", str(out), *busier], capsys, monkeypatch)
    assert "other scenario settings (a --set, or an edited file" in again.stderr
    # Another format: the option that extends it.
    again = run_cli(["run", str(shop), "--out", str(out), "--format", "csv"], capsys, monkeypatch)
    assert "format 'parquet' there, 'csv' in this run" in again.stderr
    assert "To extend it, run with --format parquet" in again.stderr


def test_one_shard_writes_a_partitioned_dataset_that_later_runs_extend(
    tmp_path, capsys, monkeypatch
):
    """``--partitioned`` gives a scenario of one shard the dataset several shards get: a
    later --until adds files and rewrites none (without the option: the folder says what
    it holds), and the tables are those of a file a table written at once."""
    shop = _scenario_file(tmp_path)
    out, single = tmp_path / "data", tmp_path / "single"
    first = _succeeds(
        [
            "run",
            str(shop),
            "--set",
            "shards=1",
            "--out",
            str(out),
            "--partitioned",
            "--until",
            "2024-02-29",
        ],
        capsys,
        monkeypatch,
    )
    assert "1 shard)" in first.stdout
    before = _files(out)
    assert "orders/shard=000/period=2024-02/part-20240227T000000.parquet" in before
    _succeeds(["run", str(shop), "--set", "shards=1", "--out", str(out)], capsys, monkeypatch)
    after = _files(out)
    written = {path: digest for path, digest in before.items() if not path.startswith(META)}
    assert {path: after.get(path) for path in written} == written
    assert "orders/shard=000/period=2024-03/part-20240301T000000.parquet" in after
    _succeeds(["run", str(shop), "--set", "shards=1", "--out", str(single)], capsys, monkeypatch)
    read_whole = "SELECT * FROM read_parquet($file) ORDER BY ALL"
    for spec in ALL_TABLES:
        rows = duckdb.execute(read_whole, {"file": f"{single}/{spec.name}.parquet"}).fetchall()
        assert rows, spec.name
        assert _table(out, spec.name) == rows, spec.name


def test_a_partitioned_dataset_and_a_file_a_table_never_mix(tmp_path, capsys, monkeypatch):
    shop = _scenario_file(tmp_path)
    out = tmp_path / "data"
    _succeeds(["run", str(shop), "--out", str(out), "--until", "2024-02-28"], capsys, monkeypatch)
    before = _files(out)
    # One shard into the folder of three: extended as a partitioned dataset, so refused.
    one = run_cli(["run", str(shop), "--set", "shards=1", "--out", str(out)], capsys, monkeypatch)
    assert one.exit_code == 3, one.stderr
    assert "holds another dataset" in one.stderr
    assert "shards 3 there, 1 in this run" in one.stderr
    assert _files(out) == before
    # The file sink itself refuses such a folder (a caller that is not the command).
    with pytest.raises(SinkError, match="holds a partitioned dataset"):
        open_sink("parquet", out)
    assert _files(out) == before
    # And a folder of files a table is no place for a partitioned dataset.
    single = tmp_path / "single"
    _succeeds(["run", str(shop), "--set", "shards=1", "--out", str(single)], capsys, monkeypatch)
    partitioned = run_cli(["run", str(shop), "--set", "shards=1", "--out", str(single),
                           "--partitioned"], capsys, monkeypatch)  # fmt: skip
    assert partitioned.exit_code == 3, partitioned.stderr
    assert "holds no partitioned dataset" in partitioned.stderr


@pytest.mark.parametrize("shards", [1, 3])
def test_a_folder_another_run_is_writing_to_is_refused_and_left_alone(
    tmp_path, capsys, monkeypatch, shards
):
    """Two runs into one folder would delete and overwrite each other's files (their
    ``.partial`` names are the same): the second is refused before it touches any."""
    shop = _scenario_file(tmp_path)
    out = tmp_path / "data"
    command = ["run", str(shop), "--set", f"shards={shards}", "--out", str(out)]
    _succeeds([*command, "--until", "2024-02-28"], capsys, monkeypatch)
    before = _files(out)
    running = FolderLock(out)  # what the other run holds while it writes
    try:
        second = run_cli(command, capsys, monkeypatch)
        assert second.exit_code == 3, second.stderr
        assert "another fauxsim run is writing to" in second.stderr
        assert _files(out) == before
    finally:
        running.release()
    _succeeds(command, capsys, monkeypatch)


def test_a_malformed_dask_address_is_a_usage_error_and_claims_no_folder(
    tmp_path, capsys, monkeypatch
):
    """Said in one line (exit 2); the folder is left as the run found it, so the corrected
    command may have other shards."""
    shop = _scenario_file(tmp_path)
    out = tmp_path / "data"
    for address in ("garbage", "tcp://127.0.0.1:abc", "foo://bar:1"):
        failed = run_cli(["run", str(shop), "--out", str(out), "--dask", address], capsys,
                         monkeypatch)  # fmt: skip
        assert failed.exit_code == 2, failed.stderr
        assert f"--dask {address!r}: Dask cannot connect to it" in failed.stderr
        assert "Traceback" not in failed.stderr
    assert not out.exists()  # as the failed runs found it
    _succeeds(
        ["run", str(shop), "--set", "shards=2", "--out", str(out), "--until", "2024-02-28"],
        capsys,
        monkeypatch,
    )
    # Once it holds files, it is that dataset's.
    other = run_cli(["run", str(shop), "--out", str(out)], capsys, monkeypatch)
    assert other.exit_code == 3
    assert "holds another dataset" in other.stderr


def test_shards_an_earlier_run_took_further_are_named(tmp_path, capsys, monkeypatch):
    """As after a run to the end that only shard 0 finished: a run --until an earlier moment
    brings the others there, and says the dataset is whole only that far."""
    shop = _scenario_file(tmp_path)
    out = tmp_path / "data"
    _succeeds(["run", str(shop), "--out", str(out)], capsys, monkeypatch)
    for shard in ("shard=001", "shard=002"):  # as if they never ran
        for folder in out.glob(f"*/{shard}"):  # (_fauxsim/shard=... too)
            shutil.rmtree(folder)
    earlier = _succeeds(
        ["run", str(shop), "--out", str(out), "--until", "2024-02-28"], capsys, monkeypatch
    )
    assert "note: 1 shard (0) already reaches past 2024-02-28 00:00 UTC" in earlier.stdout
    again = run_cli(["run", str(shop), "--out", str(out)], capsys, monkeypatch)
    assert "already reach" not in again.stdout


def test_a_shard_another_process_is_writing_is_refused_and_left_alone(
    tmp_path, capsys, monkeypatch
):
    """As a task an earlier command left running on a Dask cluster: the folder's own lock
    went with that command, the shard's stays with the task."""
    shop = _scenario_file(tmp_path)
    out = tmp_path / "data"
    command = ["run", str(shop), "--out", str(out), "--workers", "1"]
    _succeeds([*command, "--until", "2024-02-28"], capsys, monkeypatch)
    stray = out / "events/shard=001/period=2024-02/part-20240228T000000.parquet.partial"
    stray.write_bytes(b"being written")
    task = FolderLock(out / META / "shard=001", in_file=SHARD_LOCK)
    try:
        second = run_cli(command, capsys, monkeypatch)
        assert second.exit_code == 3, second.stderr
        assert f"shard 1 of {out}/ is being written by another process" in second.stderr
        assert stray.read_bytes() == b"being written"
    finally:
        task.release()
    _succeeds(command, capsys, monkeypatch)
    assert not stray.exists()


def test_options_a_run_of_several_shards_cannot_take_are_refused(tmp_path, capsys, monkeypatch):
    shop = _scenario_file(tmp_path)
    cases = {
        ("--live", "--db", "postgresql://nobody@127.0.0.1:1/x"): "live run or a stream",
        ("--out", str(tmp_path / "d"), "--workers", "0"): "--workers must be at least 1",
        ("--set", "shards=1", "--partitioned"): "--partitioned is for file output",
        ("--set", "shards=1", "--out", str(tmp_path / "d"), "--partitioned", "--stream",
         "amqp://nobody@127.0.0.1:1/"): "partitioned dataset and --stream",
    }  # fmt: skip
    for args, message in cases.items():
        result = run_cli(["run", str(shop), *args], capsys, monkeypatch)
        assert result.exit_code == 2, result.stderr
        assert message in result.stderr
    one_shard = run_cli(["run", str(shop), "--set", "shards=1", "--workers", "2", "--out",
                         str(tmp_path / "e")], capsys, monkeypatch)  # fmt: skip
    assert one_shard.exit_code == 2
    assert "--set shards=K" in one_shard.stderr


def test_the_summary_adds_up_the_shards(scenario, tmp_path, capsys, monkeypatch):
    shop = _scenario_file(tmp_path)
    result = _succeeds(
        ["run", str(shop), "--out", str(tmp_path / "d"), "--workers", "1"], capsys, monkeypatch
    )
    shard_runs = [collect(scenario, shard=Shard(index, 3)) for index in range(3)]
    events = sum(len(run.events) for run in shard_runs)
    assert f"{events:,} events" in result.stdout
    assert "3 shards" in result.stdout


def _wait_for(check: Any, what: str, timeout: float = 60.0) -> None:
    """Poll until ``check()`` holds (not a timed test: the limit only stops a hang)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


@contextmanager
def _long_run(
    folder: Path, shards: int, options: list[str], *, start_new_session: bool = False
) -> Iterator[tuple[list[str], subprocess.Popen[str]]]:
    """``fauxsim run`` of four months of a small shop in ``shards`` into ``folder/data``,
    once it has committed a first month: its command and its process (killed at the end
    of the block if it still runs)."""
    long_shop = _SHOP.replace("start: 2024-02-27", "start: 2023-01-01").replace(
        "end: 2024-03-03", "end: 2023-05-01").replace("shards: 3", f"shards: {shards}").replace(
        "sessions_per_day: 600", "sessions_per_day: 150")  # fmt: skip
    shop = _scenario_file(folder, long_shop)
    fauxsim = str(Path(sys.executable).with_name("fauxsim"))
    command = [fauxsim, "run", str(shop), "--out", str(folder / "data"), *options]
    process = subprocess.Popen(  # noqa: S603 - our own command
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=start_new_session,
    )
    try:
        out = folder / "data"
        _wait_for(lambda: any((out / META).glob("shard=*/upto-*.json")), "a first commit")
        yield command, process
    finally:
        if process.poll() is None:
            process.kill()


@pytest.mark.slow
def test_readers_skip_the_files_of_a_run_that_died(tmp_path):
    """kill -9 of a run once it has committed a month: its unfinished files stay in the
    table folders (hidden, ``.part-*.partial``) until the next run; pyarrow's dataset and
    DuckDB read each table as it stands, every row in it committed."""
    with _long_run(tmp_path, shards=2, options=["--workers", "2"]) as (_, process):
        process.kill()  # (at a first commit: the next month's files are open)
        process.wait()
    out = tmp_path / "data"
    assert list(out.rglob(".part-*.partial"))  # what the run was writing
    for table in ("events", "orders", "customers"):
        rows = ds.dataset(out / table, format="parquet", partitioning="hive").count_rows()
        files = f"{out}/{table}/**/*.parquet"
        seen = duckdb.sql(
            f"SELECT count(*) FROM read_parquet('{files}', hive_partitioning = true)"  # noqa: S608
        ).fetchone()
        assert seen == (rows,)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("runner", "stop", "code"),
    [(["--workers", "2"], signal.SIGINT, 130),
     (["--dask", "local", "--workers", "2"], signal.SIGINT, 130),
     (["--workers", "2"], signal.SIGHUP, 129)],
    ids=["local workers", "dask local", "hang-up"],
)  # fmt: skip
def test_ctrl_c_stops_every_worker_and_the_same_command_resumes(tmp_path, runner, stop, code):
    """A real run in two worker processes (local, or a LocalCluster's), Ctrl-C once a
    month is committed (SIGINT to the whole process group, as a terminal sends it; or
    SIGHUP, as a terminal that closes): it exits 130 (129) with one line and no traceback
    or Dask warning, its workers are gone, no partial file is left; the same command again
    finishes a dataset identical to a run in one process."""
    out = tmp_path / "data"
    # A process group of its own, as a terminal's job.
    with _long_run(tmp_path, shards=2, options=runner, start_new_session=True) as (
        command,
        process,
    ):
        command_process = psutil.Process(process.pid)
        workers = command_process.children(recursive=True)
        # Local workers are forked (the command's own command line), a LocalCluster's spawned.
        own = command_process.cmdline()
        started = [w for w in workers if "spawn" in " ".join(w.cmdline()) or w.cmdline() == own]
        assert len(started) == (1 if "--dask" not in runner else 2)  # (locally: this one too)
        os.killpg(process.pid, stop)
        _, stderr = process.communicate(timeout=120)
    assert process.returncode == code, stderr
    assert "run the same command again to resume" in stderr
    assert "Traceback" not in stderr
    assert "WARNING" not in stderr
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive
    assert not list(out.rglob("*.partial"))
    assert subprocess.run(command, capture_output=True, check=False).returncode == 0  # noqa: S603
    clean = tmp_path / "clean"
    subprocess.run(  # noqa: S603 - our own command
        [*command[:3], "--out", str(clean), "--workers", "1"], check=True, capture_output=True
    )
    assert _files(out) == _files(clean)


@pytest.mark.parametrize("start_method", [_FORK, "spawn"])
def test_workers_stopped_as_they_start_end_quietly(tmp_path, capfd, start_method):
    """This process's own shard fails at once, so it stops the other workers while they
    start: they end without a word (no traceback of the stop) and the failure is raised."""
    scenario = load_scenario(_scenario_file(tmp_path), ())
    nowhere = "postgresql://nobody@127.0.0.1:1/nothing"
    jobs = [DatabaseShardJob(scenario, index, nowhere) for index in range(3)]
    with pytest.raises(DatabaseError, match="could not connect"):
        run_locally(jobs, 3, start=to_micros(scenario.start_utc), start_method=start_method)
    assert "Traceback" not in capfd.readouterr().err


@pytest.mark.slow
def test_a_worker_stopped_by_someone_else_ends_the_run_with_a_message(tmp_path):
    """SIGTERM to one worker (not to the command): the command does not wait for the shard
    it will never finish; it says which worker ended and exits 1, with no traceback."""
    with _long_run(tmp_path, shards=4, options=["--workers", "2"]) as (_, process):
        psutil.Process(process.pid).children()[0].terminate()
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr
    assert "fauxsim-worker-1 was stopped (SIGTERM) before its shards were done" in stderr
    assert "run the same command again to resume" in stderr
    assert "Traceback" not in stderr


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="Dask workers are forked on Linux only")
def test_a_forked_dask_worker_that_ends_stops_the_run_with_a_message(tmp_path):
    """A forked worker has no nanny to restart it: SIGTERM to one (not to the command), and
    the command stops its shards and says which worker ended, exit 1, no traceback; the
    other worker is closed too."""
    options = ["--dask", "local", "--workers", "2"]
    with _long_run(tmp_path, shards=4, options=options) as (_, process):
        workers = psutil.Process(process.pid).children()
        assert len(workers) == 2  # forked: no nanny, no other process
        workers[0].terminate()
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr
    assert "fauxsim-dask-worker-" in stderr
    assert "was stopped (SIGTERM) before its shards were done" in stderr
    assert "run the same command again to resume" in stderr
    assert "Traceback" not in stderr
    assert "WARNING" not in stderr
    _, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive


def test_a_worker_that_fails_stops_the_run_while_this_process_runs_a_shard(tmp_path):
    """Shard 0 runs in this process (it takes the first job), shard 1 fails at once in the
    other worker (a database nobody listens at): the failure is raised here at this
    process's next batch, its own shard stopped and its unfinished files removed."""
    long_shop = _SHOP.replace("end: 2024-03-03", "end: 2024-09-01").replace(
        "shards: 3", "shards: 2")  # fmt: skip
    scenario = load_scenario(_scenario_file(tmp_path, long_shop), ())
    out = tmp_path / "data"
    open_dataset(out, scenario, "parquet", "digest")
    jobs = [
        ShardJob(scenario, 0, out, "parquet", None, batch_rows=200),
        DatabaseShardJob(scenario, 1, "postgresql://nobody@127.0.0.1:1/nothing"),
    ]
    began = time.monotonic()
    with pytest.raises(DatabaseError, match="could not connect"):
        run_locally(jobs, 2, start=to_micros(scenario.start_utc))
    assert time.monotonic() - began < 60
    assert not list(out.rglob("*.partial"))
    committed = {path.parent.name for path in (out / META).glob("shard=*/upto-*.json")}
    assert committed <= {"shard=000"}  # what shard 0 committed before it stopped stays
    reached = DatasetFolder(out, "parquet").committed(0)
    assert reached is None or reached < to_micros(scenario.end_utc)  # stopped mid-shard


def test_a_local_dask_cluster_of_two_workers_writes_the_same_files(
    scenario, one_worker, tmp_path, capfd
):
    """Dask's LocalCluster, its workers spawned by nannies (macOS, or a command running
    threads; this test process may run Dask's from earlier tests, so its workers are not
    forked here: the command's are, in the next test)."""
    from fauxsim.scale.on_dask import run_on_dask  # noqa: PLC0415 - the optional extra

    out = tmp_path / "data"
    open_dataset(out, scenario, "parquet", "digest")
    jobs = [ShardJob(scenario, index, out, "parquet", None, batch_rows=500) for index in range(3)]
    start = to_micros(scenario.start_utc)
    results = run_on_dask(jobs, "local", workers=2, start=start, start_method="spawn")
    assert "WARNING" not in capfd.readouterr().err
    assert [result.shard for result in results] == [0, 1, 2]
    assert _files(out) == _files(one_worker)
    total = combine((result.stats for result in results), 0)
    assert total.events == len(_table(out, "events"))
    assert total.watermark == to_micros(scenario.end_utc)


@pytest.mark.skipif(sys.platform != "linux", reason="Dask workers are forked on Linux only")
def test_the_command_forks_its_dask_workers_and_writes_the_same_files(one_worker, tmp_path):
    """``fauxsim run --dask local`` as a user runs it, in a fresh process: its two Dask
    workers are forked from it (children running its own command line, no nanny, no
    spawned interpreter), the files are one process's, and nothing is said on the way (a
    forked worker is closed before its scheduler, which it would otherwise try to reach
    again, with a logged error; with Dask's port 8787 taken, as by another cluster, its
    scheduler warned that it took another)."""
    fauxsim = str(Path(sys.executable).with_name("fauxsim"))
    out = tmp_path / "data"
    command = [fauxsim, "run", str(_scenario_file(tmp_path)), "--out", str(out), "--dask",
               "local", "--workers", "2"]  # fmt: skip
    workers: dict[int, list[str]] = {}
    with socket.socket() as taken:
        with contextlib.suppress(OSError):  # (if it is not free, it is taken already)
            taken.bind(("0.0.0.0", 8787))  # noqa: S104 - as Dask's default binds
            taken.listen()
        process = subprocess.Popen(  # noqa: S603 - our own command
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        while process.poll() is None:
            with contextlib.suppress(psutil.Error):
                for child in psutil.Process(process.pid).children():
                    if child.pid not in workers and (line := child.cmdline()):  # (none: ended)
                        workers[child.pid] = line
            time.sleep(0.01)
        _, stderr = process.communicate()
    assert process.returncode == 0, stderr
    assert len(workers) == 2
    assert all(line[-len(command) :] == command for line in workers.values())
    assert "ERROR" not in stderr
    assert "WARNING" not in stderr
    assert "Warning" not in stderr  # (Python's warnings: "UserWarning: Port 8787 is ...")
    written = {path: digest for path, digest in _files(out).items() if not path.startswith(META)}
    assert written == {
        path: digest for path, digest in _files(one_worker).items() if not path.startswith(META)
    }


@contextmanager
def _dask_cluster(
    folder: Path, *, workers: int = 1
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real cluster, as a team runs one: ``dask scheduler`` and ``workers`` ``dask
    worker`` (one thread each), started in ``folder``; the scheduler's address and process."""
    dask = str(Path(sys.executable).with_name("dask"))
    scheduler_file = folder / "scheduler.json"
    processes = [
        subprocess.Popen(  # noqa: S603 - Dask's own command
            [dask, "scheduler", "--port", "0", "--dashboard-address", ":0",
             "--scheduler-file", str(scheduler_file)],
            cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
    ]  # fmt: skip
    try:
        _wait_for(scheduler_file.exists, "the scheduler's file")
        processes += [
            subprocess.Popen(  # noqa: S603 - Dask's own command
                [dask, "worker", "--scheduler-file", str(scheduler_file), "--nthreads", "1",
                 "--no-dashboard"],
                cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            for _ in range(workers)
        ]  # fmt: skip
        address = json.loads(scheduler_file.read_text())["address"]
        yield address, processes[0]
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(30)


@pytest.mark.slow
def test_a_relative_out_on_a_dask_cluster_is_the_commands_folder(one_worker, tmp_path):
    """The workers of a cluster run in folders of their own: a relative --out is this
    command's folder (it wrote into the workers', and said it had succeeded)."""
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()
    (here / "shop.yaml").write_text(_SHOP)
    fauxsim = str(Path(sys.executable).with_name("fauxsim"))
    with _dask_cluster(elsewhere) as (address, _):
        command = [fauxsim, "run", "shop.yaml", "--out", "data", "--dask", address]
        finished = subprocess.run(command, cwd=here, capture_output=True, text=True, check=False)  # noqa: S603
    assert finished.returncode == 0, finished.stderr
    assert not (elsewhere / "data").exists()
    written = {k: v for k, v in _files(here / "data").items() if not k.startswith(META)}
    assert written == {k: v for k, v in _files(one_worker).items() if not k.startswith(META)}


@pytest.mark.slow
def test_a_lost_dask_scheduler_ends_the_run_in_one_line(tmp_path):
    """The scheduler of a cluster of your own killed mid-run: after Dask's 10 s of trying
    to reach it again, one line (no traceback, no Dask log), exit 3, and the hint."""
    with (
        _dask_cluster(tmp_path) as (address, scheduler),
        _long_run(tmp_path, shards=2, options=["--dask", address]) as (_, process),
    ):
        scheduler.kill()
        _, stderr = process.communicate(timeout=120)
    assert process.returncode == 3, stderr
    assert stderr.startswith(f"error: lost the Dask scheduler at {address}"), stderr
    assert "run the same command again, on a running cluster, to resume" in stderr
    assert "Traceback" not in stderr
    assert "ERROR" not in stderr


@pytest.mark.slow
def test_a_cluster_without_workers_gets_a_note_and_ctrl_c_ends_the_wait(tmp_path):
    """No worker: the command says it waits for one; Ctrl-C then ends it at once (it gave
    running shards 30 s to stop, with none to run them)."""
    shop = _scenario_file(tmp_path)
    fauxsim = str(Path(sys.executable).with_name("fauxsim"))
    with _dask_cluster(tmp_path, workers=0) as (address, _):
        process = subprocess.Popen(  # noqa: S603 - our own command
            [fauxsim, "run", str(shop), "--out", str(tmp_path / "data"), "--dask", address],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert process.stdout is not None
        assert "has no worker yet; waiting for one" in process.stdout.readline()
        time.sleep(1.5)  # (its tasks submitted, waiting)
        process.send_signal(signal.SIGINT)
        stopped = time.monotonic()
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert time.monotonic() - stopped < 20  # (the stop's wait is 30 s)
    assert "Traceback" not in stderr


def test_a_run_whose_commits_this_command_cannot_see_fails(scenario, tmp_path):
    """What a cluster whose machines do not share the folder leaves: workers that report
    their shards written, and a folder without their commits."""
    from cli.shard_runs import _check_committed  # noqa: PLC0415

    out = tmp_path / "data"
    open_dataset(out, scenario, "parquet", "digest")
    jobs = [ShardJob(scenario, index, out, "parquet") for index in range(3)]
    with pytest.raises(SinkError, match=r"shared file system, mounted at the same path"):
        _check_committed(jobs, "tcp://10.0.0.1:8786")
    _run(scenario, out, workers=1)
    _check_committed(jobs, "tcp://10.0.0.1:8786")  # (all there: nothing raised)


@pytest.mark.parametrize("start_method", [_FORK, "spawn"])
def test_a_local_dask_cluster_starts_no_more_workers_than_shards(
    scenario, tmp_path, monkeypatch, start_method
):
    """As local workers: --workers 64 for 3 shards started 64 processes (47 s to start).
    Forked, they wait for the scheduler's address: its start fails here, and they end at
    once, of themselves (each closes the pipe ends it was copied but does not use: holding
    another's writing end, one waited in vain, and was killed 5 s later)."""
    import dask.distributed  # noqa: PLC0415 - the optional extra

    from fauxsim.scale import dask_local  # noqa: PLC0415
    from fauxsim.scale.on_dask import run_on_dask  # noqa: PLC0415

    asked: dict[str, Any] = {}

    class _StartedError(Exception):
        pass

    def cluster(**options: Any) -> None:
        asked.update(options)
        raise _StartedError

    monkeypatch.setattr(dask.distributed, "LocalCluster", cluster)
    jobs = [ShardJob(scenario, index, tmp_path, "parquet") for index in range(3)]
    started: list[Any] = []
    real_start = dask_local.multiprocessing.process.BaseProcess.start

    def start(process: Any) -> None:
        real_start(process)
        started.append(process)

    monkeypatch.setattr(dask_local.multiprocessing.process.BaseProcess, "start", start)
    with pytest.raises(_StartedError):
        run_on_dask(jobs, "local", workers=64, start=0, start_method=start_method)
    if start_method == "fork":
        assert asked["n_workers"] == 0  # the scheduler alone: its workers are forked
        assert [process.exitcode for process in started] == [0, 0, 0]
    else:
        assert asked["n_workers"] == 3


@pytest.mark.skipif(sys.platform != "linux", reason="Dask workers are forked on Linux only")
def test_forked_dask_workers_not_registered_yet_are_stopped_at_once(monkeypatch):
    """A stop in the run's first second: workers that have their scheduler's address but
    have not registered are not among those it closes; they are sent SIGTERM, not left to
    the close's deadline and then killed."""
    import dask.distributed  # noqa: PLC0415 - the optional extra

    from fauxsim.scale import dask_local  # noqa: PLC0415

    def client(*_: Any, **__: Any) -> None:
        raise KeyboardInterrupt

    started: list[Any] = []
    real_start = dask_local.multiprocessing.process.BaseProcess.start

    def start(process: Any) -> None:
        real_start(process)
        started.append(process)

    monkeypatch.setattr(dask.distributed, "Client", client)
    monkeypatch.setattr(dask_local.multiprocessing.process.BaseProcess, "start", start)
    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt), dask_local.local_cluster(2, "fork"):
        pass
    assert time.monotonic() - began < dask_local._CLOSE_SECONDS  # (not its deadline)
    assert len(started) == 2
    assert all(process.exitcode in (0, -signal.SIGTERM) for process in started)


@pytest.mark.skipif(sys.platform != "linux", reason="Dask workers are forked on Linux only")
def test_a_forked_dask_worker_that_ended_of_itself_stops_the_run():
    """Exit 0 is an end too: a forked worker has no nanny to start it again (a scheduler
    that let it go left the tasks waiting for good)."""
    from fauxsim.scale.dask_local import LocalDask  # noqa: PLC0415 - the optional extra
    from fauxsim.scale.local import WorkerEndedError  # noqa: PLC0415

    ended = multiprocessing.get_context("fork").Process(target=int, name="fauxsim-dask-worker-1")
    ended.start()
    ended.join()
    cluster = LocalDask(client=None, forked=[ended])
    assert not cluster.any_alive()
    with pytest.raises(WorkerEndedError, match="fauxsim-dask-worker-1 ended before its shards"):
        cluster.check()


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="Dask workers are forked on Linux only")
def test_when_every_forked_dask_worker_is_gone_the_run_ends_at_once(tmp_path):
    """kill -9 of the one worker: the command does not wait the 30 s it gives running
    shards to stop (nothing is left to run them); it names the worker, exit 1."""
    options = ["--dask", "local", "--workers", "1"]
    with _long_run(tmp_path, shards=2, options=options) as (_, process):
        (worker,) = psutil.Process(process.pid).children()
        worker.kill()
        killed = time.monotonic()
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr
    assert "fauxsim-dask-worker-1 was killed (signal 9)" in stderr
    assert time.monotonic() - killed < 20  # (the stop's wait is 30 s)
    assert "Traceback" not in stderr


def test_a_cluster_of_your_own_keeps_no_flag_of_a_finished_run(scenario, one_worker, tmp_path):
    """Each run on Dask makes a stop flag (a ``distributed.Event``) that every task reads; a
    cluster that outlives the command must not keep one for each run, finished or stopped."""
    from dask.distributed import LocalCluster  # noqa: PLC0415 - the optional extra

    from fauxsim.scale.on_dask import run_on_dask  # noqa: PLC0415

    out = tmp_path / "data"
    open_dataset(out, scenario, "parquet", "digest")
    jobs = [ShardJob(scenario, index, out, "parquet", None, batch_rows=500) for index in range(3)]
    broken = [*jobs[:1], DatabaseShardJob(scenario, 1, "postgresql://nobody@127.0.0.1:1/nothing")]
    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
        flags = cluster.scheduler.extensions["events"]._events  # (private: what it holds)
        run_on_dask(jobs, cluster.scheduler_address, workers=None, start=0)
        assert not flags
        with pytest.raises(DatabaseError, match="could not connect"):
            run_on_dask(broken, cluster.scheduler_address, workers=None, start=0)
        assert not flags
    assert _files(out) == _files(one_worker)


@pytest.mark.slow
def test_on_dask_a_failed_shard_stops_one_waiting_for_the_catalog(tmp_path, postgres_url):
    """Shard 0 fails at once (a database nobody listens at); shard 1 waits for shard 0's
    catalog in a real one: the stop flag reaches it there, and the run ends with shard 0's
    error, not after the 30 s the command gives running shards."""
    from fauxsim.scale.on_dask import run_on_dask  # noqa: PLC0415 - the optional extra

    scenario = load_scenario(_scenario_file(tmp_path), ())
    _, connection = open_sharded_dataset(postgres_url, scenario)
    connection.close()
    jobs = [
        DatabaseShardJob(scenario, 0, "postgresql://nobody@127.0.0.1:1/nothing"),
        DatabaseShardJob(scenario, 1, postgres_url),
    ]
    began = time.monotonic()
    with pytest.raises(DatabaseError, match="could not connect"):
        run_on_dask(jobs, "local", workers=2, start=to_micros(scenario.start_utc))
    assert time.monotonic() - began < 20


def test_fauxsim_run_dask_local_writes_the_same_files(one_worker, tmp_path, capsys, monkeypatch):
    shop = _scenario_file(tmp_path)
    out = tmp_path / "data"
    args = ["run", str(shop), "--out", str(out), "--dask", "local", "--workers", "2"]
    result = _succeeds(args, capsys, monkeypatch)
    assert "3 shards" in result.stdout
    written = {path: digest for path, digest in _files(out).items() if not path.startswith(META)}
    assert written == {
        path: digest for path, digest in _files(one_worker).items() if not path.startswith(META)
    }


def test_progress_adds_the_shards_up_and_moves_before_every_shard_has_started():
    from fauxsim.runner import RunStats  # noqa: PLC0415
    from fauxsim.scale.local import Progress  # noqa: PLC0415

    seen: list[RunStats] = []
    progress = Progress(start=100, on_progress=seen.append, shards=4)
    progress.update(0, RunStats(rows={"events": 5}, events=5, sessions=1, watermark=300))
    progress.update(1, RunStats(rows={"events": 7}, events=7, sessions=2, watermark=200))
    assert seen[-1].events == 12
    assert seen[-1].sessions == 3
    assert seen[-1].rows == {"events": 12}
    assert seen[-1].watermark == 100 + (200 + 100) // 4  # shards 2 and 3 stand at the start
    assert combine(progress.latest.values(), 100).watermark == 200  # the summary's: lowest
