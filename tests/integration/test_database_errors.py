"""Bad databases: each failure is one line with the masked URL and what to do.

Every case here is reproduced against a real server; nothing is mocked. Disk full is
reproduced with a tablespace on a 1 MB tmpfs, which needs root and a local server.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest

from fauxsim.clock import to_micros
from fauxsim.scenario.model import Scenario
from fauxsim.sinks.base import Batch
from fauxsim.sinks.postgres.connection import DatabaseError, connect, mask_password
from fauxsim.sinks.postgres.ledger import DatasetMismatchError
from fauxsim.sinks.postgres.migrate import HEAD_REVISION, upgrade
from fauxsim.sinks.postgres.sink import open_database_sink
from tests.conftest import with_database
from tests.integration.helpers import event_row, table_counts

if TYPE_CHECKING:
    from collections.abc import Iterator

SCENARIO = Scenario(name="errors", start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 2))
START = to_micros(SCENARIO.start_utc)


@pytest.fixture
def limited_role(postgres_server_url):
    """A login role with a password and no privileges beyond PUBLIC's; dropped after."""
    name = f"fauxsim_role_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_server_url, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {name} LOGIN PASSWORD 'pw'")
    try:
        yield name
    finally:
        with psycopg.connect(postgres_server_url, autocommit=True) as admin:
            admin.execute(f"DROP OWNED BY {name}")
            admin.execute(f"DROP ROLE {name}")


def as_role(url: str, role: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{role}:pw@{rest.rpartition('@')[2]}"


def test_a_missing_database_says_how_to_create_it(postgres_url):
    missing = with_database(postgres_url, "fauxsim_no_such_db")
    with pytest.raises(DatabaseError) as failed:
        connect(missing)
    assert str(failed.value) == (
        f'could not connect to {mask_password(missing)}: database "fauxsim_no_such_db" '
        "does not exist. Create it first (createdb fauxsim_no_such_db, or CREATE DATABASE "
        "fauxsim_no_such_db), or point --db / DATABASE_URL at an existing database."
    )


def test_an_unknown_user_is_told_to_check_user_and_password(postgres_url):
    url = as_role(postgres_url, "fauxsim_nobody")
    with pytest.raises(DatabaseError) as failed:
        connect(url)
    message = str(failed.value)
    assert message.startswith(f"could not connect to {mask_password(url)}: ")
    assert message.endswith(
        "Check the user (fauxsim_nobody) and password in the URL, or leave out --db and "
        "DATABASE_URL to use the embedded Postgres."
    )
    assert ":pw@" not in message


def test_a_wrong_password_is_reported_without_showing_it(embedded_server):
    """The embedded server checks passwords (a CI server may trust everyone)."""
    user_and_password, _, rest = embedded_server.url.partition("@")
    wrong = f"{user_and_password.rpartition(':')[0]}:not-the-password@{rest}"
    with pytest.raises(DatabaseError) as failed:
        connect(wrong)
    assert str(failed.value) == (
        f"could not connect to {mask_password(wrong)}: password authentication failed for "
        'user "postgres". Check the user (postgres) and password in the URL, or leave out '
        "--db and DATABASE_URL to use the embedded Postgres."
    )
    assert "not-the-password" not in str(failed.value)


def test_a_user_without_connect_privilege_is_told_what_to_grant(postgres_url, limited_role):
    database = postgres_url.rpartition("/")[2]
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'REVOKE CONNECT ON DATABASE "{database}" FROM PUBLIC')
    url = as_role(postgres_url, limited_role)
    with pytest.raises(DatabaseError) as failed:
        connect(url)
    assert str(failed.value) == (
        f'could not connect to {mask_password(url)}: permission denied for database "{database}". '
        f"Grant {limited_role} what it needs (CONNECT on the database, CREATE on its schema, "
        f"ownership of the fauxsim tables), or use a database that {limited_role} owns."
    )


def test_a_user_who_may_not_create_tables_gets_a_clear_line_and_no_tables(
    postgres_url, limited_role
):
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"REVOKE CREATE ON SCHEMA public FROM PUBLIC, {limited_role}")
    url = as_role(postgres_url, limited_role)
    with pytest.raises(DatabaseError) as failed:
        open_database_sink(url, SCENARIO)
    assert str(failed.value) == (
        f"could not create or upgrade the fauxsim tables in {mask_password(url)}: "
        f"permission denied for schema public. Grant {limited_role} what it needs (CONNECT "
        "on the database, CREATE on its schema, ownership of the fauxsim tables), or use a "
        f"database that {limited_role} owns."
    )
    with psycopg.connect(postgres_url) as check:
        tables = check.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
    assert tables == (0,)  # the migration rolled back as a whole


