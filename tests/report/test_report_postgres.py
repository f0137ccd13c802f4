"""``fauxsim report --db URL``: a dataset in Postgres, its scenario found in the runs ledger."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from fauxsim.clock import to_micros
from fauxsim.report.audit import run_audit
from fauxsim.report.reading import read_database, read_folder
from fauxsim.scale.jobs import DatabaseShardJob
from fauxsim.scale.local import run_locally
from fauxsim.scenario.loading import load_scenario
from fauxsim.sinks.postgres.sink import open_sharded_dataset
from tests.cli.cli_support import run_cli

pytestmark = pytest.mark.slow


@pytest.fixture
def flash_sale_db(postgres_url: str) -> str:
    command = [sys.executable, "-m", "cli.app", "run", "flash_sale", "--db", postgres_url]
    subprocess.run(command, check=True, capture_output=True)  # noqa: S603 - our own command
    return postgres_url


def test_report_reads_a_database_and_finds_its_bundled_scenario(
    flash_sale_db, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "report.html"
    result = run_cli(["report", "--db", flash_sale_db, "--out", str(out)], capsys, monkeypatch)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert ", 0 fail," in result.stdout
    assert "flash_sale: is the data realistic?" in out.read_text(encoding="utf-8")


def test_without_a_folder_the_report_reads_database_url(
    flash_sale_db, tmp_path, capsys, monkeypatch
):
    """As run and serve do: no folder and no --db is $DATABASE_URL (else embedded)."""
    monkeypatch.setenv("DATABASE_URL", flash_sale_db)
    out = tmp_path / "report.html"
    result = run_cli(["report", "--out", str(out)], capsys, monkeypatch)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "flash_sale: is the data realistic?" in out.read_text(encoding="utf-8")


def test_a_database_and_files_of_one_run_measure_the_same(flash_sale_db, flash_sale_folder):
    """Postgres keeps each row's latest state and each event once; files are change logs
    with duplicated events. Read as the report reads them, they show the same numbers."""
    scenario = load_scenario(Path("flash_sale"))
    from_db = run_audit(scenario, read_database(flash_sale_db))
    from_files = run_audit(scenario, read_folder(flash_sale_folder))
    assert [(c.name, c.measured, c.sample) for c in from_db] == [
        (c.name, c.measured, c.sample) for c in from_files
    ]


def test_another_scenario_than_the_ledgers_is_named_in_a_note(
    flash_sale_db, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "report.html"
    args = ["report", "--db", flash_sale_db, "--scenario", "black_friday", "--out", str(out)]
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 1  # black_friday's curves are not flash_sale's data
    assert result.stdout.startswith(
        "note: black_friday differs from the scenario that wrote this dataset (flash_sale)"
    )


def test_a_sharded_database_is_audited_with_its_shard_count_up_to_every_shards_rows(
    postgres_url, tmp_path, capsys, monkeypatch
):
    """A run of several shards into Postgres: the report takes the shard count from the
    ledger (no note that the scenario differs), reads up to the lowest shard's watermark
    (before it, every shard's rows are in), and the audit passes."""
    command = [sys.executable, "-m", "cli.app", "run", "flash_sale", "--db", postgres_url,
               "--set", "shards=2", "--workers", "2"]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)  # noqa: S603 - our own command
    out = tmp_path / "report.html"
    result = run_cli(["report", "--db", postgres_url, "--out", str(out)], capsys, monkeypatch)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "note:" not in result.stdout
    assert ", 0 fail," in result.stdout
    dataset = read_database(postgres_url)
    assert dataset.shards == 2
    assert dataset.end == load_scenario(Path("flash_sale")).end_utc


def test_a_database_whose_shards_stop_at_different_moments_is_one_line_exit_3(
    postgres_url, tmp_path, capsys, monkeypatch
):
    """Shard 1 loaded only to 2025-03-10 (as after Ctrl-C), shard 0 to the end: the
    tables mix shards cut at different moments, which no audit can read right."""
    scenario = load_scenario(Path("flash_sale"), ["shards=2"])
    _, connection = open_sharded_dataset(postgres_url, scenario)
    try:
        cut = dt.date(2025, 3, 10)
        jobs = [DatabaseShardJob(scenario, 0, postgres_url),
                DatabaseShardJob(scenario, 1, postgres_url, until=cut)]  # fmt: skip
        run_locally(jobs, 1, start=to_micros(scenario.start_utc))
    finally:
        connection.close()
    args = ["report", "--db", postgres_url, "--out", str(tmp_path / "report.html")]
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 3
    assert "is not complete: its shards stop at different moments (shard 0 up to 2025-03-17 " in (
        result.stderr
    )
    assert "shard 1 up to 2025-03-10 00:00 UTC); run the same fauxsim run command again" in (
        result.stderr
    )


def test_an_empty_database_is_one_line_exit_3(postgres_url, capsys, monkeypatch):
    result = run_cli(["report", "--db", postgres_url], capsys, monkeypatch)
    assert result.exit_code == 3
    assert result.stderr.count("\n") == 1
    assert "holds no fauxsim dataset" in result.stderr
