"""``fauxsim scenarios``, ``validate`` and ``schema``: output and exit codes as users see them."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.console import Console

import cli.console
import cli.scenario_commands
from cli.app import app
from cli.console import report_user_errors

FIXTURES = Path(__file__).parents[1] / "scenario" / "fixtures"
WIDE = 1000  # wide enough that no message is wrapped, so lines can be compared exactly


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    out: str
    err: str


def fixed_console(buffer: io.StringIO) -> Console:
    return Console(file=buffer, width=WIDE, color_system=None, highlight=False, emoji=False)


@pytest.fixture
def fauxsim(monkeypatch):
    """Run `fauxsim <tokens>` in-process the way cli.app:main does; capture both streams."""

    def run(*tokens: str) -> Outcome:
        out, err = io.StringIO(), io.StringIO()
        monkeypatch.setattr(cli.scenario_commands, "console", fixed_console(out))
        monkeypatch.setattr(cli.console, "error_console", fixed_console(err))
        try:
            with report_user_errors():
                app(
                    list(tokens),
                    console=fixed_console(out),
                    error_console=fixed_console(err),
                    result_action="return_value",
                )
        except SystemExit as exit_:
            return Outcome(int(exit_.code or 0), out.getvalue(), err.getvalue())
        return Outcome(0, out.getvalue(), err.getvalue())

    return run


def test_scenarios_lists_each_bundled_scenario_on_one_line(fauxsim):
    result = fauxsim("scenarios")
    assert result.exit_code == 0
    lines = result.out.splitlines()
    assert [line.split()[0] for line in lines] == [
        "black_friday",
        "flash_sale",
        "live_shop",
        "steady_state",
    ]
    assert lines[0] == (
        "black_friday  A US shop through Black Friday and Cyber Monday 2024: x4 traffic, 20% off."
    )


def test_validate_prints_ok_and_what_the_scenario_will_generate(fauxsim):
    result = fauxsim("validate", "black_friday")
    assert result.exit_code == 0
    assert result.err == ""
    lines = result.out.splitlines()
    assert lines[0].startswith("ok: ")
    assert lines[0].endswith("black_friday.yaml")
    assert (
        "  window    2024-11-01 00:00 to 2024-12-08 00:00 America/New_York (37 days), "
        "seed 2024, prices in USD"
    ) in lines
    assert "  products  150 (12 listed, 138 generated) in 6 categories" in lines
    assert "  calendar  Black Friday: 2024-11-29 (traffic x4, prices -20%, own funnel)" in lines
    assert "            Cyber Monday: 2024-12-02 (traffic x3, prices -15%, own funnel)" in lines
    sessions = next(line for line in lines if line.startswith("  sessions"))
    assert "base 3,000/day; busiest 2024-11-29" in sessions


def test_validate_applies_set_overrides(fauxsim):
    result = fauxsim(
        "validate",
        str(FIXTURES / "minimal.yaml"),
        "--set",
        "traffic.sessions_per_day=20000",
        "--set",
        "seed=9",
    )
    assert result.exit_code == 0
    assert "base 20,000/day" in result.out
    assert "seed 9," in result.out
    assert "  shards " not in result.out  # (one: the whole shop)


def test_validate_shows_the_shards(fauxsim):
    result = fauxsim("validate", str(FIXTURES / "minimal.yaml"), "--set", "shards=4")
    assert result.exit_code == 0
    assert "  shards    4, each simulated alone with 1/4 of the audience" in result.out


def test_validate_lists_every_problem_on_stderr_and_exits_2(fauxsim, monkeypatch):
    monkeypatch.chdir(FIXTURES)
    result = fauxsim("validate", "several_errors.yaml")
    assert result.exit_code == 2
    assert result.out == ""
    lines = result.err.splitlines()
    assert lines[0] == "error: scenario several_errors.yaml has 4 problems:"
    assert lines[2] == (
        "several_errors.yaml:6:21: traffic.sessions_per_day: must be above 0 (got -5; "
        "allowed: a number above 0 and at most 50000000)"
    )
    assert len(lines) == 5


def test_a_value_that_looks_like_console_markup_is_shown_as_written(fauxsim, tmp_path):
    scenario = tmp_path / "markup.yaml"
    scenario.write_text('start: 2025-01-01\nend: 2025-01-08\ncurrency: "[/bold]"\n')
    result = fauxsim("validate", str(scenario))
    assert result.exit_code == 2
    assert "currency: is not in the expected form (got '[/bold]'; allowed:" in result.err


def test_validate_reports_an_unknown_override_path_and_exits_2(fauxsim):
    result = fauxsim("validate", "steady_state", "--set", "traffic.sesions_per_day=1")
    assert result.exit_code == 2
    assert "--set traffic.sesions_per_day=1: traffic.sesions_per_day: unknown key" in result.err
    assert "did you mean 'sessions_per_day'?" in result.err


def test_validate_of_a_missing_file_exits_2_with_the_bundled_names(fauxsim, tmp_path):
    result = fauxsim("validate", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert "bundled name: black_friday, flash_sale, live_shop, steady_state" in result.err


def test_an_unknown_option_is_a_usage_error_with_exit_code_2(fauxsim):
    result = fauxsim("validate", "steady_state", "--sett", "seed=1")
    assert result.exit_code == 2


def test_schema_prints_the_json_schema_to_stdout(fauxsim):
    result = fauxsim("schema")
    assert result.exit_code == 0
    schema = json.loads(result.out)
    assert schema["title"] == "Faux Genie scenario"
    assert "traffic" in schema["properties"]


def test_schema_out_writes_the_same_json_to_a_file(fauxsim, tmp_path):
    target = tmp_path / "scenario.schema.json"
    result = fauxsim("schema", "--out", str(target))
    assert result.exit_code == 0
    assert result.out == f"wrote the scenario JSON Schema to {target}\n"
    assert json.loads(target.read_text(encoding="utf-8")) == json.loads(fauxsim("schema").out)


def test_schema_out_into_a_missing_folder_is_a_usage_error(fauxsim, tmp_path):
    result = fauxsim("schema", "--out", str(tmp_path / "no" / "such" / "schema.json"))
    assert result.exit_code == 2
    assert result.err.startswith("error: cannot write the schema to ")


def test_the_installed_command_reports_a_broken_file_without_a_traceback():
    """A real `fauxsim validate` process: exit code 2, every problem, no Python traceback."""
    command = Path(sys.executable).parent / "fauxsim"
    assert command.exists(), "install the console script: .venv/bin/pip install -e . --no-deps"
    broken = FIXTURES / "several_errors.yaml"
    completed = subprocess.run(  # noqa: S603 - our own console script, fixed arguments
        [str(command), "validate", str(broken)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert "Traceback" not in completed.stderr
    # Compare without line breaks: the console may wrap long lines to the terminal width.
    flat = " ".join(completed.stderr.split())
    assert flat.startswith(f"error: scenario {broken} has 4 problems:")
    assert "several_errors.yaml:9:40: traffic.calendar.0.every_year.weekday: unknown value" in flat


@pytest.mark.parametrize(
    ("end", "length"),
    [("2025-01-01T02:00", "(2 hours)"), ("2025-01-01T01:30", "(90 minutes)"),
     ("2025-01-03T12:00", "(2.5 days)")],
)  # fmt: skip
def test_a_short_window_is_told_in_hours_or_minutes(fauxsim, tmp_path, end, length):
    path = tmp_path / "short.yaml"
    path.write_text(f"start: 2025-01-01T00:00\nend: {end}\n")
    result = fauxsim("validate", str(path))
    assert result.exit_code == 0, result.err
    assert length in result.out
