"""Live mode: a run paced by the wall clock writes what a batch run writes up to its watermark.

A fake wall clock (``sleep`` moves it on) lets a live run of days finish in a moment,
with every step within the hour that a real one takes.
"""

from __future__ import annotations

from typing import Any

import pytest
from helpers import collect, small_scenario

from fauxsim.clock import HOUR, MINUTE, SECOND, to_micros
from fauxsim.live import LiveClock, Pace, choose_pace
from fauxsim.runner import generate
from fauxsim.tables import ALL_TABLES, EVENTS

QUIRKS_ON: dict[str, Any] = {
    "duplicate_events": 0.02,
    "late_arrivals": {"probability": 0.03},
    "null_fields": 0.01,
    "keep_removed_cart_items": True,
}


class FakeWall:
    """A wall clock that moves only when slept on (and by ``work`` per reading)."""

    def __init__(self, start: int, work: int = 0) -> None:
        self.now = start
        self.work = work
        self.sleeps = 0

    def read(self) -> int:
        self.now += self.work
        return self.now

    def sleep(self, duration: int) -> None:
        self.sleeps += 1
        self.now += max(duration, 1)


def live_clock(pace: Pace, wall: FakeWall, commit_every: int = SECOND) -> LiveClock:
    return LiveClock(pace, commit_every=commit_every, now=wall.read, sleep=wall.sleep)


def test_simulated_time_follows_the_pace():
    pace = Pace(anchor_simulated=1_000 * HOUR, anchor_wall=5 * HOUR, speed=60)
    assert pace.simulated(5 * HOUR + SECOND) == 1_000 * HOUR + MINUTE
    assert pace.wall(1_000 * HOUR + MINUTE) == 5 * HOUR + SECOND
    assert pace.simulated(pace.wall(1_000 * HOUR + 7)) >= 1_000 * HOUR + 7


def test_speed_one_on_a_window_holding_today_is_real_time():
    now = 100 * HOUR
    real = choose_pace(start=0, end=200 * HOUR, standing=3 * HOUR, speed=1, wall_now=now)
    assert real.real_time
    assert real.simulated(now + 5) == now + 5
    pinned = choose_pace(start=0, end=200 * HOUR, standing=3 * HOUR, speed=2, wall_now=now)
    assert not pinned.real_time
    assert pinned.simulated(now) == 3 * HOUR
    past = choose_pace(start=0, end=50 * HOUR, standing=3 * HOUR, speed=1, wall_now=now)
    assert past.simulated(now) == 3 * HOUR
    with pytest.raises(ValueError, match="positive"):
        choose_pace(start=0, end=1, standing=0, speed=0, wall_now=now)


def test_a_caught_up_run_steps_every_commit_interval_to_where_the_clock_stands():
    scenario = small_scenario(end="2024-03-02")
    start = to_micros(scenario.start_utc)
    wall = FakeWall(start)
    clock = live_clock(Pace(start, start, 1.0), wall, commit_every=20 * SECOND)
    batches = generate(scenario, until=scenario.start_utc.replace(hour=1), live=clock)
    watermarks = [batch.watermark for batch in batches]
    # One batch per step, every 20 s to the hour's end.
    assert watermarks == list(range(start + 20 * SECOND, start + HOUR + 1, 20 * SECOND))
    # Each batch was handed over as soon as the clock reached its watermark.
    assert wall.now - watermarks[-1] < 20 * SECOND


def test_a_run_behind_the_clock_catches_up_in_full_batches():
    scenario = small_scenario(end="2024-03-03")
    start = to_micros(scenario.start_utc)
    wall = FakeWall(start + 30 * HOUR)  # the clock is 30 hours ahead of the dataset
    clock = live_clock(Pace(start + 30 * HOUR, start + 30 * HOUR, 1.0), wall)
    batches = generate(scenario, live=clock, batch_rows=10**9)
    assert next(batches).watermark == start + 30 * HOUR  # the 30 hours in one batch
    assert wall.sleeps == 0  # nothing waited while catching up
    assert next(batches).watermark == start + 30 * HOUR + SECOND  # then a step per second
    assert wall.sleeps > 0


@pytest.mark.parametrize("quirks", [{}, QUIRKS_ON], ids=["plain", "quirks"])
def test_a_live_run_writes_what_a_batch_run_writes_up_to_its_watermark(quirks):
    """Stepping within the hour (at any speed and commit interval) changes no row."""
    scenario = small_scenario(quirks=quirks, end="2024-03-03")
    start = to_micros(scenario.start_utc)
    for speed, commit_every in ((60.0, 7 * SECOND), (200.0, SECOND)):
        wall = FakeWall(10**15, work=997)  # odd work per reading: steps fall anywhere
        clock = live_clock(Pace(start, 10**15, speed), wall, commit_every=commit_every)
        stop = start + 31 * HOUR + 17 * MINUTE
        live = collect(scenario, live=clock, until=_utc(stop))
        assert wall.sleeps > 32 * 3, "a live run steps several times within each hour"
        batch = collect(scenario, until=_utc(stop))
        assert live.events == batch.events
        for spec in ALL_TABLES:
            if spec.name != EVENTS.name:
                assert live.final(spec.name) == batch.final(spec.name), spec.name


def _utc(micros: int) -> Any:
    from fauxsim.clock import to_datetime  # noqa: PLC0415

    return to_datetime(micros)


def test_a_live_run_resumed_mid_hour_adds_exactly_what_was_missing():
    """Stopped at a watermark within an hour, the same command resumes there: together the
    two runs hold what one batch run holds, no event twice or missing."""
    scenario = small_scenario(quirks=QUIRKS_ON, end="2024-03-03")
    start = to_micros(scenario.start_utc)
    stopped, stop = start + 20 * HOUR + 7 * MINUTE + 3, start + 40 * HOUR
    first = collect(
        scenario, live=live_clock(Pace(start, 0, 120.0), FakeWall(0)), until=_utc(stopped)
    )
    resumed_clock = live_clock(Pace(stopped, 0, 120.0), FakeWall(0))
    second = collect(scenario, live=resumed_clock, resume_after=stopped, until=_utc(stop))
    whole = collect(scenario, until=_utc(stop))
    assert first.events + second.events == whole.events
    for spec in ALL_TABLES:
        if spec.name != EVENTS.name:
            both = {**first.final(spec.name), **second.final(spec.name)}
            assert both == whole.final(spec.name), spec.name
