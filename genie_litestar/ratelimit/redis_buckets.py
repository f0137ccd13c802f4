"""Token buckets in Redis, so that every worker and every server spends the same budget.

One Lua script reads, refills, spends and writes a bucket atomically, with Redis's own
clock, so workers on machines with drifting clocks still agree.

When Redis does not answer, limits still hold: each process falls back to its own
buckets (the same burst and rate, so a client of N workers gets at most N times its
budget instead of an unlimited one), says so in the log once per interval, and reports
itself degraded on ``/health``. Redis is asked again after a short pause, not on every
request, so an outage costs no connection attempt per request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from genie_litestar.ratelimit.buckets import Decision, MemoryBuckets, decide

logger = logging.getLogger("genie.ratelimit")
_STARTUP_PING_SECONDS = 2.0
# Redis is slow to fail on a host that drops packets: a request waits at most this.
_SOCKET_TIMEOUT_SECONDS = 0.5
# While Redis is down, ask it again after this long.
RETRY_AFTER_OUTAGE_SECONDS = 1.0
# An outage is logged when it starts, then at most once per this interval.
OUTAGE_LOG_INTERVAL_SECONDS = 60.0

_TAKE = """
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil then
  tokens = burst
  at = now
end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return {allowed, tostring(tokens)}
"""


class RedisBuckets:
    def __init__(self, url: str, *, burst: int, rate: float, namespace: str = "genie:rl") -> None:
        self._redis: Redis = Redis.from_url(
            url,
            socket_timeout=_SOCKET_TIMEOUT_SECONDS,
            socket_connect_timeout=_SOCKET_TIMEOUT_SECONDS,
        )
        self._script: Any = self._redis.register_script(_TAKE)
        self._burst = burst
        self._rate = rate
        self._namespace = namespace
        self._fallback = MemoryBuckets(burst=burst, rate=rate)
        # Monotonic times: when Redis failed last (None while it answers), and when the
        # outage was last logged.
        self._down_since: float | None = None
        self._retry_at = 0.0
        self._logged_at: float | None = None

    async def warn_if_unreachable(self) -> None:
        """At startup (once per worker): say plainly how limits hold without Redis."""
        try:
            # Bounded: a firewalled host would otherwise hold the start for minutes.
            async with asyncio.timeout(_STARTUP_PING_SECONDS):
                await self._redis.ping()
        except (RedisError, OSError) as error:  # TimeoutError is an OSError
            self._went_down(error or "no answer in time", at_startup=True)

    def degraded(self) -> str | None:
        """Why limits are weaker than configured right now, or None."""
        if self._down_since is None:
            return None
        return "Redis is unreachable: rate limits are kept per worker process until it answers"

    async def take(self, key: str) -> Decision:
        now = time.monotonic()
        if self._down_since is not None and now < self._retry_at:
            return await self._fallback.take(key)
        try:
            allowed, tokens = await self._script(
                keys=[f"{self._namespace}:{key}"], args=[self._burst, self._rate]
            )
        except (RedisError, OSError) as error:
            self._went_down(error, at_startup=False)
            return await self._fallback.take(key)
        if self._down_since is not None:
            logger.warning(
                "Redis answers again after %.0f s: rate limits are shared again",
                now - self._down_since,
            )
            self._down_since = None
            self._logged_at = None
        return decide(
            tokens_left=float(tokens), allowed=bool(allowed), burst=self._burst, rate=self._rate
        )

    def _went_down(self, error: object, *, at_startup: bool) -> None:
        now = time.monotonic()
        if self._down_since is None:
            self._down_since = now
        self._retry_at = now + RETRY_AFTER_OUTAGE_SECONDS
        if self._logged_at is not None and now - self._logged_at < OUTAGE_LOG_INTERVAL_SECONDS:
            return
        self._logged_at = now
        logger.warning(
            "Redis is unreachable%s (%s): rate limits are kept per worker process until it"
            " answers (said again at most every %.0f s). Check --redis-url"
            " (GENIE_REDIS_URL), or start Redis.",
            " at startup" if at_startup else "",
            error,
            OUTAGE_LOG_INTERVAL_SECONDS,
        )

    async def close(self) -> None:
        await self._fallback.close()
        await self._redis.aclose()
