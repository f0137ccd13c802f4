"""Cheap refusals before a token costs a database lookup.

A token's checksum is public (CRC32), so random well-formed tokens are easy to make and
each would cost a query. Two guards stand before the lookup:

- failed authentications are counted per client address in a token bucket; an address
  that spent it gets 429 without a lookup until it refills;
- tokens found unknown (or revoked, or expired: none of them ever becomes valid again)
  are remembered for a while, so sending one again costs no query either.

Both are per process: with several workers an address gets the budget once per worker.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict

from genie_litestar.ratelimit.buckets import Decision, MemoryBuckets

# An address may fail this many times at once, then once per FAILURE_REFILL_SECONDS.
FAILURE_BURST = 20
FAILURE_REFILL_SECONDS = 2.0
REMEMBER_UNKNOWN_SECONDS = 300.0
_REMEMBER_AT_MOST = 10_000


class FailedAuthentications:
    def __init__(
        self,
        *,
        burst: int = FAILURE_BURST,
        refill_seconds: float = FAILURE_REFILL_SECONDS,
        remember_seconds: float = REMEMBER_UNKNOWN_SECONDS,
    ) -> None:
        self._failures = MemoryBuckets(burst=burst, rate=1 / refill_seconds)
        self._remember_seconds = remember_seconds
        # digest of a refused token -> monotonic time until which it is remembered
        self._unknown: OrderedDict[bytes, float] = OrderedDict()

    def spent(self, address: str) -> Decision | None:
        """The refusal for an address that failed too often; None if it may try."""
        decision = self._failures.peek(address)
        return None if decision.allowed else decision

    async def failed(self, address: str, token: str) -> None:
        await self._failures.take(address)
        self._unknown[_digest(token)] = time.monotonic() + self._remember_seconds
        self._unknown.move_to_end(_digest(token))
        while len(self._unknown) > _REMEMBER_AT_MOST:
            self._unknown.popitem(last=False)

    def known_bad(self, token: str) -> bool:
        until = self._unknown.get(_digest(token))
        if until is None:
            return False
        if time.monotonic() >= until:
            del self._unknown[_digest(token)]
            return False
        return True


def _digest(token: str) -> bytes:
    # Never keep the token text itself, even in memory.
    return hashlib.sha256(token.encode()).digest()
