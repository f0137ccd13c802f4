"""A scenario of several shards loaded into Postgres in parallel (#20).

Each shard loads over its own connection and commits with its own watermark; kill -9
of the command at any moment, and the same command again ends with the database a
clean run gives; ``db status`` shows where each shard stands.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import psycopg
import pytest

from tests.cli.cli_support import run_cli
from tests.conftest import fresh_database
from tests.integration.helpers import table_digests

if TYPE_CHECKING:
    from typing import Any

_SHOP = """\
name: sharded_db
seed: 5
start: 2024-01-01
end: 2024-01-06
shards: 3
traffic: {sessions_per_day: 1200}
audience: {existing_customers: 30}
catalog: {generate: {count: 20}}
quirks: {duplicate_events: 0.01, late_arrivals: {probability: 0.02}}
"""


def _command(shop: Path, url: str, workers: int) -> list[str]:
    fauxsim = str(Path(sys.executable).with_name("fauxsim"))
    return [fauxsim, "run", str(shop), "--db", url, "--workers", str(workers), "--batch-rows",
            "2000"]  # fmt: skip


def _committed_batches(monitor: psycopg.Connection[Any]) -> int:
    try:
        row = monitor.execute("SELECT coalesce(sum(batches), 0) FROM runs").fetchone()
    except psycopg.errors.UndefinedTable:  # not migrated yet
        return 0
    return int(row[0]) if row else 0


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    path = tmp_path / "shop.yaml"
    path.write_text(_SHOP)
    return path


@pytest.mark.slow
def test_killed_parallel_loads_resume_to_the_database_of_a_clean_run(
    postgres_url, postgres_server_url, shop
):
    with fresh_database(postgres_server_url) as clean:
        subprocess.run(_command(shop, clean, workers=1), check=True, capture_output=True)  # noqa: S603
        expected = table_digests(clean)
    kills = 0
    for batches in (2, 5, 9):
        process = subprocess.Popen(_command(shop, postgres_url, workers=2),  # noqa: S603
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        deadline = time.monotonic() + 120  # only ends a hung test
        with psycopg.connect(postgres_url, autocommit=True) as monitor:
            while process.poll() is None and _committed_batches(monitor) < batches:
                assert time.monotonic() < deadline, "the run made no progress"
                time.sleep(0.02)
        if process.poll() is None:
            workers = psutil.Process(process.pid).children(recursive=True)
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills += 1
            _, alive = psutil.wait_procs(workers, timeout=30)
            assert not alive, "a worker outlived the killed command"
    assert kills == 3, "the run finished before a kill point: make it longer"
    finisher = subprocess.run(_command(shop, postgres_url, workers=2), capture_output=True,  # noqa: S603
                              check=False)  # fmt: skip
    assert finisher.returncode == 0, finisher.stderr.decode()
    assert table_digests(postgres_url) == expected
    with psycopg.connect(postgres_url) as connection:
        shards = connection.execute(
            "SELECT DISTINCT shard, shards FROM runs ORDER BY shard"
        ).fetchall()
    assert shards == [(0, 3), (1, 3), (2, 3)]


def test_db_status_shows_each_shard(postgres_url, shop, capsys, monkeypatch):
    ran = run_cli(["run", str(shop), "--db", postgres_url, "--workers", "1", "--until",
                   "2024-01-02"], capsys, monkeypatch)  # fmt: skip
    assert ran.exit_code == 0, ran.stderr
    shown = run_cli(["db", "status", "--db", postgres_url], capsys, monkeypatch)
    assert shown.exit_code == 0, shown.stderr
    assert "shards     3, each loaded with its own watermark" in shown.stdout
    for index in range(3):
        assert f"shard   {index}  2024-01-02T00:00:00.000000Z" in shown.stdout
    # Each shard loads in a run of its own: the last run's line says whose it was.
    assert re.search(r"last run   #\d+ \(shard [0-2]\) complete", shown.stdout), shown.stdout
    again = run_cli(["run", str(shop), "--db", postgres_url, "--until", "2024-01-02"], capsys,
                    monkeypatch)  # fmt: skip
    assert "Nothing to do" in again.stdout


def test_a_shard_another_process_is_loading_is_refused(postgres_url, shop, capsys, monkeypatch):
    """As a task an earlier command left running on a Dask cluster: the writer lock went
    with that command, the shard's lock stays with the task's connection."""
    from fauxsim.sinks.postgres.ledger import SHARD_LOCKS  # noqa: PLC0415

    command = ["run", str(shop), "--db", postgres_url, "--workers", "1"]
    first = run_cli([*command, "--until", "2024-01-02"], capsys, monkeypatch)
    assert first.exit_code == 0, first.stderr
    with psycopg.connect(postgres_url, autocommit=True) as task:
        task.execute("SELECT pg_advisory_lock(%s, %s)", (SHARD_LOCKS, 2))
        second = run_cli(command, capsys, monkeypatch)
        assert second.exit_code == 3, second.stderr
        assert "shard 2 of postgresql://" in second.stderr
        assert "is being loaded by another process" in second.stderr
        assert "Traceback" not in second.stderr
        # Nor may a reset or a replace empty the tables under it.
        reset = run_cli(["db", "reset", "--yes", "--db", postgres_url], capsys, monkeypatch)
        assert reset.exit_code == 3, reset.stderr
        assert "shard 2 of postgresql://" in reset.stderr
    third = run_cli(command, capsys, monkeypatch)
    assert third.exit_code == 0, third.stderr


def test_db_status_shows_a_shard_that_stopped_short(postgres_url, shop, capsys, monkeypatch):
    """Each shard loads in a run of its own: a shard whose process died mid-run is the one
    the status shows, with the hint to resume, whichever shard's run came last; and a shard
    still held by a process (a task a killed command left on a Dask cluster) is not called
    interrupted: a rerun would be refused while it loads."""
    from fauxsim.sinks.postgres.ledger import SHARD_LOCKS  # noqa: PLC0415

    command = ["run", str(shop), "--db", postgres_url, "--workers", "1"]
    ran = run_cli([*command, "--until", "2024-01-02"], capsys, monkeypatch)
    assert ran.exit_code == 0, ran.stderr
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        # Shard 1's run as a killed process leaves it: running, short of its target.
        connection.execute(
            "UPDATE runs SET status = 'running', until_at = '2024-02-01T00:00:00Z' "
            "WHERE run_id = (SELECT max(run_id) FROM runs WHERE shard = 1)"
        )
        latest = connection.execute("SELECT shard FROM runs ORDER BY run_id DESC LIMIT 1")
        assert latest.fetchone() != (1,)  # (another shard's run came after it)
        shown = run_cli(["db", "status", "--db", postgres_url], capsys, monkeypatch)
        assert re.search(r"last run   #\d+ \(shard 1\) interrupted", shown.stdout), shown.stdout
        assert "run the same command again to resume" in shown.stdout
        connection.execute("SELECT pg_advisory_lock(%s, %s)", (SHARD_LOCKS, 1))
        shown = run_cli(["db", "status", "--db", postgres_url], capsys, monkeypatch)
        assert "interrupted" not in shown.stdout, shown.stdout
        assert "run the same command again" not in shown.stdout
