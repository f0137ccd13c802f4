"""``GET /health`` (and ``HEAD``, for load balancers): 200 if the database answers, else 503.

No token needed. While Genie serves with weaker guarantees than configured (Redis gone,
so rate limits are kept per process), the answer is still 200 (it does serve), with
``status: degraded`` and the reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import msgspec
from litestar import get, head
from litestar.datastructures import State  # noqa: TC002 - Litestar reads handler signatures

from genie_litestar.database import pool_of

if TYPE_CHECKING:
    from genie_litestar.ratelimit.buckets import Buckets

HEALTH_TIMEOUT_SECONDS = 1.0


class Health(msgspec.Struct, omit_defaults=True):
    status: Literal["ok", "degraded"]
    degraded: list[str] | None = None


@get("/health", operation_id="health", tags=["health"], security=[], summary="Liveness")
async def health(state: State) -> Health:
    await _ping(state)
    buckets: Buckets = state.buckets
    reason = buckets.degraded()
    if reason is not None:
        return Health(status="degraded", degraded=[reason])
    return Health(status="ok")


@head("/health", operation_id="healthHead", tags=["health"], security=[], summary="Liveness")
async def health_head(state: State) -> None:
    await _ping(state)


async def _ping(state: State) -> None:
    # A load balancer asks often and wants a quick answer: a database that gives no
    # connection within this is down for it (503), not the statement timeout later.
    async with pool_of(state).connection(timeout=HEALTH_TIMEOUT_SECONDS) as connection:
        await connection.execute("SELECT 1")
