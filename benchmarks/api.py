"""Genie API speed and load, against a real uvicorn worker and a real Postgres.

    .venv/bin/python benchmarks/api.py [--server-url postgresql://postgres@127.0.0.1:5432/postgres]
                                       [--rows 1000000] [--clients 16] [--duration 60]

1. Paging: one client reads ``--rows`` events with limit=1000, following next_cursor.
   Printed beside the floor measured in the same run: ``COPY (SELECT ...) TO STDOUT`` of
   the same rows and columns. Targets: >= 50,000 rows/s, p99 page latency <= 100 ms.
2. Load: ``--clients`` concurrent clients for ``--duration`` s, each with its own token
   and the default rate limit (40 burst, 4/s): every answer must be 200, or 429 with
   Retry-After; the server's resident memory is sampled and must stay flat.

The events are synthetic (generate_series in Postgres), made in a scratch database that
is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson
import psycopg

from fauxsim.sinks.postgres.migrate import upgrade
from fauxsim.tables import EVENTS
from genie_litestar.auth.store import create_token

if TYPE_CHECKING:
    from collections.abc import Iterator

PAGE = 1000
PORT = 8765
ROOT = Path(__file__).parents[1]

_FILL_EVENTS = """
INSERT INTO events
SELECT n, 'page_viewed',
       timestamptz '2024-11-01' + n * interval '31 milliseconds',
       timestamptz '2024-11-01' + (n / 4) * interval '124 milliseconds',
       n / 20, n / 40, CASE WHEN n %% 3 = 0 THEN n / 60 END, n %% 20, '/product/' || n %% 500,
       n %% 500, 1, NULL, jsonb_build_object('referrer', 'search', 'position', n %% 10)
