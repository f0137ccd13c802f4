"""Tests that need a service skip without it on a laptop and fail without it in CI."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.service_support import (
    REQUIRE_SERVICES_ENV,
    postgres_problem,
    redis_problem,
    services_required,
    unavailable,
)

CI_SCRIPT = Path(__file__).parents[1] / ".ci" / "run"


@pytest.mark.parametrize("value", ["", "0", " "])
def test_a_missing_service_skips_with_its_reason_on_a_laptop(monkeypatch, value):
    monkeypatch.setenv(REQUIRE_SERVICES_ENV, value)
    assert not services_required()
    with pytest.raises(pytest.skip.Exception) as skipped:
        unavailable("needs Redis at redis://127.0.0.1:6379/0 (start redis-server): refused")
    assert str(skipped.value) == (
        "needs Redis at redis://127.0.0.1:6379/0 (start redis-server): refused"
    )


def test_without_the_variable_a_missing_service_skips(monkeypatch):
    monkeypatch.delenv(REQUIRE_SERVICES_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception):
        unavailable("needs Redis")


def test_a_missing_service_fails_where_services_are_required(monkeypatch):
    monkeypatch.setenv(REQUIRE_SERVICES_ENV, "1")
    with pytest.raises(pytest.fail.Exception) as failed:
        unavailable("needs Redis at redis://127.0.0.1:6379/0 (start redis-server): refused")
    assert str(failed.value) == (
        "needs Redis at redis://127.0.0.1:6379/0 (start redis-server): refused"
        " (FAUXSIM_REQUIRE_SERVICES is set: not skipped)"
    )


def test_an_unreachable_redis_or_postgres_is_a_reason_not_an_exception():
    assert redis_problem("redis://127.0.0.1:1/0")
    assert postgres_problem("postgresql://nobody@127.0.0.1:1/none")


def test_ci_requires_the_services():
    """CI runs the Redis and Postgres tests: there, a skip would hide a missing service."""
    lines = CI_SCRIPT.read_text().splitlines()
    assert lines.count(f"export {REQUIRE_SERVICES_ENV}=1") == 1
