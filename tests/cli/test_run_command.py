"""`fauxsim run`: files or a database, a summary at the end, clear errors and exit codes."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pytest

from cli import run_command
from cli.console import (
    HungUp,
    Terminated,
    handle_stops,
    raise_if_stopped,
    report_user_errors,
    stop_received,
)
from cli.run_outputs import Output, Outputs
from fauxsim import runner
from fauxsim.errors import SinkError
from fauxsim.sinks.base import open_sink
from fauxsim.sinks.postgres import process
from fauxsim.tables import ALL_TABLES
from tests.cli.cli_support import Result, run_cli

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fauxsim.runner import RunStats
    from fauxsim.sinks.base import Batch
    from fauxsim.sinks.postgres.process import LoaderProcess

SCENARIO = """\
name: cli-test
seed: 5
start: 2024-05-01
end: 2024-05-02
traffic: {sessions_per_day: 300}
"""


def scenario_file(tmp_path: Path, text: str = SCENARIO) -> Path:
    path = tmp_path / "shop.yaml"
    path.write_text(text)
    return path


def test_run_to_jsonl_writes_every_table_and_a_summary(tmp_path, capsys, monkeypatch):
    """A file run writes one file per table and ends with rows per table and conversion."""
    out = tmp_path / "data"
    result = run_cli(["run", str(scenario_file(tmp_path)), "--out", str(out), "--format", "jsonl"],
                     capsys, monkeypatch)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert {p.name for p in out.iterdir()} >= {"events.jsonl", "orders.jsonl", "sessions.jsonl"}
    assert "rows written" in result.stdout
    assert "conversion" in result.stdout
    first = orjson.loads((out / "events.jsonl").read_text().splitlines()[0])
    # What happened before the start comes first: imported customers, listed products.
    assert first["event_type"] in {"signed_up", "product_created"}


def test_until_stops_early_and_set_overrides(tmp_path, capsys, monkeypatch):
    """--until ends the run at that moment; --set changes a scenario value (here the seed)."""
    path = str(scenario_file(tmp_path))
    texts = {}
    for seed in ("5", "99"):
        out = tmp_path / f"seed{seed}"
        args = ["run", path, "--out", str(out), "--format", "jsonl", "--until", "2024-05-01T06:00"]
        result = run_cli([*args, "--set", f"seed={seed}"], capsys, monkeypatch)
        assert result.exit_code == 0, result.stderr
        texts[seed] = (out / "events.jsonl").read_text()
    events = [orjson.loads(line) for line in texts["5"].splitlines()]
    assert max(event["occurred_at"] for event in events) < "2024-05-01T06:00"
    assert texts["5"] != texts["99"]


def test_unknown_format_lists_valid_ones(tmp_path, capsys, monkeypatch):
    """An unknown --format is refused by the parser with the valid choices."""
    result = run_cli(["run", str(scenario_file(tmp_path)), "--format", "xlsx"], capsys, monkeypatch)
    assert result.exit_code != 0
    assert "parquet" in result.stdout + result.stderr


def test_bad_until_is_a_usage_error(tmp_path, capsys, monkeypatch):
    """A malformed --until exits 2 with an example of what is accepted."""
    result = run_cli(["run", str(scenario_file(tmp_path)), "--out", str(tmp_path / "o"),
                      "--until", "next tuesday"], capsys, monkeypatch)  # fmt: skip
    assert result.exit_code == 2
    assert "--until: 'next tuesday' is not a date or datetime" in result.stderr


def test_database_options_with_file_output_are_refused(tmp_path, capsys, monkeypatch):
    """--db with --out is contradictory: exit 2 and say which to drop."""
    result = run_cli(["run", str(scenario_file(tmp_path)), "--out", str(tmp_path / "o"),
                      "--db", "postgresql://x@localhost/y"], capsys, monkeypatch)  # fmt: skip
    assert result.exit_code == 2
    assert "--db and --replace are for database output" in result.stderr


def test_broken_scenario_exits_2_without_traceback(tmp_path, capsys, monkeypatch):
    """A scenario error is reported with its location; no traceback, exit 2."""
    path = scenario_file(tmp_path, SCENARIO.replace("seed: 5", "sed: 5"))
    result = run_cli(["run", str(path), "--out", str(tmp_path / "o")], capsys, monkeypatch)
    assert result.exit_code == 2
    assert "sed" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()


def test_unwritable_output_folder_is_a_clear_error(tmp_path, capsys, monkeypatch):
    """--out pointing at a file is refused with a message, not a traceback."""
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    result = run_cli(
        ["run", str(scenario_file(tmp_path)), "--out", str(blocker)], capsys, monkeypatch
    )
    assert result.exit_code == 3  # as for a database that cannot be used
    assert "Traceback" not in result.stderr
    assert str(blocker) in result.stderr


def test_until_not_after_the_start_is_refused_before_any_file_is_touched(
    tmp_path, capsys, monkeypatch
):
    """--until at or before the start would simulate nothing: exit 2, earlier files intact."""
    path, out = str(scenario_file(tmp_path)), tmp_path / "data"
    assert run_cli(["run", path, "--out", str(out)], capsys, monkeypatch).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    for until in ("2024-05-01", "2020-01-01T12:00"):
        result = run_cli(["run", path, "--out", str(out), "--until", until], capsys, monkeypatch)
        assert result.exit_code == 2
        assert "is not after the scenario's start (2024-05-01 00:00 UTC)" in result.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_until_past_the_end_runs_to_the_end_and_says_so(tmp_path, capsys, monkeypatch):
    """--until after the end is no mistake worth stopping for: a note, then the whole run."""
    path = str(scenario_file(tmp_path))
    whole, capped = tmp_path / "whole", tmp_path / "capped"
    assert run_cli(["run", path, "--out", str(whole)], capsys, monkeypatch).exit_code == 0
    result = run_cli(["run", path, "--out", str(capped), "--until", "2030-01-01"],
                     capsys, monkeypatch)  # fmt: skip
    assert result.exit_code == 0
    assert "is after the scenario's end (2024-05-02 00:00 UTC); running to the end" in (
        result.stderr
    )
    assert (capped / "events.parquet").read_bytes() == (whole / "events.parquet").read_bytes()


def test_installed_command_runs_a_bundled_scenario_by_name(tmp_path):
    """The real `fauxsim` console script runs a bundled scenario named without a path."""
    fauxsim = Path(sys.executable).parent / "fauxsim"
    done = subprocess.run(  # noqa: S603 - our own installed command
        [str(fauxsim), "run", "flash_sale", "--out", str(tmp_path), "--format", "csv",
         "--until", "2025-03-05"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "orders.csv").read_text().startswith('"order_id",')


def test_an_empty_out_path_is_refused_rather_than_writing_into_the_current_folder(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    result = run_cli(["run", str(scenario_file(tmp_path)), "--out", ""], capsys, monkeypatch)
    assert result.exit_code == 2
    assert "an empty folder path" in result.stderr
    assert {path.name for path in tmp_path.iterdir()} == {"shop.yaml"}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("stop", "code", "word"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_stopping_a_file_run_says_nothing_was_written_and_leaves_no_folder(
    tmp_path, stop, code, word
):
    """Ctrl-C or SIGTERM while the files are being written: a message, nothing left behind."""
    out = tmp_path / "out"
    command = [sys.executable, "-m", "cli.app", "run", "steady_state", "--out", str(out),
               "--format", "csv"]  # fmt: skip
    with subprocess.Popen(  # noqa: S603 - our own interpreter and code
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as running:
        events, deadline = out / ".events.csv.partial", time.monotonic() + 60
        while not (events.exists() and events.stat().st_size):  # until it writes events
            if running.poll() is not None or time.monotonic() > deadline:
                running.kill()
                _, stderr = running.communicate()
                pytest.fail(f"the run never wrote an event to stop it during: {stderr}")
            time.sleep(0.05)
        running.send_signal(stop)
        _, stderr = running.communicate(timeout=60)
    assert running.returncode == code, stderr
    assert f"{word}; nothing written to" in stderr
    assert not out.exists()


@pytest.fixture
def stop_handlers_restored():
    """The run command installs its own Ctrl-C, SIGTERM and SIGHUP handlers in this process."""
    stops = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    before = {number: signal.getsignal(number) for number in stops}
    yield
    for number, handler in before.items():
        signal.signal(number, handler)


def _swallow_a_sigterm() -> None:
    """What third-party code did in CI: the stop's exception raised inside it and dropped."""
    with contextlib.suppress(KeyboardInterrupt):
        signal.raise_signal(signal.SIGTERM)


