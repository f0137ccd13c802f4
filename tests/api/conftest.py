"""Fixtures for the Genie API tests: a seeded database, apps, clients and tokens.

The data comes from ``api_support.seed`` (synthetic rows; see there why).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from api_support import database_copy, database_url_for, issue, running_client, seed

from fauxsim.sinks.postgres.migrate import upgrade

if TYPE_CHECKING:
    from collections.abc import Iterator

    from litestar.testing import TestClient


@pytest.fixture(scope="session")
def seeded_template(postgres_server_url: str) -> Iterator[str]:
    """A migrated, seeded database that tests copy (CREATE DATABASE ... TEMPLATE)."""
    name = f"genie_template_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = database_url_for(postgres_server_url, name)
    try:
        upgrade(url)
        seed(url)
        yield name
    finally:
        with psycopg.connect(postgres_server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def shared_database(postgres_server_url: str, seeded_template: str) -> Iterator[str]:
    """A seeded database for tests that only read (tokens aside)."""
    with database_copy(postgres_server_url, seeded_template) as url:
        yield url


@pytest.fixture
def fresh_database(postgres_server_url: str, seeded_template: str) -> Iterator[str]:
    """A seeded database of this test's own, for tests that change rows."""
    with database_copy(postgres_server_url, seeded_template) as url:
        yield url


@pytest.fixture(scope="module")
def token(shared_database: str) -> str:
    """A read:all token in the shared database."""
    return issue(shared_database)


@pytest.fixture(scope="module")
def api(shared_database: str, token: str) -> Iterator[TestClient[Any]]:
    """A client of the shared database that sends a read:all token."""
    with running_client(shared_database, token) as client:
        yield client


@pytest.fixture(scope="module")
def anonymous(shared_database: str) -> Iterator[TestClient[Any]]:
    """A client of the shared database that sends no token."""
    with running_client(shared_database) as client:
        yield client
