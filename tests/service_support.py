"""The rule for tests that need a service (Postgres, Redis): skip on a laptop, fail in CI.

Without the service a test is skipped with the reason (pytest's ``-ra`` shows it), so
the README's test command passes on a laptop that runs no Redis. CI sets
``FAUXSIM_REQUIRE_SERVICES=1``: there a missing service fails the test instead, so a CI
run can never pass by skipping what it was meant to check.
"""

from __future__ import annotations

import os
from typing import NoReturn

import psycopg
import pytest
import redis

REQUIRE_SERVICES_ENV = "FAUXSIM_REQUIRE_SERVICES"
TEST_SERVER_ENV = "FAUXSIM_TEST_DATABASE_URL"
TEST_REDIS_ENV = "FAUXSIM_TEST_REDIS_URL"
DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/0"
_CONNECT_TIMEOUT_SECONDS = 2


def services_required() -> bool:
    """Whether a missing service fails the tests that need it (CI) instead of skipping them."""
    return os.environ.get(REQUIRE_SERVICES_ENV, "").strip() not in {"", "0"}


def unavailable(reason: str) -> NoReturn:
    """Skip the test for ``reason``; fail it instead where services are required."""
    if services_required():
        pytest.fail(f"{reason} ({REQUIRE_SERVICES_ENV} is set: not skipped)", pytrace=False)
    pytest.skip(reason)


def redis_url_for_tests() -> str:
    """The Redis the tests use: ``FAUXSIM_TEST_REDIS_URL``, else the local default."""
    return os.environ.get(TEST_REDIS_ENV, "").strip() or DEFAULT_TEST_REDIS_URL


def redis_problem(url: str) -> str | None:
    """Why Redis at ``url`` cannot be used, or None if it answers a PING."""
    client = redis.Redis.from_url(
        url,
        socket_connect_timeout=_CONNECT_TIMEOUT_SECONDS,
        socket_timeout=_CONNECT_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    except redis.RedisError as error:
        return str(error) or type(error).__name__
    finally:
        client.close()
    return None


def postgres_problem(url: str) -> str | None:
    """Why the Postgres server at ``url`` cannot be used, or None if it accepts a connection."""
    try:
        with psycopg.connect(url, connect_timeout=_CONNECT_TIMEOUT_SECONDS):
            return None
    except psycopg.OperationalError as error:
        return str(error).strip().splitlines()[0] if str(error).strip() else "connection failed"