def _run_to_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[Result, Path]:
    """The small scenario run in this process, to CSV in ``tmp_path/out``."""
    out = tmp_path / "out"
    command = ["run", str(scenario_file(tmp_path)), "--out", str(out), "--format", "csv"]
    return run_cli(command, capsys, monkeypatch), out


@pytest.mark.usefixtures("stop_handlers_restored")
@pytest.mark.parametrize(
    ("when", "kept"),
    [
        ("before the first batch", "nothing written to"),
        ("before an error", "nothing written to"),
        ("after the last batch", "after the run had finished: the files in"),
    ],
)
def test_a_sigterm_that_other_code_swallowed_still_stops_the_run(
    tmp_path, capsys, monkeypatch, when, kept
):
    """A SIGTERM swallowed before the first batch stops the run at that batch; one before
    an error is what is reported (the same SIGTERM may have ended the loader process); one
    swallowed after the last batch still exits 143, saying the files are complete."""
    real_generate = runner.generate

    def generate(*args: Any, **kwargs: Any) -> Iterator[Batch]:
        if when.startswith("before"):
            _swallow_a_sigterm()
        if when == "before an error":
            msg = "the Postgres loader process stopped unexpectedly (exit code -15)"
            raise SinkError(msg)
        yield from real_generate(*args, **kwargs)
        if when == "after the last batch":
            _swallow_a_sigterm()

    monkeypatch.setattr(runner, "generate", generate)
    result, out = _run_to_csv(tmp_path, capsys, monkeypatch)
    assert result.exit_code == 143, result.stderr
    assert f"terminated; {kept} {out}/" in result.stderr
    assert out.exists() == (when == "after the last batch")


