"""``fauxsim report``: the page it writes, its exit codes, and its one-line errors."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from cli.report_command import report
from fauxsim.clock import to_micros
from fauxsim.scale.jobs import ShardJob
from fauxsim.scale.local import run_locally
from fauxsim.scenario.bundled import find_bundled
from fauxsim.scenario.loading import load_scenario
from fauxsim.sinks.files.folder import META
from fauxsim.sinks.files.partitioned import open_dataset
from tests.cli.cli_support import run_cli
from tests.report.report_support import run_into_folder


@pytest.fixture(scope="module")
def page(flash_sale_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report of flash_sale, written once for the tests that read the page."""
    out = tmp_path_factory.mktemp("page") / "report.html"
    assert report(flash_sale_folder, scenario=Path("flash_sale"), out=out) == 0
    return out


def test_report_writes_the_page_and_says_how_the_audit_went(
    flash_sale_folder, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "report.html"
    args = ["report", str(flash_sale_folder), "--scenario", "flash_sale", "--out", str(out)]
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    assert re.fullmatch(
        rf"{re.escape(str(out))}: \d+ checks pass, 0 fail, \d+ without data\n", result.stdout
    )
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.slow
@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_a_sharded_dataset_is_read_and_audited_as_one(tmp_path, capsys, monkeypatch, file_format):
    """`--set shards=K` writes a folder a table (shard and period partitions): the report
    reads every part and the audit passes on the whole, as on one file a table."""
    folder = run_into_folder(
        tmp_path / "data", "flash_sale", "--set", "shards=2", "--workers", "1",
        "--format", file_format,
    )  # fmt: skip
    assert (folder / "events").is_dir()
    out = tmp_path / "report.html"
    args = ["report", str(folder), "--scenario", "flash_sale", "--out", str(out)]
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert re.search(r": \d{3} checks pass, 0 fail", result.stdout)
    assert "note:" not in result.stdout  # the shard count is the dataset's own
    # Another scenario than the run's is named, with what to pass: the run's --set options.
    other = [*args, "--set", "traffic.sessions_per_day=100"]
    result = run_cli(other, capsys, monkeypatch)
    assert result.stdout.startswith(
        "note: flash_sale --set traffic.sessions_per_day=100 differs from the scenario that "
        "wrote this dataset (flash_sale): give the --set options the run had"
    )
    # Another scenario altogether: said so.
    other = ["report", str(folder), "--scenario", "black_friday", "--out", str(out)]
    result = run_cli(other, capsys, monkeypatch)
    assert "(flash_sale): this is scenario 'black_friday': give the one the run used" in (
        result.stdout
    )


@pytest.mark.slow
def test_a_folder_whose_shards_stop_at_different_moments_is_one_line_exit_3(
    tmp_path, capsys, monkeypatch
):
    """Shard 1 written only to 2025-03-10 (as after Ctrl-C), shard 0 to the end; then a
    file of shard 0 that no commit covers (a run killed between a file and its commit)."""
    scenario = load_scenario(Path("flash_sale"), ["shards=2"])
    out = tmp_path / "data"
    open_dataset(out, scenario, "parquet", "digest")
    jobs = [ShardJob(scenario, 0, out, "parquet"),
            ShardJob(scenario, 1, out, "parquet", until=dt.date(2025, 3, 10))]  # fmt: skip
    run_locally(jobs, 1, start=to_micros(scenario.start_utc))
    args = ["report", str(out), "--scenario", "flash_sale", "--out", str(tmp_path / "r.html")]
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 3
    assert "shard 1 up to 2025-03-10 00:00 UTC); run the same fauxsim run command again" in (
        result.stderr
    )
    ShardJob(scenario, 1, out, "parquet").dataset.remove_uncommitted(1)
    run_locally([ShardJob(scenario, 1, out, "parquet")], 1, start=to_micros(scenario.start_utc))
    assert run_cli(args, capsys, monkeypatch).exit_code == 0
    events = next((out / "events" / "shard=000").glob("period=*/part-*.parquet"))
    events.with_name("part-20300101T000000.parquet").write_bytes(events.read_bytes())
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 3
    assert "holds files of shard 0 that no commit covers" in result.stderr


def test_the_page_is_self_contained(page):
    """Nothing is fetched: no scripts, no links or sources to other hosts, charts inline."""
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "<script" not in text
    assert "<link" not in text
    assert text.count("<svg") >= 9


def test_the_page_holds_every_chart_and_the_audit_table(page):
    text = page.read_text(encoding="utf-8")
    for title in (
        "Sessions per hour",
        "Hour of day",
        "Weekday",
        "Funnel (base behaviour)",
        "Orders and revenue per day",
        "Time to ship and to deliver",
        "Order status",
        "Returning visitors, devices and channels",
        "Audit: configured against measured",
    ):
        assert f"<h2>{title}</h2>" in text
    assert "Flash sale 2025-03-12 traffic multiplier" in text
    assert '<tr class="fail">' not in text


def test_a_failing_audit_exits_1_and_names_the_rows(
    flash_sale_folder, tmp_path, capsys, monkeypatch
):
    """The scenario given is not the one that made the data: the page is written, exit 1."""
    source = find_bundled("flash_sale")
    assert source is not None
    changed = source.read_text(encoding="utf-8").replace(
        "payment_failure_probability: 0.08", "payment_failure_probability: 0.02"
    )
    scenario = tmp_path / "changed.yaml"
    scenario.write_text(changed, encoding="utf-8")
    out = tmp_path / "report.html"
    args = ["report", str(flash_sale_folder), "--scenario", str(scenario), "--out", str(out)]
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 1
    assert "1 fail" in result.stdout
    assert "  fail  orders: payment attempts that fail\n" in result.stdout
    assert '<tr class="fail">' in out.read_text(encoding="utf-8")


def _error(args: list[str], capsys, monkeypatch) -> tuple[int, str]:
    result = run_cli(args, capsys, monkeypatch)
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr  # one line, no traceback
    return result.exit_code, result.stderr


def test_a_missing_folder_is_one_line_exit_3(tmp_path, capsys, monkeypatch):
    missing = tmp_path / "nowhere"
    code, message = _error(
        ["report", str(missing), "--scenario", "flash_sale"], capsys, monkeypatch
    )
    assert code == 3
    assert (
        message == f"error: {missing} does not exist; give the folder `fauxsim run --out` wrote\n"
    )


def test_a_folder_without_tables_is_one_line_exit_3(tmp_path, capsys, monkeypatch):
    code, message = _error(
        ["report", str(tmp_path), "--scenario", "flash_sale"], capsys, monkeypatch
    )
    assert code == 3
    assert message.startswith(
        f"error: {tmp_path} holds no fauxsim tables (looked for events.parquet"
    )


def test_a_partitioned_dataset_whose_description_is_damaged_is_one_line_exit_3(
    tmp_path, capsys, monkeypatch
):
    """Its shards unknown, whether they are complete cannot be told: not audited as if whole."""
    folder = run_into_folder(
        tmp_path / "data", "flash_sale", "--set", "shards=2", "--workers", "1", "--until",
        "2025-03-05",
    )  # fmt: skip
    (folder / META / "dataset.json").write_text("{not json")
    code, message = _error(
        ["report", str(folder), "--scenario", "flash_sale", "--out", str(tmp_path / "r.html")],
        capsys, monkeypatch,
    )  # fmt: skip
    assert code == 3
    assert message.startswith(f"error: {folder / META / 'dataset.json'} cannot be read")
    assert "the dataset is damaged" in message


def test_a_dataset_without_events_is_one_line_exit_3(
    flash_sale_folder, tmp_path, capsys, monkeypatch
):
    for name in ("events", "sessions", "orders", "customers", "carts"):
        table = pq.read_table(flash_sale_folder / f"{name}.parquet")
        pq.write_table(table.slice(0, 0), tmp_path / f"{name}.parquet")
    code, message = _error(
        ["report", str(tmp_path), "--scenario", "flash_sale"], capsys, monkeypatch
    )
    assert code == 3
    assert message == f"error: {tmp_path} holds no events: the dataset is empty\n"


@pytest.fixture(scope="module")
def small_datasets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """black_friday's first day in each layout, to copy and damage (~2 s each)."""
    root = tmp_path_factory.mktemp("small")
    until = ("black_friday", "--until", "2024-11-02")
    return {
        kind: run_into_folder(root / kind, *until, *options)
        for kind, options in {
            "parquet": ("--format", "parquet"),
            "jsonl": ("--format", "jsonl"),
            "csv": ("--format", "csv"),
            "sharded": ("--format", "parquet", "--set", "shards=2"),
        }.items()
    }


def _cut_short(path: Path) -> Path:
    os.truncate(path, 100)
    return path


def _append(path: Path, line: str) -> Path:
    with path.open("a", encoding="utf-8") as file:
        file.write(line)
    return path


def _first_part(folder: Path, table: str) -> Path:
    return next((folder / table / "shard=001").glob("period=*/part-*.parquet"))


@pytest.mark.parametrize(
    ("kind", "damage", "table", "reason"),
    [
        (
            "parquet",
            lambda folder: _cut_short(folder / "orders.parquet"),
            "orders",
            "No magic bytes found at end of file '{file}'",
        ),
        (
            "jsonl",
            lambda folder: _append(folder / "events.jsonl", "garbage{\n"),
            "events",
            'Malformed JSON in file "{file}", at byte 1 in line ',
        ),
        (
            "csv",
            lambda folder: _append(folder / "sessions.csv", 'a,b,"c\n'),
            "sessions",
            "CSV Error on Line: ",
        ),
        (
            "sharded",
            lambda folder: _cut_short(_first_part(folder, "events")),
            "events",
            "No magic bytes found at end of file '{file}'",
        ),
        (
            "sharded",
            lambda folder: _append(
                folder / "customers" / "shard=000" / "period=2024-11" / "part-x.parquet", "junk"
            ),
            "customers",
            "File '{file}' too small to be a Parquet file",
        ),
    ],
    ids=[
        "parquet-cut-short",
        "jsonl-garbage-line",
        "csv-garbage-line",
        "shard-cut-short",
        "junk-part",
    ],
)
def test_a_damaged_dataset_is_one_line_exit_3_naming_the_table_and_file(
    small_datasets, tmp_path, capsys, monkeypatch, kind, damage, table, reason
):
    """DuckDB's error for a file it cannot read becomes the DatasetError the README
    promises (exit 3), not its traceback; nothing is written."""
    folder = tmp_path / "damaged"
    shutil.copytree(small_datasets[kind], folder)
    damaged = damage(folder)
    out = tmp_path / "report.html"
    args = ["report", str(folder), "--scenario", "black_friday", "--out", str(out)]
    code, message = _error(args, capsys, monkeypatch)
    assert code == 3
    assert message.startswith(
        f"error: {folder} is damaged: its {table} table cannot be read "
        f"({reason.format(file=damaged)}"
    )
    assert str(damaged) in message  # the file, where DuckDB does not name it first
    assert message.endswith(
        "). Write the dataset again with fauxsim run (into a new folder), or restore the file "
        "from a copy\n"
    )
    assert "Traceback" not in message
    assert not out.exists()


def test_files_without_a_scenario_is_one_line_exit_2(flash_sale_folder, capsys, monkeypatch):
    code, message = _error(["report", str(flash_sale_folder)], capsys, monkeypatch)
    assert code == 2
    assert message == (
        "error: files do not record their scenario: add --scenario FILE (or a bundled name, "
        "e.g. --scenario black_friday)\n"
    )


def test_both_folder_and_database_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    arguments = ["report", str(tmp_path), "--db", "postgresql://nobody@127.0.0.1:1/none"]
    code, message = _error(arguments, capsys, monkeypatch)
    assert code == 2
    assert "give a data folder or --db URL, not both" in message


def test_an_unknown_scenario_is_one_line_exit_2(flash_sale_folder, capsys, monkeypatch):
    args = ["report", str(flash_sale_folder), "--scenario", "flash_sal"]
    code, message = _error(args, capsys, monkeypatch)
    assert code == 2
    assert "did you mean 'flash_sale'?" in message


def test_without_the_report_extra_the_command_says_what_to_install(
    flash_sale_folder, capsys, monkeypatch
):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    code, message = _error(
        ["report", str(flash_sale_folder), "--scenario", "flash_sale"], capsys, monkeypatch
    )
    assert code == 2
    assert message == (
        "error: fauxsim report needs DuckDB and matplotlib (matplotlib is missing): "
        "pip install -e '.[report]'\n"
    )


def test_the_same_data_draws_the_same_page(flash_sale_folder, page, tmp_path):
    """Byte for byte, as the data itself: a page can be kept and diffed."""
    again = tmp_path / "again.html"
    assert report(flash_sale_folder, scenario=Path("flash_sale"), out=again) == 0
    assert again.read_bytes() == page.read_bytes()
