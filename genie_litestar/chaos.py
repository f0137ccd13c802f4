"""Seeded chaos: a share of 429s and 503s and some added latency, for practising retries.

The n-th request's fate is a pure function of (seed, n), drawn from a keyed hash rather
than a random generator, so the same seed and request order misbehave the same way.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from typing import TYPE_CHECKING

from litestar.enums import ScopeType

from genie_litestar.auth.middleware import API_PREFIX
from genie_litestar.problems import ProblemError

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Receive, Scope, Send

    from genie_litestar.settings import ChaosProfile

_UNIT = float(1 << 64)


def draw(seed: int, request_number: int, purpose: str) -> float:
    """A uniform number in [0, 1) for one purpose of one request."""
    digest = hashlib.blake2b(f"{seed}:{request_number}:{purpose}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _UNIT


class Chaos:
    def __init__(self, profile: ChaosProfile, retry_after_seconds: int) -> None:
        self.profile = profile
        self._retry_after = str(retry_after_seconds)
        self._counter = itertools.count()

    async def strike(self) -> None:
        """Delay, then maybe fail, the next request."""
        number = next(self._counter)
        profile = self.profile
        if profile.max_latency_ms:
            await asyncio.sleep(
                draw(profile.seed, number, "latency") * profile.max_latency_ms / 1000
            )
        fate = draw(profile.seed, number, "fate")
        if fate < profile.share_429:
            raise ProblemError(
                429,
                "rate-limited",
                "chaos: simulated rate limit; retry after the Retry-After delay",
                headers={"Retry-After": self._retry_after},
            )
        if fate < profile.share_429 + profile.share_503:
            raise ProblemError(
                503,
                "unavailable",
                "chaos: simulated outage; retry after the Retry-After delay",
                headers={"Retry-After": self._retry_after},
            )


def chaos_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        chaos: Chaos | None = scope["litestar_app"].state.chaos
        if (
            chaos is not None
            and scope["type"] == ScopeType.HTTP
            and scope["path"].startswith(API_PREFIX)
        ):
            await chaos.strike()
        await app(scope, receive, send)

    return middleware
