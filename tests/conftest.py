"""Shared fixtures: a fresh Postgres database per test, and Redis.

The server is the one named by ``FAUXSIM_TEST_DATABASE_URL`` (``.ci/run`` sets it to the
machine's server); without it, an embedded Postgres is started once per test session
in a temporary folder and stopped at the end, so the tests also run on a laptop with
no server. Every test that asks for ``postgres_url`` gets its own database with a
unique name, dropped afterwards, and is marked ``postgres`` (``-m "not postgres"``
skips them all). Tests that ask for ``redis_url`` are marked ``redis``.

A service that cannot be reached (Redis not running, the named server down, the
embedded Postgres unable to start) skips the tests that need it, with the reason, or
fails them where ``FAUXSIM_REQUIRE_SERVICES`` is set (CI): see ``service_support.py``.
In CI, the server must be named: the embedded fallback is a laptop's convenience.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tests.service_support import (
    REQUIRE_SERVICES_ENV,
    TEST_SERVER_ENV,
    postgres_problem,
    redis_problem,
    redis_url_for_tests,
    services_required,
    unavailable,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from fauxsim.sinks.postgres.embedded import EmbeddedServer


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "postgres_url" in fixtures or "postgres_server_url" in fixtures:
            item.add_marker(pytest.mark.postgres)
        if "redis_url" in fixtures:
            item.add_marker(pytest.mark.redis)


@pytest.fixture(scope="session")
def embedded_server() -> Iterator[EmbeddedServer]:
    """An embedded Postgres for this test session, in a scratch folder removed afterwards.

    Not below pytest's tmp_path: as root the server runs as another OS user, and every
    pytest session (also one running in parallel) resets that folder to mode 0700.
    """
    from fauxsim.sinks.postgres.embedded import (  # noqa: PLC0415 - only when needed
        ensure_embedded_server,
        stop_embedded_server,
    )

    root = Path(tempfile.mkdtemp(prefix="fauxsim-test-postgres-"))
    try:
        yield ensure_embedded_server(root)
    finally:
        stop_embedded_server(root)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server_url(request: pytest.FixtureRequest) -> str:
    """A URL of a database on the test server, used to create and drop test databases."""
    configured = os.environ.get(TEST_SERVER_ENV, "").strip()
    if configured:
        problem = postgres_problem(configured)
        if problem is not None:
            unavailable(f"needs the Postgres server named by {TEST_SERVER_ENV}: {problem}")
        return configured
    if services_required():
        pytest.fail(
            f"{REQUIRE_SERVICES_ENV} is set but {TEST_SERVER_ENV} is not: name the Postgres"
            " server the tests must use",
            pytrace=False,
        )
    from fauxsim.errors import FauxError  # noqa: PLC0415 - beside the embedded server's import

    try:
        server: EmbeddedServer = request.getfixturevalue("embedded_server")
    except FauxError as error:
        unavailable(f"needs Postgres: {TEST_SERVER_ENV} is not set and {error}")
    return server.url_for("postgres")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis the tests use (``FAUXSIM_TEST_REDIS_URL``, else local), checked to answer."""
    url = redis_url_for_tests()
    problem = redis_problem(url)
    if problem is not None:
        unavailable(f"needs Redis at {url} (start redis-server): {problem}")
    return url


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A URL of a new, empty database that only this test uses; dropped afterwards."""
    with fresh_database(postgres_server_url) as url:
        yield url


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new, empty database with a unique name on the server of ``server_url``; dropped after."""
    name = f"fauxsim_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def with_database(url: str, database: str) -> str:
    """``url`` pointing at another database on the same server."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", parts.query, parts.fragment))
