"""Calendar events on a fixed date each year (a national holiday) and on a weekday rule."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from fauxsim.clock import to_datetime, to_micros
from fauxsim.scenario.model import RecurringDate
from fauxsim.simulation.calendar import day_in_year, resolve_windows
from tests.simulation.helpers import collect, small_scenario


def _holiday(every_year: dict[str, object], **changes: object):
    traffic = {
        "sessions_per_day": 400,
        "daily_noise": 0.0,
        "calendar": [{"name": "Holiday", "every_year": every_year, "traffic_multiplier": 4}],
    }
    return small_scenario(timezone="UTC", traffic=traffic, **changes)


def test_a_fixed_date_falls_on_that_day_every_year():
    scenario = _holiday({"month": 10, "day": 1}, start="2024-01-01", end="2026-12-31")
    assert [window.first_day for window in resolve_windows(scenario)] == [
        dt.date(2024, 10, 1),
        dt.date(2025, 10, 1),
        dt.date(2026, 10, 1),
    ]


def test_a_fixed_date_takes_an_offset_like_a_weekday_rule():
    rule = RecurringDate.model_validate({"month": 12, "day": 31, "offset_days": 1})
    assert day_in_year(2024, rule) == dt.date(2025, 1, 1)


def test_february_29_comes_in_leap_years_only():
    rule = RecurringDate.model_validate({"month": 2, "day": 29})
    assert [day_in_year(year, rule) for year in (2023, 2024, 2025, 2100)] == [
        None,
        dt.date(2024, 2, 29),
        None,
        None,
    ]


def test_the_nth_weekday_rule_is_unchanged():
    rule = RecurringDate.model_validate({"month": 11, "weekday": "thursday", "nth": 4})
    assert day_in_year(2024, rule) == dt.date(2024, 11, 28)
    last = RecurringDate.model_validate({"month": 5, "weekday": "monday", "nth": -1})
    assert day_in_year(2025, last) == dt.date(2025, 5, 26)


def test_a_weekday_rule_dumps_the_keys_it_always_had():
    """Unset keys stay out of dumps, so the digests of existing scenarios do not change."""
    rule = RecurringDate.model_validate({"month": 11, "weekday": "thursday", "nth": 4})
    assert rule.model_dump(mode="json") == {
        "month": 11,
        "weekday": "thursday",
        "nth": 4,
        "offset_days": 0,
    }
    fixed = RecurringDate.model_validate({"month": 10, "day": 1})
    assert fixed.model_dump(mode="json") == {"month": 10, "day": 1, "offset_days": 0}


def test_the_traffic_multiplier_applies_on_the_fixed_date():
    scenario = _holiday({"month": 10, "day": 1}, start="2025-09-29", end="2025-10-04")
    (window,) = resolve_windows(scenario)
    holiday = to_micros(dt.datetime(2025, 10, 1, 12, tzinfo=dt.UTC))
    assert window.traffic_factor(holiday) == 4
    assert window.traffic_factor(holiday - 24 * 3600 * 1_000_000) == 1
    output = collect(scenario)
    starts = Counter(to_datetime(e[2]).date() for e in output.events if e[1] == "session_started")
    others = [count for day, count in starts.items() if day != dt.date(2025, 10, 1)]
    assert len(others) == 4
    # About 4 x 400 on the day against about 400 (weekday weights aside) on the others.
    assert starts[dt.date(2025, 10, 1)] > 2.5 * max(others)
