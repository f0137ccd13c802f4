"""When a step of an order's life happens: the first working moment once it is due.

A step (shipping, delivery) is due when its configured delay has passed. It happens then
if that moment lies within the local hours of a day that works for it; otherwise at a
moment drawn evenly within the hours of the next day that does. A day works for a step
with its weekday's chance (``WorkingHours.weekdays``), drawn per step: a warehouse that
ships on a fifth of Saturdays, a carrier that delivers on a few Sundays.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from fauxsim.clock import to_datetime, to_micros

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from fauxsim.randomness import Uniform
    from fauxsim.scenario.model import WorkingHours

# Days looked at before a step takes the next hours whatever its weekday: only reached
# when every weekday's chance is small.
MAX_DAYS = 28


class WorkingClock:
    """A ``WorkingHours`` in the shop's time zone, compiled once per run."""

    def __init__(self, hours: WorkingHours, zone: ZoneInfo) -> None:
        self.always = hours.always
        self._zone = zone
        self._opens = dt.timedelta(hours=hours.opens)
        self._closes = dt.timedelta(hours=hours.closes)
        self._weekdays = tuple(hours.weekdays)

    def next_moment(self, due: int, draw: Uniform) -> int:
        """When a step due at ``due`` (micros) happens: then, or within later hours."""
        if self.always:
            return due
        day = to_datetime(due).astimezone(self._zone).date()
        for _ in range(MAX_DAYS):
            opens, closes = self._window(day)
            if due < closes:  # the day's hours are not over yet when the step is due
                chance = self._weekdays[day.weekday()]
                if chance >= 1.0 or (chance > 0.0 and draw() < chance):
                    if due >= opens:
                        return due
                    return opens + int(draw() * (closes - opens))
            day += dt.timedelta(days=1)
        opens, closes = self._window(day)
        return opens + int(draw() * (closes - opens))

    def _window(self, day: dt.date) -> tuple[int, int]:
        """The day's working hours as micros, by the wall clock (DST included)."""
        midnight = dt.datetime(day.year, day.month, day.day)  # noqa: DTZ001 - local, zoned below
        opens = (midnight + self._opens).replace(tzinfo=self._zone)
        closes = (midnight + self._closes).replace(tzinfo=self._zone)
        return to_micros(opens), to_micros(closes)