@pytest.mark.usefixtures("stop_handlers_restored")
def test_a_sigterm_to_the_process_group_with_the_parents_swallowed_is_a_sigterm(
    tmp_path, capsys, monkeypatch, postgres_url
):
    """`timeout`, systemd or a CI cancel signal the whole group: the loader process ends at
    once. If the run's own SIGTERM was swallowed, the loader's death is not the story."""
    loaders: list[LoaderProcess] = []
    real_open, real_generate = process.open_loader_process, runner.generate

    def open_loader(*args: Any, **kwargs: Any) -> LoaderProcess:
        loaders.append(real_open(*args, **kwargs))
        return loaders[-1]

    def generate(*args: Any, **kwargs: Any) -> Iterator[Batch]:
        for number, batch in enumerate(real_generate(*args, **kwargs)):
            if number == 1:
                os.kill(loaders[0]._child.pid, signal.SIGTERM)
                loaders[0]._child.join(10)
                _swallow_a_sigterm()
            yield batch

    monkeypatch.setattr(process, "open_loader_process", open_loader)
    monkeypatch.setattr(runner, "generate", generate)
    result = run_cli(["run", str(scenario_file(tmp_path)), "--db", postgres_url,
                      "--batch-rows", "500"], capsys, monkeypatch)  # fmt: skip
    assert result.exit_code == 143, result.stderr
    assert "terminated; everything committed so far is kept" in result.stderr


