"""Simulated time: integer microseconds since the Unix epoch, UTC.

The whole engine counts time in one representation so that arithmetic is exact and
cheap; conversion to ``datetime`` and text happens only at the edges (sinks, CLI).
"""

from __future__ import annotations

import datetime as dt
from typing import NewType

Micros = NewType("Micros", int)

SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def to_micros(moment: dt.datetime) -> Micros:
    """An aware datetime as microseconds since the epoch."""
    delta = moment - _EPOCH
    return Micros((delta.days * 86_400 + delta.seconds) * SECOND + delta.microseconds)


def to_datetime(micros: int) -> dt.datetime:
    """Microseconds since the epoch as an aware UTC datetime."""
    return _EPOCH + dt.timedelta(microseconds=micros)


def to_rfc3339(micros: int) -> str:
    """Fixed-width UTC text with microseconds, so that string order is time order."""
    return to_datetime(micros).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
