"""Session starts follow a rate that is continuous within the day: no jump at the top of
an hour, while each hour still gets its configured expected starts."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pytest

from fauxsim.clock import HOUR, to_datetime, to_micros
from fauxsim.randomness import Purpose, numpy_stream, uniform_block
from fauxsim.simulation import engine, traffic
from fauxsim.simulation.calendar import resolve_windows
from fauxsim.simulation.engine import _DRAWS_PER_SESSION, Simulation
from fauxsim.simulation.shards import all_shards
from fauxsim.simulation.traffic import TrafficModel, continuous_shape, linear_offsets
from tests.simulation.helpers import collect, small_scenario

# A step at 06:00 local: four times the traffic from then on (steady_state's is x2.25).
STEP_WEIGHTS = [1.0] * 6 + [4.0] * 18


@pytest.mark.parametrize(
    ("before", "rate", "after"),
    [(1.0, 2.65, 3.0), (10.0, 1.0, 10.0), (0.0, 5.0, 0.0), (3.0, 3.0, 3.0), (5.0, 0.0, 5.0)],
)
def test_an_hours_shape_integrates_to_its_rate_and_never_goes_below_zero(before, rate, after):
    start, middle, end = continuous_shape(before, rate, after)
    assert (start + 2 * middle + end) / 4 == pytest.approx(rate)
    assert min(start, middle, end) >= 0.0


def test_a_linear_trend_is_kept_exactly():
    assert continuous_shape(1.0, 2.0, 3.0) == (1.5, 2.0, 2.5)


def test_offsets_follow_the_piecewise_linear_density():
    """Six bins of an hour hold the share of the density's integral over each."""
    shape = (1.0, 4.0, 2.0)
    offsets = linear_offsets(numpy_stream(5, Purpose.ARRIVALS).random(200_000), *shape)
    assert offsets.min() >= 0.0
    assert offsets.max() < 1.0
    counts, edges = np.histogram(offsets, bins=6, range=(0.0, 1.0))
    grid = np.linspace(0.0, 1.0, 6001)
    density = np.interp(grid, [0.0, 0.5, 1.0], shape)
    for count, low, high in zip(counts, edges[:-1], edges[1:], strict=True):
        inside = (grid >= low) & (grid <= high)
        expected = float(np.trapezoid(density[inside], grid[inside])) / 2.75  # of the whole
        assert abs(count / 200_000 - expected) < 5 * math.sqrt(expected / 200_000)


def test_the_rate_is_the_same_either_side_of_every_top_of_the_hour():
    scenario = small_scenario(traffic={"sessions_per_day": 2400, "hourly_weights": STEP_WEIGHTS})
    traffic = TrafficModel(scenario, resolve_windows(scenario))
    start = to_micros(scenario.start_utc)
    shapes = [traffic.rate_shape(start + hour * HOUR) for hour in range(72)]
    for this, following in itertools.pairwise(shapes):
        assert this[2] == pytest.approx(following[0])


@pytest.mark.slow
def test_starts_do_not_jump_at_the_top_of_the_hour_on_a_run():
    """The ten minutes after 06:00 get about as many starts as the ten before, where the
    configured hour-of-day weight steps up fourfold (before: x4)."""
    scenario = small_scenario(
        start="2024-03-01",
        end="2024-03-11",
        traffic={"sessions_per_day": 6000, "daily_noise": 0.0, "hourly_weights": STEP_WEIGHTS},
    )
    starts = [to_datetime(e[2]) for e in collect(scenario).events if e[1] == "session_started"]
    by_hour = Counter(start.hour for start in starts)
    assert by_hour[6] / by_hour[5] == pytest.approx(4.0, rel=0.2)  # the hours keep their weights
    just_before = sum(1 for s in starts if s.hour == 5 and s.minute >= 50)
    just_after = sum(1 for s in starts if s.hour == 6 and s.minute < 10)
    # What the continuous rate gives the two ten-minute windows: about 1.4 (the hour before
    # a step up dips in its middle and rises to meet the next, which keeps its total).
    rate = 1.0  # the shapes scale with the rate
    before_shape = continuous_shape(rate, rate, 4 * rate)
    after_shape = continuous_shape(rate, 4 * rate, 4 * rate)
    expected = _mass(after_shape, 0.0, 1 / 6) / _mass(before_shape, 5 / 6, 1.0)
    assert just_after / just_before == pytest.approx(expected, rel=5 * math.sqrt(2 / just_before))
    assert just_after / just_before < 2.0  # a jump would make it about 4


def _mass(shape: tuple[float, float, float], low: float, high: float) -> float:
    grid = np.linspace(low, high, 1001)
    return float(np.trapezoid(np.interp(grid, [0.0, 0.5, 1.0], shape), grid))


