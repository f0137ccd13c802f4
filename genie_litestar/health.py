"""``GET /health`` (and ``HEAD``, for load balancers): 200 if the database answers, else 503.

No token needed. Beside a live generator (``fauxsim serve --live``) the answer says
whether it is writing, and where the dataset stands: ``status`` is ``degraded`` while no
generator holds the database's writer lock (it died and is being restarted, say); the
API itself still serves what was committed, so the code stays 200. So it is while Redis
is unreachable and rate limits are kept per process: ``degraded`` says why.
"""

from __future__ import annotations

import datetime as dt  # noqa: TC003 - msgspec reads the annotations at run time
from typing import TYPE_CHECKING

import msgspec
from litestar import get, head
from litestar.datastructures import State  # noqa: TC002 - Litestar reads handler signatures
from psycopg import AsyncConnection  # noqa: TC002 - used at run time by the query helper

from fauxsim.sinks.postgres.ledger import DATASET_WATERMARK, WRITER_LOCK_PARTS, WRITER_LOCK_TAKEN
from genie_litestar.database import pool_of
from genie_litestar.settings import GenieSettings  # noqa: TC001 - read from state

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    from genie_litestar.ratelimit.buckets import Buckets

HEALTH_TIMEOUT_SECONDS = 1.0


class Generator(msgspec.Struct):
    """The live generator beside this API."""

    writing: bool
    watermark: dt.datetime | None  # everything before it is committed


class Health(msgspec.Struct, omit_defaults=True):
    status: str
    generator: Generator | None = None
    # Why the service is weaker than configured, when it is.
    degraded: list[str] | None = None


@get("/health", operation_id="health", tags=["health"], security=[], summary="Liveness")
async def health(state: State) -> Health:
    async with _connection(state) as connection:
        await connection.execute("SELECT 1")
        settings: GenieSettings = state.settings
        generator = await _generator(connection) if settings.live_generator else None
    buckets: Buckets = state.buckets
    reasons = [reason] if (reason := buckets.degraded()) else []
    if generator is not None and not generator.writing:
        reasons.append("no live generator is writing: it is being restarted, or has stopped")
    return Health(
        status="degraded" if reasons else "ok", generator=generator, degraded=reasons or None
    )


@head("/health", operation_id="healthHead", tags=["health"], security=[], summary="Liveness")
async def health_head(state: State) -> None:
    async with _connection(state) as connection:
        await connection.execute("SELECT 1")


def _connection(state: State) -> AbstractAsyncContextManager[AsyncConnection]:
    # A load balancer asks often and wants a quick answer: a database that gives no
    # connection within this is down for it (503), not the statement timeout later.
    return pool_of(state).connection(timeout=HEALTH_TIMEOUT_SECONDS)


async def _generator(connection: AsyncConnection) -> Generator:
    cursor = await connection.execute(WRITER_LOCK_TAKEN, WRITER_LOCK_PARTS)
    taken = await cursor.fetchone()
    cursor = await connection.execute(f"SELECT {DATASET_WATERMARK}")
    standing = await cursor.fetchone()
    return Generator(writing=bool(taken and taken[0]), watermark=standing[0] if standing else None)
