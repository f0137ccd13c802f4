"""Timestamps on the wire: RFC 3339, UTC, fixed width with microseconds.

Fixed width makes string order equal time order, which is what a client comparing
``updated_at`` values as text (or dlt's incremental state) relies on.
"""

from __future__ import annotations

import datetime as dt

from fauxsim.clock import to_datetime, to_micros, to_rfc3339

# Postgres renders the same text as ``fauxsim.clock.to_rfc3339``, inside the query, so
# that rows go from the database to the response without a datetime object per value.
SQL_RFC3339 = """to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


class NaiveTimestampError(ValueError):
    """A timestamp without a timezone: ambiguous, so refused."""


def require_timezone(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise NaiveTimestampError(moment.isoformat())
    return moment.astimezone(dt.UTC)


def micros_of(moment: dt.datetime) -> int:
    return to_micros(require_timezone(moment))


def moment_of(micros: int) -> dt.datetime:
    return to_datetime(micros)


def rfc3339(micros: int) -> str:
    return to_rfc3339(micros)


def micros_from_text(text: str) -> int:
    """Microseconds of a fixed-width ``...Z`` timestamp as rendered by the API."""
    return to_micros(dt.datetime.fromisoformat(text))