@pytest.mark.usefixtures("stop_handlers_restored")
def test_a_stop_before_the_run_takes_charge_of_the_files_leaves_none(tmp_path, capsys, monkeypatch):
    """Ctrl-C after the files were opened, before the engine ran: the partial files go too."""

    def stopped_at_once(*_args: Any, **_kwargs: Any) -> RunStats:
        raise KeyboardInterrupt

    monkeypatch.setattr(run_command, "run_into", stopped_at_once)
    result, out = _run_to_csv(tmp_path, capsys, monkeypatch)
    assert result.exit_code == 130, result.stderr
    assert f"interrupted; nothing written to {out}/" in result.stderr
    assert not out.exists()


@pytest.mark.usefixtures("stop_handlers_restored")
def test_a_sigterm_after_a_swallowed_ctrl_c_is_a_sigterm():
    """Two stops, the first swallowed: the exit code says SIGTERM (143), whatever the order."""
    handle_stops()
    with contextlib.suppress(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)
    with pytest.raises(Terminated):
        signal.raise_signal(signal.SIGTERM)
    with pytest.raises(Terminated):
        raise_if_stopped()


@pytest.mark.usefixtures("stop_handlers_restored")
def test_a_hang_up_stops_a_run_unless_it_is_ignored():
    """A closed terminal's SIGHUP is a stop (exit 129); under ``nohup`` (SIGHUP ignored) the
    run is to outlive the terminal, so it stays ignored."""
    handle_stops()
    with pytest.raises(HungUp):
        signal.raise_signal(signal.SIGHUP)
    assert stop_received().exit_code == 129
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    handle_stops()
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN


@pytest.mark.usefixtures("stop_handlers_restored")
def test_a_stop_whose_message_cannot_be_written_still_exits_with_its_code():
    """A terminal that hung up fails every write (EIO): the exit code is the stop's, 129,
    not the OSError's 1."""
    handle_stops()
    with contextlib.suppress(HungUp):
        signal.raise_signal(signal.SIGHUP)
    with pytest.raises(SystemExit) as exited, report_user_errors():
        raise OSError(5, "Input/output error")
    assert exited.value.code == 129


@pytest.mark.usefixtures("stop_handlers_restored")
def test_a_sigterm_swallowed_after_a_complete_database_run_says_it_is_complete(
    tmp_path, capsys, monkeypatch, postgres_url
):
    """Not "run again to resume": there is nothing left to resume."""
    real_generate = runner.generate

    def generate(*args: Any, **kwargs: Any) -> Iterator[Batch]:
        yield from real_generate(*args, **kwargs)
        _swallow_a_sigterm()

    monkeypatch.setattr(runner, "generate", generate)
    command = ["run", str(scenario_file(tmp_path)), "--db", postgres_url]
    result = run_cli(command, capsys, monkeypatch)
    assert result.exit_code == 143, result.stderr
    assert "terminated; after the run had finished: the database holds all of it" in result.stderr


def test_a_stop_after_the_files_were_published_says_they_are_complete(tmp_path):
    sink = open_sink("jsonl", tmp_path)
    files = Outputs([Output("files", sink, None, str(tmp_path))])
    before = files.what_was_kept(tmp_path)
    sink.close()
    assert (
        before == f"nothing written to {tmp_path}/ (files there from an earlier run are untouched)"
    )
    assert files.what_was_kept(tmp_path) == (
        f"after the run had finished: the files in {tmp_path}/ are complete"
    )
    database = Outputs([Output("database", sink, None, "Postgres")])
    assert database.what_was_kept(tmp_path) == (
        "everything committed so far is kept: run the same command again to resume"
    )


def test_run_into_postgres_writes_extends_and_then_has_nothing_to_do(
    tmp_path, capsys, monkeypatch, postgres_url
):
    """Through the loader process: a first run, an extension, and a run with nothing left."""
    path = str(scenario_file(tmp_path))
    first = run_cli(["run", path, "--db", postgres_url, "--until", "2024-05-01T12:00"],
                    capsys, monkeypatch)  # fmt: skip
    assert first.exit_code == 0, first.stderr
    assert "Wrote cli-test into Postgres" in first.stdout
    rest = run_cli(["run", path, "--db", postgres_url], capsys, monkeypatch)
    assert rest.exit_code == 0, rest.stderr
    assert "Extended cli-test into Postgres" in rest.stdout
    again = run_cli(["run", path, "--db", postgres_url], capsys, monkeypatch)
    assert again.exit_code == 0, again.stderr
    assert "Nothing to do" in again.stdout
    other = run_cli(["run", path, "--db", postgres_url, "--set", "seed=6"], capsys, monkeypatch)
    assert other.exit_code == 3
    assert "--replace" in other.stderr
    assert "Traceback" not in other.stderr


