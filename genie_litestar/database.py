"""The connection pool every request borrows from, and its per-connection settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
from psycopg import AsyncConnection  # noqa: TC002 - Litestar reads provider signatures at run time
from psycopg.adapt import Buffer, Loader
from psycopg_pool import AsyncConnectionPool

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from litestar.datastructures import State

    from genie_litestar.settings import GenieSettings


class _JsonPassthrough(Loader):
    """jsonb as its text, wrapped for msgspec to copy into the response unparsed.

    A JSON column goes from Postgres to the client without being decoded into dicts and
    encoded again, which on a page of events is a quarter of the work.
    """

    def load(self, data: Buffer) -> msgspec.Raw:
        return msgspec.Raw(bytes(data))


async def _configure(connection: AsyncConnection) -> None:
    connection.adapters.register_loader("jsonb", _JsonPassthrough)


def create_pool(settings: GenieSettings) -> AsyncConnectionPool[AsyncConnection]:
    """A closed pool; the app opens it on startup and closes it on shutdown."""
    # statement_timeout turns a runaway query into a 503 the client can retry instead
    # of a worker stuck for minutes; TimeZone makes now() and casts unambiguous.
    options = f"-c statement_timeout={settings.statement_timeout_ms} -c TimeZone=UTC"
    return AsyncConnectionPool(
        conninfo=settings.database_url,
        kwargs={"autocommit": True, "options": options, "application_name": "genie"},
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        timeout=settings.statement_timeout_ms / 1000,
        configure=_configure,
        open=False,
        name="genie",
    )


def pool_of(state: State) -> AsyncConnectionPool[AsyncConnection]:
    pool: AsyncConnectionPool[AsyncConnection] = state.pool
    return pool


async def provide_connection(state: State) -> AsyncIterator[AsyncConnection]:
    """Litestar dependency: a pooled connection for the length of one request."""
    async with pool_of(state).connection() as connection:
        yield connection
