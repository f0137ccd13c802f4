"""Tokens in the ``api_tokens`` table: create, list and revoke (the CLI), check (the API).

The table is part of the dataset's database, so ``fauxsim token create`` and every
Genie worker see the same tokens without any other service.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from psycopg.errors import UndefinedTable
from psycopg.types.json import Jsonb

from genie_litestar.auth.tokens import hash_token, is_well_formed, issue_token
from genie_litestar.errors import GenieError

if TYPE_CHECKING:
    from psycopg import AsyncConnection, Connection

_DURATION = re.compile(r"(\d+)([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
NEVER = "never"
# The longest lifetime --expires takes (`never` is for no expiry): far longer ones overflowed
# timedelta or Postgres' timestamps. Digits are counted first: 99999999w fits a timedelta.
LONGEST_EXPIRY = dt.timedelta(days=3650)
_MAX_DIGITS = 8


@dataclass(frozen=True, slots=True)
class TokenRecord:
    token_id: str
    name: str
    scopes: list[str]
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a valid token's id and scopes."""

    token_id: str
    scopes: tuple[str, ...]


def parse_expiry(text: str) -> dt.timedelta | None:
    """``90d``, ``12h``, ``30m``, ``2w`` (at most :data:`LONGEST_EXPIRY`) or ``never``."""
    if text == NEVER:
        return None
    match = _DURATION.fullmatch(text.strip())
    amount = match[1].lstrip("0") if match else ""
    if match and 0 < len(amount) <= _MAX_DIGITS:
        lifetime = dt.timedelta(**{_UNITS[match[2]]: int(amount)})
        if lifetime <= LONGEST_EXPIRY:
            return lifetime
    msg = (
        f"--expires got {text!r}. Valid values are a positive number followed by"
        f" m, h, d or w (e.g. 90d, 12h), up to {LONGEST_EXPIRY.days}d (10 years), or {NEVER!r}"
    )
    raise GenieError(msg)


# Every query returns the columns of TokenRecord, in its order.
_INSERT = """
INSERT INTO api_tokens (token_id, name, secret_hash, scopes, created_at, expires_at)
VALUES (%s, %s, %s, %s, now(), now() + %s)
RETURNING token_id, name, scopes, created_at, expires_at, revoked_at, last_used_at
"""
_LIST = """
SELECT token_id, name, scopes, created_at, expires_at, revoked_at, last_used_at
FROM api_tokens ORDER BY created_at, token_id
"""
_REVOKE = """
UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE token_id = %s
RETURNING token_id, name, scopes, created_at, expires_at, revoked_at, last_used_at
"""


def _missing_table() -> GenieError:
    return GenieError(
        "the database has no api_tokens table. Create the schema first"
        " (fauxsim run or fauxsim db upgrade), then try again"
    )


def create_token(
    connection: Connection[Any], *, name: str, scopes: list[str], expires_in: dt.timedelta | None
) -> tuple[str, TokenRecord]:
    """A new token: its text (to show once) and what was stored about it."""
    if not name.strip():
        raise GenieError("--name is empty. Give the token a name you will recognise")
    issued = issue_token()
    try:
        row = connection.execute(
            _INSERT,
            (issued.token_id, name, issued.secret_hash, Jsonb(scopes), expires_in),
        ).fetchone()
    except UndefinedTable:
        raise _missing_table() from None
    connection.commit()
    assert row is not None  # noqa: S101 - INSERT ... RETURNING returns the row
    return issued.token, TokenRecord(*row)


def list_tokens(connection: Connection[Any]) -> list[TokenRecord]:
    try:
        rows = connection.execute(_LIST).fetchall()
    except UndefinedTable:
        raise _missing_table() from None
    return [TokenRecord(*row) for row in rows]


def revoke_token(connection: Connection[Any], token_id: str) -> TokenRecord:
    """Revoke now; revoking twice keeps the first revocation time."""
    try:
        row = connection.execute(_REVOKE, (token_id,)).fetchone()
    except UndefinedTable:
        raise _missing_table() from None
    connection.commit()
    if row is None:
        known = ", ".join(record.token_id for record in list_tokens(connection)) or "none"
        msg = f"no token with id {token_id!r}. Known ids: {known} (see fauxsim token list)"
        raise GenieError(msg)
    return TokenRecord(*row)


# One round trip: check the token and, at most once a minute, record that it was used
# (a write per request would turn every read into a write).
_AUTHENTICATE = """
WITH found AS (
    SELECT token_id, scopes FROM api_tokens
    WHERE secret_hash = %(hash)s
      AND revoked_at IS NULL
      AND (expires_at IS NULL OR expires_at > now())
), touched AS (
    UPDATE api_tokens SET last_used_at = now()
    WHERE secret_hash = %(hash)s
      AND token_id IN (SELECT token_id FROM found)
      AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
)
SELECT token_id, ARRAY(SELECT jsonb_array_elements_text(scopes)) FROM found
"""


async def authenticate(connection: AsyncConnection[Any], token: str) -> Principal | None:
    """The principal behind ``token``, or None for any token that must not pass."""
    if not is_well_formed(token):
        return None
    cursor = await connection.execute(_AUTHENTICATE, {"hash": hash_token(token)})
    row = await cursor.fetchone()
    if row is None:
        return None
    token_id, scopes = row
    return Principal(token_id=token_id, scopes=tuple(scopes))