def test_shards_share_the_shape_and_split_the_count():
    """A shard's hour has the whole shop's shape (the configured rates, not the K-th) and
    draws about a K-th of the starts: the four shards together keep the curve within the hour."""
    scenario = small_scenario(traffic={"sessions_per_day": 24000, "hourly_weights": STEP_WEIGHTS})
    windows = resolve_windows(scenario)
    hour = to_micros(scenario.start_utc) + 6 * HOUR
    whole = TrafficModel(scenario, windows)
    shards = [TrafficModel(scenario, windows, shard) for shard in all_shards(4)]
    assert {model.rate_shape(hour) for model in shards} == {whole.rate_shape(hour)}
    moments = [moment for model in shards for moment in model.arrivals(hour)]
    assert all(hour <= moment < hour + HOUR for moment in moments)
    first_half = sum(1 for moment in moments if moment < hour + HOUR // 2)
    start, middle, end = whole.rate_shape(hour)
    share = (start + middle) / (start + 2 * middle + end)
    assert first_half / len(moments) == pytest.approx(share, abs=5 * math.sqrt(0.25 / len(moments)))


def test_a_whole_shop_draws_an_hour_at_a_time_and_a_shard_of_several_a_day():
    """A shard's hours are small, so it draws its starts a UTC day at a time (one stream a
    day, not one an hour); each hour's starts are its slice of the day's, in order."""
    scenario = small_scenario(traffic={"sessions_per_day": 2400})
    windows = resolve_windows(scenario)
    assert TrafficModel(scenario, windows).hours_per_block == 1
    shard = TrafficModel(scenario, windows, all_shards(4)[1])
    assert shard.hours_per_block == 24
    day_start = to_micros(scenario.start_utc) // (24 * HOUR) * (24 * HOUR) + 24 * HOUR
    blocks = [shard.block(day_start + number * HOUR) for number in range(24)]
    assert len({block.number for block in blocks}) == 1
    assert shard.block(day_start - HOUR).number == blocks[0].number - 1
    day = shard.block(day_start)
    hours = [day.hour(day_start + number * HOUR) for number in range(24)]
    assert [moment for hour in hours for moment in hour] == day.starts
    assert day.starts == sorted(day.starts)
    for number, hour in enumerate(hours):
        assert all(day_start + number * HOUR <= m < day_start + (number + 1) * HOUR
                   for m in hour)  # fmt: skip


def test_a_small_shard_draws_as_many_days_as_hold_its_share_of_a_block():
    """A shard expecting few starts a day draws several days at once (at most a week), so
    its blocks' fixed cost stays a small share of its visits; its hours are still sliced
    in order from the block's starts."""
    assert [traffic._days_per_block(per_day) for per_day in (600, 400, 399, 200, 57, 1, 0)] == [
        1, 1, 2, 2, 7, 7, 7,
    ]  # fmt: skip
    scenario = small_scenario(end="2024-03-20", traffic={"sessions_per_day": 640})
    windows = resolve_windows(scenario)
    shard = TrafficModel(scenario, windows, all_shards(16)[3])  # 40 starts a day: 10 days
    assert shard.hours_per_block == 7 * 24
    week = 7 * 24 * HOUR
    week_start = to_micros(scenario.start_utc) // week * week + week
    block = shard.block(week_start)
    assert shard.block(week_start + week - HOUR).number == block.number
    assert shard.block(week_start + week).number == block.number + 1
    hours = [block.hour(week_start + number * HOUR) for number in range(7 * 24)]
    assert [moment for hour in hours for moment in hour] == block.starts == sorted(block.starts)
    assert 7 * 40 * 0.6 < len(block.starts) < 7 * 40 * 1.4


def test_shards_drawn_by_day_keep_every_hours_expected_starts():
    """Four shards over twenty days: each local hour of the day gets its configured share
    of the starts (within five standard deviations of its count)."""
    scenario = small_scenario(
        end="2024-03-21", traffic={"sessions_per_day": 960, "daily_noise": 0.0,
                                   "hourly_weights": STEP_WEIGHTS, "growth_per_year": 0.0},
    )  # fmt: skip
    windows = resolve_windows(scenario)
    start, end = to_micros(scenario.start_utc), to_micros(scenario.end_utc)
    by_hour: Counter[int] = Counter()
    for shard in all_shards(4):
        model = TrafficModel(scenario, windows, shard)
        for hour_start in range(start, end, HOUR):
            for moment in model.arrivals(hour_start):
                by_hour[to_datetime(moment).astimezone(scenario.zone).hour] += 1
    assert sum(by_hour.values()) == pytest.approx(960 * 20, rel=0.1)  # weekdays move it a little
    per_weight = sum(by_hour.values()) / sum(STEP_WEIGHTS)
    for hour, weight in enumerate(STEP_WEIGHTS):
        expected = per_weight * weight
        assert abs(by_hour[hour] - expected) < 5 * math.sqrt(expected), (hour, by_hour[hour])


@pytest.mark.parametrize("shards", [1, 4])
def test_an_hours_plan_is_its_starts_and_their_slice_of_the_blocks_draws(shards, monkeypatch):
    """Each hour's plan (``Simulation._hour_plan``) is the hour's starts and, for each, its
    64 draws of the block's stream, whether the block's draws are read at once (a shard's
    day) or an hour at a time (a big block): the same draws either way."""
    scenario = small_scenario(shards=shards, traffic={"sessions_per_day": 2400})
    shard = all_shards(shards)[-1]
    start, end = to_micros(scenario.start_utc), to_micros(scenario.end_utc)
    hours = range(start - start % HOUR, end, HOUR)
    expected = []
    traffic = TrafficModel(scenario, resolve_windows(scenario), shard)
    for hour_start in hours:
        block = traffic.block(hour_start)
        number = (hour_start - block.start) // HOUR
        first, stop = block.firsts[number], block.firsts[number + 1]
        draws = uniform_block(shard.seed(scenario.seed), Purpose.SESSION_DRAWS, block.number,
                              stop * _DRAWS_PER_SESSION)  # fmt: skip
        expected.append((block.hour(hour_start),
                         list(draws[first * _DRAWS_PER_SESSION :])))  # fmt: skip
    assert sum(len(starts) for starts, _ in expected) > 100
    for at_once in (engine._DRAWS_AT_ONCE, 0):
        monkeypatch.setattr(engine, "_DRAWS_AT_ONCE", at_once)
        plan = Simulation(scenario, shard=shard)._hour_plan
        planned = [(starts, list(draws)) for starts, draws in map(plan, hours)]
        assert planned == expected
