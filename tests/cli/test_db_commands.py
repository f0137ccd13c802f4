"""``fauxsim db status | url | reset | migrate``, called in-process."""

from __future__ import annotations

import datetime as dt
import socket

import psycopg
import pytest

from cli.console import console, report_user_errors
from cli.db_commands import db_app
from fauxsim.errors import UsageError
from fauxsim.runner import run_into
from fauxsim.sinks.postgres.ledger import WRITER_LOCK, scenario_digest
from fauxsim.sinks.postgres.migrate import head_revision
from fauxsim.sinks.postgres.sink import open_database_sink
from tests.cli.cli_support import run_cli
from tests.conftest import fresh_database
from tests.integration.helpers import table_counts
from tests.integration.scenario_fixtures import quirky_scenario


@pytest.fixture(autouse=True)
def fixed_width_console(monkeypatch):
    monkeypatch.setattr(console, "width", 100)


def _run(capsys, *arguments):
    db_app(list(arguments), exit_on_error=False, result_action="return_value")
    return capsys.readouterr()


def _write_first_day(url):
    scenario = quirky_scenario()
    until = dt.date(2024, 3, 2)
    with open_database_sink(url, scenario, until=until) as sink:
        run_into(sink, scenario, until=until)


def test_status_of_an_empty_database_says_there_is_no_dataset_yet(postgres_url, capsys):
    out = _run(capsys, "status", "--db", postgres_url).out
    assert "dataset    none yet: `fauxsim run <scenario>` writes one" in out
    assert "│ events           │    0 │" in out


def test_status_shows_scenario_seed_watermark_and_rows_per_table(postgres_url, capsys):
    _write_first_day(postgres_url)
    out = _run(capsys, "status", "--db", postgres_url).out
    counts = table_counts(postgres_url)
    assert f"scenario   integration (digest {scenario_digest(quirky_scenario())[:12]})" in out
    assert "seed       11" in out
    assert "watermark  2024-03-02T00:00:00.000000Z (everything before it is committed)" in out
    assert "last run   #1 complete, target 2024-03-02T00:00:00.000000Z" in out
    assert f"{counts['events']:,}" in out
    assert counts["events"] > 0


