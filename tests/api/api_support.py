"""Helpers for the Genie API tests: synthetic rows, database copies, clients, tokens.

Until the engine writes into Postgres for tests, the data is synthetic: every table
gets ``ROWS`` rows whose ids are a permutation of 1..ROWS (so foreign keys, which
point at ``1..ROWS`` too, always resolve) and whose paging times come in groups of
three equal values, so that the keyset's tie-break on the id is exercised.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
from litestar.testing import TestClient
from psycopg.types.json import Jsonb

from fauxsim.clock import SECOND
from fauxsim.sinks.postgres.schema import FOREIGN_KEYS
from fauxsim.tables import Column, ColumnType, TableSpec
from genie_litestar.app import create_app
from genie_litestar.auth.store import create_token
from genie_litestar.resources.catalog import SERVED_TABLES
from genie_litestar.settings import GenieSettings
from genie_litestar.timestamps import moment_of

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Iterator

ROWS = 1200
EVENT_ROWS = 3000
SEED_START = 1_730_419_200 * SECOND  # 2024-11-01T00:00:00Z
SEED_STEP = 37 * SECOND
SECRET = "test-cursor-secret-0123456789"  # noqa: S105 - a test fixture


def database_url_for(server_url: str, name: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def paging_micros(index: int) -> int:
    """Row ``index``'s paging time: three rows share each value."""
    return SEED_START + (index // 3) * SEED_STEP


def row_id(index: int, count: int) -> int:
    # 7919 is prime and does not divide the counts, so this permutes 1..count.
    return (index * 7919) % count + 1


def synthetic_row(spec: TableSpec, index: int, count: int) -> tuple[Any, ...]:
    paging = paging_micros(index)
    values: list[Any] = []
    for column in spec.columns:
        if column.name == spec.primary_key:
            value: Any = row_id(index, count)
        elif (spec.name, column.name) in FOREIGN_KEYS:
            value = index % ROWS + 1
        elif column.type is ColumnType.TIMESTAMP:
            value = moment_of(paging - (SECOND if column.name == "created_at" else 0))
        elif column.nullable and index % 5 == 0:
            value = None
        else:
            value = _plain_value(column, index)
        values.append(value)
    return tuple(values)


def _plain_value(column: Column, index: int) -> Any:
    if column.type in {ColumnType.BIGINT, ColumnType.INTEGER}:
        return index
    if column.type is ColumnType.DOUBLE:
        return index / 8
    if column.type is ColumnType.BOOLEAN:
        return index % 2 == 0
    if column.type is ColumnType.JSON:
        return Jsonb({"index": index})
    if column.values:  # a closed set (a status, an event type): one of its values
        return column.values[index % len(column.values)]
    return f"{column.name}-{index}"


def insert_rows(
    connection: psycopg.Connection[Any], spec: TableSpec, rows: list[tuple[Any, ...]]
) -> None:
    columns = ", ".join(spec.column_names)
    with connection.cursor().copy(f"COPY {spec.name} ({columns}) FROM STDIN") as copy:  # type: ignore[arg-type]
        for row in rows:
            copy.write_row(row)


def seed(url: str) -> None:
    with psycopg.connect(url) as connection:
        for spec in SERVED_TABLES:
            count = EVENT_ROWS if spec.append_only else ROWS
            insert_rows(connection, spec, [synthetic_row(spec, i, count) for i in range(count)])


@contextmanager
def database_copy(server_url: str, template: str) -> Iterator[str]:
    name = f"genie_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield database_url_for(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def settings_for(url: str, **overrides: Any) -> GenieSettings:
    values: dict[str, Any] = {
        "database_url": url,
        "cursor_secret": SECRET,
        "public_base_url": "https://genie.example.test",
        "rate_limit_burst": 100_000,
        "rate_limit_per_second": 100_000.0,
        "settle_seconds": 60.0,
    }
    values.update(overrides)
    return GenieSettings(**values)


def issue(
    url: str, *, scopes: list[str] | None = None, expires_in: dt.timedelta | None = None
) -> str:
    with psycopg.connect(url) as connection:
        token, _ = create_token(
            connection, name="test", scopes=scopes or ["read:all"], expires_in=expires_in
        )
    return token


@contextmanager
def running_client(
    url: str, token: str | None = None, **overrides: Any
) -> Iterator[TestClient[Any]]:
    app = create_app(settings_for(url, **overrides))
    with TestClient(app) as client:
        if token:
            client.headers["Authorization"] = f"Bearer {token}"
        yield client


def page_through(client: TestClient[Any], path: str, **params: Any) -> list[dict[str, Any]]:
    """Every row of a list, following next_cursor with the same filters."""
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        rows += body["data"]
        cursor = body["next_cursor"]
        assert body["has_more"] == (cursor is not None)
        if cursor is None:
            return rows


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def live_server(url: str, **overrides: Any) -> Iterator[str]:
    """Genie under uvicorn in a subprocess, as users run it; yields its base URL."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = settings_for(url, public_base_url=base_url, **overrides)
    environment = {**os.environ}
    for key, value in settings.model_dump(mode="json").items():
        if value is not None:
            text = json.dumps(value) if isinstance(value, (list, dict)) else str(value)
            environment[f"GENIE_{key.upper()}"] = text
    environment["GENIE_CURSOR_SECRET"] = SECRET
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "genie_litestar.serving:app_from_environment",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, env=environment)  # noqa: S603 - our own command
    try:
        _wait_until_healthy(base_url, server)
        yield base_url
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_until_healthy(base_url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            msg = f"the server exited with {server.returncode}"
            raise RuntimeError(msg)
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)  # not yet listening: poll again, within the deadline
    msg = "the server did not become healthy within 30 s"
    raise RuntimeError(msg)
