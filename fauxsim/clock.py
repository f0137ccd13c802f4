"""Simulated time: integer microseconds since the Unix epoch, UTC.

The whole engine counts time in one representation so that arithmetic is exact and
cheap; conversion to ``datetime`` and text happens only at the edges (sinks, CLI).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, NewType

if TYPE_CHECKING:
    from fauxsim.scenario.model import Scenario

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


def run_end(scenario: Scenario, until: dt.datetime | dt.date | None) -> int:
    """The moment a run stops: ``until`` (clamped to the scenario's end) or the end."""
    end = to_micros(scenario.end_utc)
    if until is None:
        return end
    return max(to_micros(scenario.start_utc), min(end, to_micros(scenario.to_utc(until))))