def test_status_tells_a_run_whose_process_is_gone_from_one_still_writing(postgres_url, capsys):
    """A run left marked running (its process killed) shows as interrupted, and says how
    to resume if it had not reached its target; while a writer holds the lock, running."""
    _write_first_day(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("UPDATE runs SET status = 'running'")  # as kill -9 leaves it
        out = _run(capsys, "status", "--db", postgres_url).out
        # Killed after its last batch: interrupted, but there is nothing left to resume.
        assert "last run   #1 interrupted, target 2024-03-02T00:00:00.000000Z" in out
        assert "resume" not in out
        connection.execute("UPDATE runs SET until_at = until_at + interval '1 day'")
        out = _run(capsys, "status", "--db", postgres_url).out
        assert "last run   #1 interrupted, target 2024-03-03T00:00:00.000000Z" in out
        assert "run the same command again to resume" in out
        connection.execute("SELECT pg_advisory_lock(%s)", (WRITER_LOCK,))  # a live writer
        out = _run(capsys, "status", "--db", postgres_url).out
        assert "last run   #1 running, target" in out
        assert "resume" not in out


def test_a_writer_of_another_database_on_the_server_is_not_taken_for_ours(
    postgres_url, postgres_server_url, capsys
):
    """pg_locks lists the whole server's locks: only this database's writer lock counts,
    and only the whole bigint key (not its low half, nor a pair of int keys)."""
    _write_first_day(postgres_url)
    low, high = WRITER_LOCK & 0xFFFF_FFFF, WRITER_LOCK >> 32
    with (
        fresh_database(postgres_server_url) as other_url,
        psycopg.connect(postgres_url, autocommit=True) as ours,
        psycopg.connect(other_url, autocommit=True) as other,
    ):
        ours.execute("UPDATE runs SET status = 'running'")  # its process is gone
        other.execute("SELECT pg_advisory_lock(%s)", (WRITER_LOCK,))  # a run into another db
        ours.execute("SELECT pg_advisory_lock(%s)", (low,))  # the same low 32 bits
        ours.execute("SELECT pg_advisory_lock(%s, %s)", (high, low))  # a pair of int keys
        out = _run(capsys, "status", "--db", postgres_url).out
    assert "last run   #1 interrupted" in out


def test_url_prints_the_url_with_its_password_for_other_tools(capsys):
    url = "postgresql://me:s3cret@db.example:5432/shop"
    assert _run(capsys, "url", "--db", url).out == f"{url}\n"


def test_url_comes_from_the_environment_without_db(monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", "postgresql://env@db/env")
    assert _run(capsys, "url").out == "postgresql://env@db/env\n"


def test_reset_empties_the_dataset_and_keeps_api_tokens(postgres_url, capsys):
    _write_first_day(postgres_url)
    with psycopg.connect(postgres_url) as connection:
        connection.execute(
            "INSERT INTO api_tokens (token_id, name, secret_hash, scopes, created_at) "
            "VALUES ('fg_1', 'laptop', 'h', '[]', now())"
        )
    out = _run(capsys, "reset", "--db", postgres_url, "--yes").out
    assert "data tables and runs ledger (API tokens kept)" in out
    assert set(table_counts(postgres_url).values()) == {0}
    with psycopg.connect(postgres_url) as connection:
        assert connection.execute("SELECT count(*) FROM runs").fetchone() == (0,)
        assert connection.execute("SELECT token_id FROM api_tokens").fetchall() == [("fg_1",)]


def test_reset_without_a_terminal_needs_yes(postgres_url, capsys):
    _write_first_day(postgres_url)
    with pytest.raises(UsageError, match="pass --yes to confirm"):
        _run(capsys, "reset", "--db", postgres_url)
    assert table_counts(postgres_url)["events"] > 0


def test_migrate_reports_the_schema_revision(postgres_url, capsys):
    out = _run(capsys, "migrate", "--db", postgres_url).out
    assert f"is at schema revision {head_revision()}" in out


def test_an_unreachable_database_is_one_line_and_exit_code_3(capsys):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SystemExit) as exited, report_user_errors():
        _run(capsys, "status", "--db", f"postgresql://me:s3cret@127.0.0.1:{port}/shop")
    assert exited.value.code == 3
    err = capsys.readouterr().err
    assert err.startswith(f"error: could not connect to postgresql://me:***@127.0.0.1:{port}/shop")
    assert "Traceback" not in err
    assert "s3cret" not in err


_DB = "postgresql://me:s3cret@127.0.0.1:5432/shop"
_KEYWORDS = "https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-PARAMKEYWORDS"
_VALID = f"Valid parameters are libpq's connection keywords: {_KEYWORDS}"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (f"{_DB}?foo=bar", f"unknown query parameter 'foo'. {_VALID}"),
        (
            f"{_DB}?ssl_mode=require",
            f"unknown query parameter 'ssl_mode'; did you mean 'sslmode'? {_VALID}",
        ),
        (
            f"{_DB}?connect_timeout=abc",
            "connect_timeout must be a whole number of seconds, not 'abc'",
        ),
        (
            f"{_DB}?sslmode",
            'missing key/value separator "=" in URI query parameter: "sslmode"',
        ),
        (
            "postgresql://me:s3%cret@127.0.0.1:5432/shop",
            'invalid percent-encoded token: "***"',
        ),
        (
            "postgresql://me:s3cret@[::1:5432/shop",
            (
                'end of string reached when looking for matching "]" in IPv6 host address in '
                'URI: "postgresql://me:***@[::1:5432/shop"'
            ),
        ),
    ],
    ids=["unknown", "near-miss", "timeout", "no-value", "percent", "ipv6"],
)
def test_a_url_libpq_cannot_read_is_one_line_naming_the_problem(url, reason, capsys, monkeypatch):
    """Checked before connecting: no server is needed, and psycopg's ProgrammingError (or
    int()'s ValueError) never reaches the user as a traceback."""
    result = run_cli(["db", "status", "--db", url], capsys, monkeypatch)
    assert result.exit_code == 3
    assert result.stderr.startswith("error: database URL 'postgresql://me")
    assert result.stderr.endswith(f"' is malformed: {reason}\n")
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert "s3cret" not in result.stderr
    assert "s3%cret" not in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["run", "black_friday", "--until", "2024-11-03"],
        ["db", "migrate"],
        ["db", "url"],
        ["token", "list"],
        ["report"],
        ["serve"],
    ],
    ids=lambda command: " ".join(command[:2]),
)
def test_every_command_refuses_a_malformed_url_from_the_environment(
    command, capsys, monkeypatch, tmp_path
):
    monkeypatch.chdir(tmp_path)  # where a command could leave a file, and must not
    monkeypatch.setenv("DATABASE_URL", f"{_DB}?foo=bar")
    result = run_cli(command, capsys, monkeypatch)
    assert result.exit_code == 3
    assert result.stderr.startswith(
        "error: database URL 'postgresql://me:***@127.0.0.1:5432/shop?foo=bar' is malformed: "
        "unknown query parameter 'foo'."
    )
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []
