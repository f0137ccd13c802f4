"""Token buckets in Redis, so that every worker and every server spends the same budget.

One Lua script reads, refills, spends and writes a bucket atomically, with Redis's own
clock, so workers on machines with drifting clocks still agree.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from genie_litestar.ratelimit.buckets import Decision, decide

logger = logging.getLogger("genie.ratelimit")
_STARTUP_PING_SECONDS = 2.0

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
        self._redis: Redis = Redis.from_url(url)
        self._script: Any = self._redis.register_script(_TAKE)
        self._burst = burst
        self._rate = rate
        self._namespace = namespace

    async def warn_if_unreachable(self) -> None:
        """At startup (once per worker): say plainly that limits do not hold without Redis."""
        try:
            # Bounded: a firewalled host would otherwise hold the start for minutes.
            async with asyncio.timeout(_STARTUP_PING_SECONDS):
                await self._redis.ping()
        except (RedisError, OSError) as error:  # TimeoutError is an OSError
            logger.warning(
                "Redis is unreachable (%s): requests are let through unlimited until it "
                "answers. Check --redis-url (GENIE_REDIS_URL), or start Redis.",
                error or "no answer in time",
            )

    async def take(self, key: str) -> Decision:
        try:
            allowed, tokens = await self._script(
                keys=[f"{self._namespace}:{key}"], args=[self._burst, self._rate]
            )
        except RedisError as error:
            # Failing open keeps the data flowing while Redis is down; the log says so.
            logger.warning("rate limiter unavailable, request let through: %s", error)
            return decide(tokens_left=self._burst, allowed=True, burst=self._burst, rate=self._rate)
        return decide(
            tokens_left=float(tokens), allowed=bool(allowed), burst=self._burst, rate=self._rate
        )

    async def close(self) -> None:
        await self._redis.aclose()
