"""Token buckets: ``burst`` requests at once, refilled at ``rate`` per second.

Litestar's own RateLimitConfig counts per process and sends no Retry-After; these
buckets give every answer the numbers the ``RateLimit-*`` headers and 429 need.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # until the bucket is full again
    retry_after_seconds: int  # until the next request would pass (0 when allowed)

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }


class Buckets(Protocol):
    async def take(self, key: str) -> Decision:
        """Spend one request from ``key``'s bucket if it has one."""

    def degraded(self) -> str | None:
        """Why limits are weaker than configured right now (for /health), or None."""

    async def close(self) -> None:
        """Release connections."""


def decide(*, tokens_left: float, allowed: bool, burst: int, rate: float) -> Decision:
    """The decision for a bucket holding ``tokens_left`` after this request's take."""
    return Decision(
        allowed=allowed,
        limit=burst,
        remaining=math.floor(tokens_left),
        reset_seconds=math.ceil((burst - tokens_left) / rate),
        retry_after_seconds=0 if allowed else max(1, math.ceil((1 - tokens_left) / rate)),
    )


class MemoryBuckets:
    """Buckets in this process only: right for one worker, lenient with several."""

    _PRUNE_ABOVE = 10_000

    def __init__(
        self, *, burst: int, rate: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._burst = burst
        self._rate = rate
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    async def take(self, key: str) -> Decision:
        now = self._clock()
        tokens, at = self._buckets.get(key, (float(self._burst), now))
        tokens = min(self._burst, tokens + (now - at) * self._rate)
        allowed = tokens >= 1
        if allowed:
            tokens -= 1
        if len(self._buckets) > self._PRUNE_ABOVE:
            self._prune(now)
        self._buckets[key] = (tokens, now)
        return decide(tokens_left=tokens, allowed=allowed, burst=self._burst, rate=self._rate)

    def peek(self, key: str) -> Decision:
        """What ``take`` would decide, without spending anything."""
        now = self._clock()
        tokens, at = self._buckets.get(key, (float(self._burst), now))
        tokens = min(self._burst, tokens + (now - at) * self._rate)
        return decide(tokens_left=tokens, allowed=tokens >= 1, burst=self._burst, rate=self._rate)

    def _prune(self, now: float) -> None:
        # A bucket untouched long enough to be full again is the same as no bucket.
        full_after = self._burst / self._rate
        self._buckets = {
            key: state for key, state in self._buckets.items() if now - state[1] < full_after
        }

    def degraded(self) -> str | None:
        return None

    async def close(self) -> None:
        self._buckets.clear()
