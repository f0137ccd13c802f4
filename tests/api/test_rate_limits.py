"""Per-token rate limits (memory and Redis), RateLimit-* headers, 429 + Retry-After, chaos."""

from __future__ import annotations

import asyncio
import logging
import math
import shutil
import subprocess
import time
import uuid

import pytest
import redis
from api_support import free_port, issue, running_client

from genie_litestar.chaos import Chaos
from genie_litestar.problems import ProblemError
from genie_litestar.ratelimit.buckets import MemoryBuckets
from genie_litestar.ratelimit.redis_buckets import RedisBuckets
from genie_litestar.settings import ChaosProfile, chaos_profile
from tests.service_support import unavailable


def test_every_api_response_carries_rate_limit_headers(shared_database, token):
    with running_client(
        shared_database, token, rate_limit_burst=5, rate_limit_per_second=0.01
    ) as client:
        client.app.state.buckets._clock = lambda: 1000.0  # no refill between requests
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
        # The bucket's clock stands still: no refill, however slow the machine.
        client.app.state.buckets._clock = lambda: 1000.0
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
        client.app.state.buckets._clock = lambda: 1000.0  # no refill between requests
        assert client.get("/v1/orders").status_code == 200
        assert client.get("/v1/orders").status_code == 429
        other_headers = {"Authorization": f"Bearer {other}"}
        assert client.get("/v1/orders", headers=other_headers).status_code == 200


def test_memory_bucket_refills_at_the_configured_rate():
    clock = [1000.0]
    buckets = MemoryBuckets(burst=2, rate=4.0, clock=lambda: clock[0])

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

    started = time.monotonic()
    decisions = asyncio.run(scenario())
    elapsed = time.monotonic() - started
    assert [d.allowed for d in decisions] == [True, True, True, False, True]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    # One request at 0.01/s is 100 s, less what Redis's own clock refilled meanwhile.
    assert 100 - math.ceil(elapsed) <= decisions[3].retry_after_seconds <= 100


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


def test_with_redis_unreachable_limits_still_hold_per_process(shared_database, token, caplog):
    """Redis at a closed port: a per-process bucket limits, headers tell the truth, the
    outage is logged once (not per request), and /health says degraded."""

    def outage_lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if "Redis is unreachable" in r.getMessage()]

    with (
        caplog.at_level(logging.WARNING, logger="genie.ratelimit"),
        running_client(
            shared_database,
            token,
            redis_url="redis://127.0.0.1:1/0",
            rate_limit_burst=3,
            rate_limit_per_second=0.01,
        ) as client,
    ):
        client.app.state.buckets._fallback._clock = lambda: 1000.0  # no refill
        assert len(outage_lines()) == 1  # at startup, before any request
        responses = [client.get("/v1/orders") for _ in range(20)]
        health = client.get("/health")
    assert [r.status_code for r in responses[:3]] == [200, 200, 200]
    assert {r.status_code for r in responses[3:]} == {429}
    assert [r.headers["ratelimit-remaining"] for r in responses[:4]] == ["2", "1", "0", "0"]
    assert all("retry-after" in r.headers for r in responses[3:])
    assert len(outage_lines()) == 1  # 20 requests later: still the one line
    assert "kept per worker process" in outage_lines()[0]
    assert health.status_code == 200
    assert health.json()["status"] == "degraded"
    assert "Redis" in health.json()["degraded"][0]


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own, which the test may stop and start again."""
    if shutil.which("redis-server") is None:
        unavailable("needs the redis-server program on PATH (apt-get install redis-server)")
    port = free_port()
    command = [
        "redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--appendonly", "no", "--dir", str(tmp_path),
    ]  # fmt: skip
    servers = []

    def start():
        servers.append(subprocess.Popen(command, stdout=subprocess.DEVNULL))  # noqa: S603
        client = redis.Redis(port=port)
        _wait_for(lambda: _answers(client), "redis-server did not start")
        client.close()

    def stop():
        server = servers.pop()
        server.terminate()
        server.wait(timeout=30)

    start()
    yield f"redis://127.0.0.1:{port}/0", start, stop
    while servers:
        stop()


def _answers(client) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


def _wait_for(condition, message, limit=30.0):
    """Poll ``condition`` until it holds; the limit only ends a hung test."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.02)


def test_limits_hold_while_redis_goes_away_and_are_shared_again_when_it_returns(
    shared_database, token, own_redis, caplog
):
    url, start_redis, stop_redis = own_redis
    with (
        caplog.at_level(logging.WARNING, logger="genie.ratelimit"),
        running_client(
            shared_database, token, redis_url=url, rate_limit_burst=1000, rate_limit_per_second=1
        ) as client,
    ):
        # The fallback buckets' clock stands still: the countdown below shows no refill.
        client.app.state.buckets._fallback._clock = lambda: 1000.0
        first = client.get("/v1/orders")
        assert client.get("/health").json() == {"status": "ok"}
        stop_redis()
        during = [client.get("/v1/orders") for _ in range(5)]
        assert client.get("/health").json()["status"] == "degraded"
        start_redis()

        def shared_again():
            client.get("/v1/orders")
            return client.get("/health").json() == {"status": "ok"}

        _wait_for(shared_again, "Genie did not go back to Redis after it returned")
    assert first.status_code == 200
    assert [r.status_code for r in during] == [200] * 5
    # The fallback bucket is fresh, and counts down: honest numbers, not a constant.
    assert [int(r.headers["ratelimit-remaining"]) for r in during] == [999, 998, 997, 996, 995]
    messages = [r.getMessage() for r in caplog.records]
    assert sum("Redis is unreachable" in m for m in messages) == 1
    assert sum("Redis answers again" in m for m in messages) == 1


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
