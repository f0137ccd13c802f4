"""Per-token rate limits (memory and Redis), RateLimit-* headers, 429 + Retry-After, chaos."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
import redis
from api_support import issue, running_client

from genie_litestar.chaos import Chaos
from genie_litestar.problems import ProblemError
from genie_litestar.ratelimit.buckets import MemoryBuckets
from genie_litestar.ratelimit.redis_buckets import RedisBuckets
from genie_litestar.settings import ChaosProfile, chaos_profile


def test_every_api_response_carries_rate_limit_headers(shared_database, token):
    with running_client(
        shared_database, token, rate_limit_burst=5, rate_limit_per_second=0.01
    ) as client:
        ok = client.get("/v1/orders")
        missing = client.get("/v1/orders/999999")
        unauthorised = client.get("/v1/orders", headers={"Authorization": "Bearer x"})
    for response in (ok, missing, unauthorised):
        assert response.headers["ratelimit-limit"] == "5"
        assert {"ratelimit-remaining", "ratelimit-reset"} <= set(response.headers)
    assert ok.headers["ratelimit-remaining"] == "4"
    assert missing.headers["ratelimit-remaining"] == "3"


def test_an_empty_bucket_answers_429_with_retry_after(shared_database, token):
    with running_client(
        shared_database, token, rate_limit_burst=3, rate_limit_per_second=0.01
    ) as client:
        statuses = [client.get("/v1/orders").status_code for _ in range(3)]
        limited = client.get("/v1/orders")
    assert statuses == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "100"  # one request at 0.01/s
    assert limited.headers["ratelimit-remaining"] == "0"
    assert limited.headers["content-type"] == "application/problem+json"


def test_buckets_are_per_token(shared_database, token):
    other = issue(shared_database)
    with running_client(
        shared_database, token, rate_limit_burst=1, rate_limit_per_second=0.01
    ) as client:
        assert client.get("/v1/orders").status_code == 200
        assert client.get("/v1/orders").status_code == 429
        other_headers = {"Authorization": f"Bearer {other}"}
        assert client.get("/v1/orders", headers=other_headers).status_code == 200


def test_memory_bucket_refills_at_the_configured_rate(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("genie_litestar.ratelimit.buckets.time.monotonic", lambda: clock[0])
    buckets = MemoryBuckets(burst=2, rate=4.0)

    async def takes(count):
        return [(await buckets.take("k")).allowed for _ in range(count)]

    assert asyncio.run(takes(3)) == [True, True, False]
    clock[0] += 0.25  # one request's worth at 4/s
    assert asyncio.run(takes(2)) == [True, False]


@pytest.fixture
def redis_namespace(redis_url):
    namespace = f"genie-test:{uuid.uuid4().hex}"
    yield namespace
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{namespace}:*"):
        client.delete(key)
    client.close()


def test_redis_buckets_are_shared_between_workers(redis_url, redis_namespace):
    """Two limiter instances (as in two workers) spend one budget through Redis."""

    async def scenario():
        first = RedisBuckets(redis_url, burst=3, rate=0.01, namespace=redis_namespace)
        second = RedisBuckets(redis_url, burst=3, rate=0.01, namespace=redis_namespace)
        try:
            decisions = [
                await first.take("token:a"),
                await second.take("token:a"),
                await first.take("token:a"),
                await second.take("token:a"),
                await second.take("token:b"),
            ]
        finally:
            await first.close()
            await second.close()
        return decisions

    decisions = asyncio.run(scenario())
    assert [d.allowed for d in decisions] == [True, True, True, False, True]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    assert decisions[3].retry_after_seconds == 100


def test_app_with_redis_url_limits_through_redis(shared_database, token, redis_url):
    with (
        running_client(
            shared_database,
            token,
            redis_url=redis_url,
            rate_limit_burst=2,
            rate_limit_per_second=0.01,
        ) as first,
        running_client(
            shared_database,
            token,
            redis_url=redis_url,
            rate_limit_burst=2,
            rate_limit_per_second=0.01,
        ) as second,
    ):
        statuses = [first.get("/v1/orders").status_code, second.get("/v1/orders").status_code]
        limited = first.get("/v1/orders")
    assert statuses == [200, 200]
    assert limited.status_code == 429
    assert "retry-after" in limited.headers
    client = redis.Redis.from_url(redis_url)
    client.delete(*client.keys("genie:rl:token:*"))
    client.close()


def test_an_unreachable_redis_is_named_once_at_startup(shared_database, token, caplog):
    """Failing open per request is right, but the operator hears of it when the app starts."""

    def startup_warnings() -> list[str]:
        return [r.getMessage() for r in caplog.records if "Redis is unreachable" in r.getMessage()]

    with (
        caplog.at_level(logging.WARNING, logger="genie.ratelimit"),
        running_client(shared_database, token, redis_url="redis://127.0.0.1:1/0") as client,
    ):
        assert len(startup_warnings()) == 1  # before any request
        for _ in range(3):
            assert client.get("/v1/orders").status_code == 200  # let through, unlimited
    assert len(startup_warnings()) == 1
    assert "requests are let through unlimited" in startup_warnings()[0]


def test_unknown_chaos_profile_lists_the_valid_ones():
    with pytest.raises(Exception, match="Valid values are: gentle, flaky, hostile"):
        chaos_profile("wild")


def _fates(profile, count):
    chaos = Chaos(profile, retry_after_seconds=2)

    async def run():
        fates = []
        for _ in range(count):
            try:
                await chaos.strike()
                fates.append(200)
            except ProblemError as error:
                fates.append(error.status_code if error.headers == {"Retry-After": "2"} else 0)
        return fates

    return asyncio.run(run())


def test_chaos_is_seeded_and_hits_the_configured_shares():
    profile = ChaosProfile(seed=7, share_429=0.2, share_503=0.1)
    fates = _fates(profile, 2000)
    assert fates == _fates(profile, 2000)
    assert fates != _fates(profile.model_copy(update={"seed": 8}), 2000)
    assert 0.17 < fates.count(429) / 2000 < 0.23
    assert 0.08 < fates.count(503) / 2000 < 0.12


def test_chaos_is_off_by_default_and_on_when_configured(shared_database, token):
    with running_client(shared_database, token) as calm:
        assert {calm.get("/v1/orders").status_code for _ in range(30)} == {200}
    hostile = ChaosProfile(seed=1, share_429=0.5, share_503=0.3)
    with running_client(shared_database, token, chaos=hostile) as client:
        responses = [client.get("/v1/orders") for _ in range(30)]
    statuses = {response.status_code for response in responses}
    assert statuses == {200, 429, 503}
    assert all("retry-after" in r.headers for r in responses if r.status_code != 200)