def test_an_unreachable_database_is_one_clear_line(tmp_path, capsys, monkeypatch):
    """The loader process's connection error reaches the user as the same one-line message."""
    result = run_cli(["run", str(scenario_file(tmp_path)), "--db",
                      "postgresql://me:secret@127.0.0.1:1/shop"], capsys, monkeypatch)  # fmt: skip
    assert result.exit_code == 3
    assert "could not connect to postgresql://me:***@127.0.0.1:1/shop" in result.stderr
    assert "secret" not in result.stderr
    assert "Traceback" not in result.stderr


def test_the_summary_names_where_on_one_line_and_lists_every_table_in_order(
    tmp_path, capsys, monkeypatch
):
    """Every table (quirks too, even at 0), in db status order; a long folder stays whole."""
    out = tmp_path / ("a-rather-long-folder-name-for-the-output-of-this-run" * 2)
    result = run_cli(["run", str(scenario_file(tmp_path)), "--out", str(out)], capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    assert f"Wrote cli-test into {out}/ (parquet)" in result.stdout
    listed = re.findall(r"^│ (\w+) +│", result.stdout, flags=re.MULTILINE)
    assert listed == [spec.name for spec in ALL_TABLES]


_BERLIN = """\
start: 2024-03-30
end: 2024-11-02
timezone: Europe/Berlin
traffic: {sessions_per_day: 20}
"""
_SKIPPED = (
    "--until 2024-03-31 02:30 does not exist in Europe/Berlin (the clocks jump); "
    "using 2024-03-31 03:30 CEST."
)
_REPEATED = (
    "--until 2024-10-27 02:30 happens twice in Europe/Berlin (the clocks go back); "
    "using the first, 2024-10-27 02:30 CEST."
)


@pytest.mark.parametrize(
    ("until", "note"), [("2024-03-31T02:30", _SKIPPED), ("2024-10-27T02:30", _REPEATED)]
)
def test_a_local_until_that_a_clock_change_skips_or_repeats_is_explained(
    tmp_path, capsys, monkeypatch, until, note
):
    path = str(scenario_file(tmp_path, _BERLIN))
    args = ["run", path, "--out", str(tmp_path / "o"), "--until", until]
    result = run_cli(args, capsys, monkeypatch)
    assert result.exit_code == 0, result.stderr
    assert note in result.stderr


@pytest.mark.parametrize(
    ("option", "value"),
    [("--speed", "0"), ("--speed", "-5"), ("--speed", "nan"), ("--speed", "inf"),
     ("--speed", "1e308"), ("--speed", "1e-300"), ("--commit-every", "1e10"),
     ("--commit-every", "0")],
)  # fmt: skip
def test_live_pacing_out_of_bounds_is_a_usage_error(tmp_path, capsys, monkeypatch, option, value):
    """Before anything starts: beyond the bounds the wall clock's arithmetic overflows."""
    result = run_cli(
        ["run", str(scenario_file(tmp_path)), "--live", "--db", "postgresql://nobody@127.0.0.1:1/x",
         option, value],
        capsys, monkeypatch,
    )  # fmt: skip
    assert result.exit_code == 2, result.stderr
    assert f"{option} must be a number from" in result.stderr
    served = run_cli(["serve", "--live", str(scenario_file(tmp_path)), "--speed", value], capsys,
                     monkeypatch)  # fmt: skip
    assert served.exit_code == 2, served.stderr
    if option == "--speed":
        assert "--speed must be a number from" in served.stderr
