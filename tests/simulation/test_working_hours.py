"""Orders ship in the warehouse's hours and are delivered in the carrier's: a step due
outside them waits for the next hours of a day that works for it (#18 item 1)."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from fauxsim.clock import HOUR, to_datetime, to_micros
from fauxsim.events import OCCURRED_AT, ORDER_ID, TYPE
from fauxsim.scenario.model import WorkingHours
from fauxsim.simulation.working_hours import WorkingClock
from tests.simulation.helpers import collect, small_scenario

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def _at(text: str) -> int:
    return to_micros(dt.datetime.fromisoformat(text).replace(tzinfo=AMSTERDAM))


def _local(micros: int) -> dt.datetime:
    return to_datetime(micros).astimezone(AMSTERDAM)


def _no_draw() -> float:
    raise AssertionError("no draw expected")


def _draws(*values: float):
    return iter(values).__next__


OFFICE = WorkingHours(opens=8, closes=18, weekdays=[1, 1, 1, 1, 1, 0.5, 0])


def test_a_step_due_within_the_hours_happens_when_due_without_a_draw():
    clock = WorkingClock(OFFICE, AMSTERDAM)
    due = _at("2024-03-05T10:30")  # a Tuesday
    assert clock.next_moment(due, _no_draw) == due


def test_a_step_due_at_night_happens_within_the_next_days_hours():
    clock = WorkingClock(OFFICE, AMSTERDAM)
    moment = clock.next_moment(_at("2024-03-05T22:00"), _draws(0.5))
    assert _local(moment) == dt.datetime(2024, 3, 6, 13, tzinfo=AMSTERDAM)  # 8 + 0.5 x 10


def test_a_saturday_works_by_its_chance_and_a_sunday_never():
    clock = WorkingClock(OFFICE, AMSTERDAM)
    friday_night = _at("2024-03-08T19:00")
    on_saturday = clock.next_moment(friday_night, _draws(0.4, 0.0))  # 0.4 < 0.5: works
    assert _local(on_saturday) == dt.datetime(2024, 3, 9, 8, tzinfo=AMSTERDAM)
    on_monday = clock.next_moment(friday_night, _draws(0.6, 0.0))  # Saturday does not
    assert _local(on_monday) == dt.datetime(2024, 3, 11, 8, tzinfo=AMSTERDAM)


def test_hours_follow_the_wall_clock_across_daylight_saving():
    clock = WorkingClock(OFFICE, AMSTERDAM)
    moment = clock.next_moment(_at("2024-03-30T20:00"), _draws(0.0, 0.0))  # Sunday: DST starts
    assert _local(moment) == dt.datetime(2024, 4, 1, 8, tzinfo=AMSTERDAM)
    assert _local(moment).utcoffset() == dt.timedelta(hours=2)


def test_round_the_clock_hours_change_nothing():
    clock = WorkingClock(WorkingHours(opens=0, closes=24, weekdays=[1] * 7), AMSTERDAM)
    assert clock.always
    due = _at("2024-03-10T03:00")
    assert clock.next_moment(due, _no_draw) == due


@pytest.fixture(scope="module")
def shop():
    """Six weeks across the start of summer time, shipping and delivering quickly."""
    return collect(
        small_scenario(
            timezone="Europe/Amsterdam",
            start="2024-03-18",
            end="2024-04-29",
            traffic={"sessions_per_day": 1500},
            orders={
                "lifecycle": {
                    "ship_delay_hours": {"type": "lognormal", "median": 10, "sigma": 0.8},
                    "deliver_delay_days": {"type": "lognormal", "median": 1, "sigma": 0.5},
                    "ship_hours": {"opens": 9, "closes": 17, "weekdays": [1, 1, 1, 1, 1, 0.3, 0]},
                    "deliver_hours": {"opens": 8, "closes": 21},
                }
            },
        )
    )


def _moments(output, kind: str) -> list[dt.datetime]:
    return [_local(event[OCCURRED_AT]) for event in output.events if event[TYPE] == kind]


@pytest.mark.slow
def test_orders_ship_only_in_the_warehouses_hours(shop):
    shipped = _moments(shop, "order_shipped")
    assert len(shipped) > 500
    assert all(9 <= moment.hour < 17 for moment in shipped)
    days = Counter(moment.weekday() for moment in shipped)
    assert days[6] == 0
    assert 0 < days[5] < 0.5 * days[4]  # Saturdays: some, fewer than Fridays


@pytest.mark.slow
def test_orders_are_delivered_only_in_the_carriers_hours(shop):
    delivered = _moments(shop, "order_delivered")
    assert len(delivered) > 500
    assert all(8 <= moment.hour < 21 for moment in delivered)
    days = Counter(moment.weekday() for moment in delivered)
    assert days[6] <= 0.05 * days[2]  # almost none on Sundays (the default chance 0.02)
    hours = Counter(moment.hour for moment in delivered)
    assert len(hours) == 13  # spread over the carrier's hours, not bunched at opening


@pytest.mark.slow
def test_a_cancellation_beats_only_a_shipment_not_yet_made(shop):
    shipped = {event[ORDER_ID] for event in shop.events if event[TYPE] == "order_shipped"}
    cancelled = {e[ORDER_ID] for e in shop.events if e[TYPE] == "order_cancelled"}
    assert cancelled
    assert not shipped & cancelled


def test_round_the_clock_hours_keep_the_configured_delays():
    """With hours round the clock, every day, shipping takes exactly its delay (constant)."""
    output = collect(
        small_scenario(
            orders={
                "lifecycle": {
                    "ship_delay_hours": {"type": "constant", "value": 5},
                    "ship_hours": {"opens": 0, "closes": 24, "weekdays": [1] * 7},
                }
            }
        )
    )
    events = output.events
    paid = {e[ORDER_ID]: e[OCCURRED_AT] for e in events if e[TYPE] == "order_paid"}
    waits = [e[OCCURRED_AT] - paid[e[ORDER_ID]] for e in events if e[TYPE] == "order_shipped"]
    assert waits
    assert statistics.median(waits) == 5 * HOUR
    assert set(waits) == {5 * HOUR}
