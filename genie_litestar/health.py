"""``GET /health``: no token needed; 200 when the database answers, else 503."""

from __future__ import annotations

import msgspec
from litestar import get
from litestar.datastructures import State  # noqa: TC002 - Litestar reads handler signatures

from genie_litestar.database import pool_of


class Health(msgspec.Struct):
    status: str


@get("/health", operation_id="health", tags=["health"], security=[], summary="Liveness")
async def health(state: State) -> Health:
    async with pool_of(state).connection() as connection:
        await connection.execute("SELECT 1")
    return Health(status="ok")