FROM generate_series(1, %s) AS n
"""


def _database_url(server_url: str, name: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@contextmanager
def scratch_database(server_url: str, rows: int) -> Iterator[str]:
    name = f"genie_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = _database_url(server_url, name)
    try:
        upgrade(url)
        with psycopg.connect(url) as connection:
            connection.execute(_FILL_EVENTS, (rows,))
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE events")
        yield url
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def genie_server(url: str, *, burst: int, rate: float) -> Iterator[subprocess.Popen[bytes]]:
    environment = {
        **os.environ,
        "GENIE_DATABASE_URL": url,
        "GENIE_CURSOR_SECRET": uuid.uuid4().hex * 2,
        "GENIE_PUBLIC_BASE_URL": f"http://127.0.0.1:{PORT}",
        "GENIE_RATE_LIMIT_BURST": str(burst),
        "GENIE_RATE_LIMIT_PER_SECOND": str(rate),
        "GENIE_POOL_MAX_SIZE": "20",
    }
    command = [
        sys.executable, "-m", "uvicorn", "--factory",
        "genie_litestar.serving:app_from_environment",
        "--port", str(PORT), "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    server = subprocess.Popen(  # noqa: S603 - our own command
        command, env=environment, stderr=subprocess.DEVNULL, cwd=ROOT
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{PORT}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=30)


def issue(url: str) -> str:
    with psycopg.connect(url) as connection:
        token, _ = create_token(connection, name="bench", scopes=["read:all"], expires_in=None)
    return token


def copy_floor(url: str, rows: int) -> float:
    """Rows per second of COPY TO STDOUT of the same rows and columns, in key order."""
    columns = ", ".join(EVENTS.column_names)
    started = time.perf_counter()
    count = 0
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        query = f"COPY (SELECT {columns} FROM events ORDER BY received_at, event_id) TO STDOUT"  # noqa: S608
        with cursor.copy(query) as copy:  # type: ignore[arg-type]
            for block in copy:
                count += bytes(block).count(b"\n")
    elapsed = time.perf_counter() - started
    assert count == rows, (count, rows)
    return count / elapsed


def page_through(token: str, rows: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    seen = 0
    cursor = None
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{PORT}", headers=headers, timeout=30) as client:
        started = time.perf_counter()
        while True:
            params: dict[str, str | int] = {"limit": PAGE}
            if cursor:
                params["cursor"] = cursor
            before = time.perf_counter()
            response = client.get("/v1/events", params=params)
            latencies.append(time.perf_counter() - before)
            response.raise_for_status()
            body = orjson.loads(response.content)
            seen += len(body["data"])
            cursor = body["next_cursor"]
            if cursor is None:
                break
        elapsed = time.perf_counter() - started
    assert seen == rows, (seen, rows)
    return seen / elapsed, latencies


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def resident_megabytes(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _client(token: str, until: float, statuses: dict[str, int]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{PORT}", headers=headers, timeout=30
    ) as client:
        cursor = None
        while time.monotonic() < until:
            params: dict[str, str | int] = {"limit": 100}
            if cursor:
                params["cursor"] = cursor
            response = await client.get("/v1/events", params=params)
            if response.status_code == 200:
                cursor = response.json()["next_cursor"]
                statuses["200"] += 1
            elif response.status_code == 429 and "retry-after" in response.headers:
                statuses["429 with Retry-After"] += 1
                # Like a polite client, within the benchmark's time box.
                wait = int(response.headers["retry-after"])
                await asyncio.sleep(min(wait, max(0.0, until - time.monotonic())))
            else:
                statuses[f"unexpected {response.status_code}"] = (
                    statuses.get(f"unexpected {response.status_code}", 0) + 1
                )


async def _load(tokens: list[str], duration: float, pid: int) -> tuple[dict[str, int], list[float]]:
    statuses = {"200": 0, "429 with Retry-After": 0}
    until = time.monotonic() + duration
    memory: list[float] = []

    async def sample() -> None:
        while time.monotonic() < until:
            memory.append(resident_megabytes(pid))
            await asyncio.sleep(1)

    await asyncio.gather(sample(), *(_client(token, until, statuses) for token in tokens))
    return statuses, memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--server-url",
        default=os.environ.get(
            "FAUXSIM_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=60.0)
    arguments = parser.parse_args()

    with scratch_database(arguments.server_url, arguments.rows) as url:
        floor = copy_floor(url, arguments.rows)
        token = issue(url)
        with genie_server(url, burst=1_000_000, rate=1_000_000.0) as server:
            copy_floor(url, arguments.rows)  # warm the cache for both sides alike
            cpu_before = cpu_seconds(server.pid)
            rate, latencies = page_through(token, arguments.rows)
            server_cpu = cpu_seconds(server.pid) - cpu_before
        quantiles = statistics.quantiles(latencies, n=100)
        print(f"paging {arguments.rows:,} events, limit={PAGE}, one client, one worker")
        print(f"  Genie        {rate:12,.0f} rows/s   (target >= 50,000)")
        print(f"  COPY floor   {floor:12,.0f} rows/s   ratio Genie/floor = {rate / floor:.2f}")
        # Client, server and Postgres share the machine's cores; the server's own CPU time
        # shows what one worker could do with a core to itself.
        print(
            f"  server CPU   {server_cpu / (arguments.rows / PAGE) * 1000:.1f} ms per page"
            f" = {arguments.rows / server_cpu:,.0f} rows per CPU-second of the worker"
        )
        print(
            f"  page latency p50 {quantiles[49] * 1000:.1f} ms,"
            f" p99 {quantiles[98] * 1000:.1f} ms   (target p99 <= 100 ms)"
        )

        tokens = [issue(url) for _ in range(arguments.clients)]
        with genie_server(url, burst=40, rate=4.0) as server:
            statuses, memory = asyncio.run(_load(tokens, arguments.duration, server.pid))
        print(f"load: {arguments.clients} clients for {arguments.duration:.0f} s, 40 burst, 4/s")
        for status, count in statuses.items():
            print(f"  {status:<22} {count:8,}")
        settled = memory[len(memory) // 4 :] or memory
        print(
            f"  server memory: start {memory[0]:.0f} MB, after warm-up {settled[0]:.0f} MB,"
            f" end {memory[-1]:.0f} MB, max {max(memory):.0f} MB"
        )
        errors = {status for status in statuses if status.startswith("unexpected")}
        print("  errors other than 429 + Retry-After:", ", ".join(errors) or "none")


if __name__ == "__main__":
    main()
