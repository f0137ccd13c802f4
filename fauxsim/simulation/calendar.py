"""Calendar events resolved to concrete windows of simulated time."""

from __future__ import annotations

import calendar as stdlib_calendar
import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fauxsim.clock import HOUR, to_micros

if TYPE_CHECKING:
    from fauxsim.scenario.model import CalendarEvent, RecurringDate, Scenario

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, slots=True)
class Window:
    """One occurrence of a calendar event: full effect in ``[start, end)``, ramps around it."""

    index: int  # position of the event in the scenario's calendar
    event: CalendarEvent
    first_day: dt.date
    start: int  # micros
    end: int
    ramp_up: int
    ramp_down: int

    def traffic_factor(self, moment: int) -> float:
        """The multiplier this window puts on traffic at ``moment`` (1.0 outside)."""
        peak = self.event.traffic_multiplier
        if self.start <= moment < self.end:
            return peak
        if self.start - self.ramp_up <= moment < self.start:
            return 1.0 + (peak - 1.0) * (moment - (self.start - self.ramp_up)) / self.ramp_up
        if self.end <= moment < self.end + self.ramp_down:
            return peak + (1.0 - peak) * (moment - self.end) / self.ramp_down
        return 1.0

    def is_active(self, moment: int) -> bool:
        return self.start <= moment < self.end


def day_in_year(year: int, rule: RecurringDate) -> dt.date | None:
    """The date ``rule`` names in ``year``; None for February 29 in a year without one."""
    if rule.day is not None:
        if not stdlib_calendar.isleap(year) and (rule.month, rule.day) == (2, 29):
            return None
        named = dt.date(year, rule.month, rule.day)
    else:
        named = nth_weekday(year, rule)
    return named + dt.timedelta(days=rule.offset_days)


def nth_weekday(year: int, rule: RecurringDate) -> dt.date:
    """The nth weekday a rule names in ``year`` (e.g. the 4th Thursday of November)."""
    assert rule.weekday is not None  # noqa: S101 - the model gives a rule both or a day
    assert rule.nth is not None  # noqa: S101
    weekday = _WEEKDAYS.index(rule.weekday.value)
    days_in_month = stdlib_calendar.monthrange(year, rule.month)[1]
    matching = [
        day
        for day in range(1, days_in_month + 1)
        if dt.date(year, rule.month, day).weekday() == weekday
    ]
    position = rule.nth - 1 if rule.nth > 0 else rule.nth
    day = matching[min(position, len(matching) - 1)] if rule.nth > 0 else matching[position]
    return dt.date(year, rule.month, day)


def resolve_windows(scenario: Scenario) -> list[Window]:
    """Every occurrence of every calendar event that touches the scenario window."""
    first_year = scenario.start_utc.year - 1
    last_year = scenario.end_utc.year + 1
    window_start, window_end = to_micros(scenario.start_utc), to_micros(scenario.end_utc)
    windows: list[Window] = []
    for index, event in enumerate(scenario.traffic.calendar):
        if event.date is not None:
            first_days = [event.date]
        else:
            assert event.every_year is not None  # noqa: S101 - the model guarantees one of them
            rule, years = event.every_year, range(first_year, last_year + 1)
            first_days = [day for year in years if (day := day_in_year(year, rule)) is not None]
        for first_day in first_days:
            start = to_micros(scenario.to_utc(first_day))
            end = start + round(event.days * 24 * HOUR)
            ramp_up = round(event.ramp_up_hours * HOUR)
            ramp_down = round(event.ramp_down_hours * HOUR)
            if end + ramp_down > window_start and start - ramp_up < window_end:
                windows.append(Window(index, event, first_day, start, end, ramp_up, ramp_down))
    return sorted(windows, key=lambda window: (window.start, window.index))


@dataclass(frozen=True, slots=True)
class ActiveEvents:
    """The calendar events in full effect at some moment."""

    windows: tuple[Window, ...]
    key: tuple[int, ...]  # their positions in the scenario's calendar
    names: list[str] | None  # as written on ``session_started``; None when none is on


class CalendarNow:
    """The events active at a moment, computed again only when a window starts or ends.

    Sessions start in time order, so the answer changes a handful of times a run while
    it is asked for at every session.
    """

    def __init__(self, windows: list[Window]) -> None:
        self._windows = windows
        self._edges = sorted({edge for window in windows for edge in (window.start, window.end)})
        self._current = ActiveEvents((), (), None)
        self._valid_from: float = math.inf  # empty range: the first question computes
        self._valid_until: float = -math.inf

    def at(self, moment: int) -> ActiveEvents:
        if self._valid_from <= moment < self._valid_until:
            return self._current
        active = tuple(window for window in self._windows if window.is_active(moment))
        self._current = ActiveEvents(
            active,
            tuple(window.index for window in active),
            [window.event.name for window in active] or None,
        )
        self._valid_from = max((e for e in self._edges if e <= moment), default=-math.inf)
        self._valid_until = min((e for e in self._edges if e > moment), default=math.inf)
        return self._current
