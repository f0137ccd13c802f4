"""The key that signs cursors, kept in the database (``genie_secrets``).

Made once per database by the first Genie that starts, then read by every worker and
every later start: cursors stay valid across workers and restarts with nothing to
configure. ``GENIE_CURSOR_SECRET`` overrides it (e.g. for a read-only database role).
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from psycopg.errors import InsufficientPrivilege, ReadOnlySqlTransaction, UndefinedTable

from genie_litestar.errors import GenieError

if TYPE_CHECKING:
    from psycopg import AsyncConnection

_NAME = "cursor"
_SECRET_BYTES = 32
_SELECT = "SELECT secret FROM genie_secrets WHERE name = %s"
# Several workers may start at once: the first insert wins, the others read it.
_INSERT = "INSERT INTO genie_secrets (name, secret) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING"


async def stored_cursor_secret(connection: AsyncConnection[Any]) -> bytes:
    """This database's cursor key, made and stored on first use."""
    try:
        secret = await _read(connection)
        if secret is None:
            await connection.execute(_INSERT, (_NAME, secrets.token_bytes(_SECRET_BYTES)))
            secret = await _read(connection)
    except UndefinedTable:
        raise GenieError(
            "the database has no genie_secrets table. Upgrade its schema first"
            " (fauxsim db migrate), then start Genie again"
        ) from None
    except (InsufficientPrivilege, ReadOnlySqlTransaction):
        raise GenieError(
            "Genie cannot store its cursor key in this database (read-only role?). Set"
            " GENIE_CURSOR_SECRET to a random text of at least 16 characters, the same for"
            " every worker and every start"
        ) from None
    if secret is None:  # pragma: no cover - the insert or another worker's made it
        msg = "the cursor key was neither found nor stored"
        raise RuntimeError(msg)
    return secret


async def _read(connection: AsyncConnection[Any]) -> bytes | None:
    cursor = await connection.execute(_SELECT, (_NAME,))
    row = await cursor.fetchone()
    return None if row is None else bytes(row[0])