def test_a_database_with_tables_of_another_application_is_left_alone(postgres_url):
    with psycopg.connect(postgres_url, autocommit=True) as other_app:
        other_app.execute("CREATE TABLE orders (id int PRIMARY KEY, note text)")
        other_app.execute("INSERT INTO orders VALUES (1, 'theirs')")
    with pytest.raises(DatabaseError) as refused:
        open_database_sink(postgres_url, SCENARIO)
    assert str(refused.value) == (
        f"the database {mask_password(postgres_url)} already has tables fauxsim did not "
        "create (orders). Use an empty database for fauxsim (e.g. createdb fauxsim, then "
        "--db postgresql://.../fauxsim), or drop those tables if they are leftovers."
    )
    with psycopg.connect(postgres_url) as check:
        assert check.execute("SELECT note FROM orders").fetchall() == [("theirs",)]


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        pytest.param(
            "UPDATE fauxsim_schema_version SET version_num = '9999'",
            "was set up by a newer fauxsim (schema revision '9999'; this fauxsim knows up to "
            f"'{HEAD_REVISION}'). Upgrade fauxsim, or use another database.",
            id="migrated by a newer fauxsim",
        ),
        pytest.param(
            "DELETE FROM fauxsim_schema_version",
            "has fauxsim's fauxsim_schema_version table but no revision in it, so its schema "
            "is unknown (edited by hand?). Use an empty database for fauxsim, or drop the "
            "fauxsim tables and that one.",
            id="version table emptied by hand",
        ),
    ],
)
def test_a_schema_version_fauxsim_cannot_follow_is_refused(postgres_url, edit, problem):
    upgrade(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as edited:
        edited.execute(edit)
    with pytest.raises(DatabaseError) as refused:
        upgrade(postgres_url)
    assert str(refused.value) == f"the database {mask_password(postgres_url)} {problem}"


def test_rows_written_by_something_else_are_not_mixed_with_a_run(postgres_url):
    upgrade(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as other:
        other.execute(
            "INSERT INTO products VALUES "
            "(1, 'SKU', 'Mug', 'kitchen', 900, 'USD', 1.0, now(), now())"
        )
    with pytest.raises(DatasetMismatchError) as refused:
        open_database_sink(postgres_url, SCENARIO)
    assert str(refused.value) == (
        f"the database {mask_password(postgres_url)} has rows in products but no fauxsim run "
        "is recorded in its runs table, so they were not written by fauxsim run. Pass "
        "--replace to delete them and write this scenario, or use another database "
        "(--db / DATABASE_URL)."
    )


# --------------------------------------------------------------------------- disk full


@pytest.fixture
def tiny_tablespace(postgres_url) -> Iterator[str]:
    """A tablespace on a 1 MB tmpfs, owned by the server's OS user."""
    with psycopg.connect(postgres_url) as probe:
        data_directory = Path(str(probe.execute("SHOW data_directory").fetchone()[0]))  # type: ignore[index]
    if os.geteuid() != 0 or not data_directory.exists():
        pytest.skip("disk full is reproduced with a tmpfs mount: needs root and a local server")
    mount_point = Path(f"/tmp/fauxsim-tiny-{uuid.uuid4().hex[:8]}")  # noqa: S108
    mount_point.mkdir()
    mounted = subprocess.run(  # noqa: S603 - fixed command
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],  # noqa: S607
        check=False,
        capture_output=True,
    )
    if mounted.returncode != 0:
        mount_point.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    owner = data_directory.stat()
    os.chown(mount_point, owner.st_uid, owner.st_gid)
    name = f"fauxsim_tiny_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f"CREATE TABLESPACE {name} LOCATION '{mount_point}'")
        yield name
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("DROP TABLE IF EXISTS events CASCADE")
            admin.execute(f"DROP TABLESPACE IF EXISTS {name}")
        subprocess.run(["umount", str(mount_point)], check=True)  # noqa: S603, S607
        mount_point.rmdir()


def test_a_full_disk_stops_the_run_keeping_exactly_the_committed_batches(
    postgres_url, tiny_tablespace
):
    upgrade(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"ALTER TABLE events SET TABLESPACE {tiny_tablespace}")
    fits = Batch(START + 3_600_000_000, {"events": [event_row(i, START) for i in range(100)]})
    too_big = Batch(
        START + 7_200_000_000,
        {"events": [event_row(i, START + 3_600_000_000) for i in range(100, 60_000)]},
    )
    sink = open_database_sink(postgres_url, SCENARIO)
    sink.write(fits)
    sink.write(too_big)
    with pytest.raises(DatabaseError) as failed:
        sink.close()
    message = str(failed.value)
    assert message.startswith(f"could not write to {mask_password(postgres_url)}: could not ")
    assert "No space left on device" in message
    assert message.endswith(
        "The server's disk is full: free space (or use another database), then run the "
        "same command again; every committed batch is kept and the run resumes."
    )
    assert table_counts(postgres_url)["events"] == 100
    with psycopg.connect(postgres_url) as check:
        assert check.execute("SELECT watermark, batches FROM runs").fetchall() == [
            (dt.datetime(2025, 1, 1, 1, tzinfo=dt.UTC), 1)
        ]
