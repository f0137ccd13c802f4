"""Live runs into Postgres, as a user starts them: ``fauxsim run SCENARIO --live``.

What a live run committed equals what a batch run ``--until`` its watermark writes into
a fresh database, table for table, whatever kills and stops came in between.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from fauxsim.clock import to_datetime
from fauxsim.wall_clock import now_micros
from tests.conftest import fresh_database
from tests.integration.helpers import table_counts, table_digests

PROJECT = Path(__file__).parents[2]

# Two days of a small shop with every quirk on: late and duplicate events must land in
# the same place however a live run cuts its hours.
QUIRKY_SHOP: dict[str, Any] = {
    "name": "live_test",
    "seed": 5,
    "start": "2024-03-01",
    "end": "2024-03-03",
    "timezone": "Europe/Berlin",
    "traffic": {"sessions_per_day": 500},
    "audience": {"existing_customers": 30},
    "catalog": {"generate": {"count": 20}},
    "quirks": {
        "duplicate_events": 0.02,
        "late_arrivals": {"probability": 0.03},
        "null_fields": 0.01,
        "keep_removed_cart_items": True,
    },
}


def wall_now() -> dt.datetime:
    return to_datetime(now_micros())


def write_scenario(folder: Path, **changes: Any) -> Path:
    path = folder / "shop.yaml"
    path.write_text(yaml.safe_dump({**QUIRKY_SHOP, **changes}))
    return path


def fauxsim(*args: str, environment: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """The command, as a user runs it (``environment``: variables set or changed)."""
    return subprocess.Popen(  # noqa: S603 - our interpreter, our command
        [sys.executable, "-m", "cli.app", *args],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200", **(environment or {})},
    )


def watermark(url: str) -> dt.datetime | None:
    try:
        with psycopg.connect(url) as connection:
            row = connection.execute("SELECT max(watermark) FROM runs").fetchone()
    except (psycopg.errors.UndefinedTable, psycopg.OperationalError):
        return None  # not migrated yet
    return row[0] if row else None


def wait_for_watermark(url: str, run: subprocess.Popen[str], past: dt.datetime) -> dt.datetime:
    """Poll until the committed watermark passes ``past``; fail if the run ends first."""
    deadline = time.monotonic() + 120
    while (mark := watermark(url)) is None or mark <= past:
        assert run.poll() is None, f"the run ended early: {run.communicate()}"
        assert time.monotonic() < deadline, "the live run made no progress"
        time.sleep(0.05)
    return mark


def stop(run: subprocess.Popen[str], how: signal.Signals) -> tuple[int, str, str]:
    run.send_signal(how)
    out, err = run.communicate(timeout=60)
    return run.returncode, out, err


@pytest.fixture
def second_database(postgres_server_url):
    """A fresh database beside the test's own, for the batch run to compare with."""
    with fresh_database(postgres_server_url) as url:
        yield url


@pytest.mark.slow
def test_a_killed_and_stopped_live_run_equals_a_batch_run_to_its_watermark(
    postgres_url, second_database, tmp_path
):
    scenario = write_scenario(tmp_path)
    live = ("run", str(scenario), "--db", postgres_url, "--live", "--speed", "7200")
    start = dt.datetime(2024, 2, 29, 23, tzinfo=dt.UTC)  # midnight in Berlin

    first = fauxsim(*live, "--commit-every", "0.1")
    killed_at = wait_for_watermark(postgres_url, first, start + dt.timedelta(hours=7))
    first.send_signal(signal.SIGKILL)
    first.wait()

    second = fauxsim(*live, "--commit-every", "0.37")
    wait_for_watermark(postgres_url, second, killed_at + dt.timedelta(hours=5))
    code, _, err = stop(second, signal.SIGTERM)
    assert code == 143, err
    assert "everything committed so far is kept" in err
    assert "Traceback" not in err

    stopped_at = watermark(postgres_url)
    assert stopped_at is not None
    until = stopped_at.isoformat()
    batch = fauxsim("run", str(scenario), "--db", second_database, "--until", until)
    _, err = batch.communicate(timeout=120)
    assert batch.returncode == 0, err
    assert table_counts(postgres_url)["events"] > 1_000
    assert table_digests(postgres_url) == table_digests(second_database)


@pytest.mark.slow
def test_live_at_speed_one_on_a_window_holding_today_writes_todays_rows(postgres_url, tmp_path):
    today = wall_now().date()
    scenario = write_scenario(
        tmp_path,
        start=str(today - dt.timedelta(days=2)),
        end=str(today + dt.timedelta(days=2)),
        timezone="UTC",
        traffic={"sessions_per_day": 20_000},  # an event every few seconds
    )
    began = wall_now()
    run = fauxsim("run", str(scenario), "--db", postgres_url, "--live")
    caught_up = wait_for_watermark(postgres_url, run, began)  # two days of history at once
    wait_for_watermark(postgres_url, run, caught_up + dt.timedelta(seconds=3))  # then the clock
    code, out, err = stop(run, signal.SIGINT)
    assert code == 130, err
    assert "live in real time" in err
    with psycopg.connect(postgres_url) as connection:
        (newest,) = connection.execute("SELECT max(received_at) FROM events").fetchone()  # type: ignore[misc]
        (committed,) = connection.execute("SELECT max(watermark) FROM runs").fetchone()  # type: ignore[misc]
    assert newest >= began - dt.timedelta(seconds=30)  # rows carry today's timestamps
    assert committed <= wall_now()
    assert "Traceback" not in out + err


def test_live_into_files_is_refused_with_what_to_use(tmp_path):
    run = fauxsim("run", str(write_scenario(tmp_path)), "--live", "--out", str(tmp_path / "d"))
    _, err = run.communicate(timeout=60)
    assert run.returncode == 2
    assert "--live writes into Postgres and/or a stream" in err
    assert not (tmp_path / "d").exists()


def test_speed_without_live_is_refused(tmp_path):
    run = fauxsim("run", str(write_scenario(tmp_path)), "--speed", "60", "--out", str(tmp_path))
    _, err = run.communicate(timeout=60)
    assert run.returncode == 2
    assert "--speed paces a live run; add --live" in err
