"""When sessions start: a non-homogeneous Poisson process, piecewise constant per hour.

The rate of each UTC hour is the product of the scenario's curves (sessions per day,
local hour of day, weekday, growth, day-level noise, calendar events). Arrival counts
and times of hour ``k`` come from a stream of their own, so any hour can be generated
alone: that is what makes runs prefix-stable and, later, shardable.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from fauxsim.clock import DAY, HOUR, to_datetime, to_micros
from fauxsim.randomness import Purpose, numpy_stream, stream

if TYPE_CHECKING:
    import datetime as dt

    from fauxsim.scenario.model import Scenario
    from fauxsim.simulation.calendar import Window
    from fauxsim.simulation.shards import Shard

_DAYS_PER_YEAR = 365.25


class TrafficModel:
    """Expected sessions per hour, and the arrival times drawn from it."""

    def __init__(
        self, scenario: Scenario, windows: list[Window], shard: Shard | None = None
    ) -> None:
        traffic = scenario.traffic
        self._seed = scenario.seed  # the curves' noise: the whole shop's, in every shard
        # A shard's arrivals: a K-th of the rate, drawn from its own seed (see shards.py).
        self._arrivals_seed = self._seed if shard is None else shard.seed(self._seed)
        self._shards = 1 if shard is None else shard.count
        self._zone = scenario.zone
        self._start = to_micros(scenario.start_utc)
        hourly_total = sum(traffic.hourly_weights)
        self._hour_share = [weight / hourly_total for weight in traffic.hourly_weights]
        weekday_mean = sum(traffic.weekday_weights) / 7
        self._weekday_factor = [weight / weekday_mean for weight in traffic.weekday_weights]
        self._per_day = traffic.sessions_per_day
        self._growth = traffic.growth_per_year
        self._noise = traffic.daily_noise
        self._windows = windows
        self._noise_by_day: dict[dt.date, float] = {}

    def day_noise(self, day: dt.date) -> float:
        """A lognormal factor with mean 1 for one local day (cached; drawn from its own stream)."""
        cached = self._noise_by_day.get(day)
        if cached is None:
            sigma = self._noise
            draw = stream(self._seed, Purpose.DAILY_NOISE, day.toordinal()).gauss(0.0, 1.0)
            cached = math.exp(sigma * draw - sigma * sigma / 2)
            self._noise_by_day = {day: cached}  # only the current day is ever needed again
        return cached

    def calendar_factor(self, moment: int) -> float:
        factor = 1.0
        for window in self._windows:
            factor *= window.traffic_factor(moment)
        return factor

    def hourly_rate(self, hour_start: int) -> float:
        """Expected session starts in the UTC hour beginning at ``hour_start``."""
        middle = hour_start + HOUR // 2
        local = to_datetime(middle).astimezone(self._zone)
        years = (middle - self._start) / (DAY * _DAYS_PER_YEAR)
        rate: float = (
            self._per_day
            * self._hour_share[local.hour]
            * self._weekday_factor[local.weekday()]
            * (1.0 + self._growth) ** years
            * self.day_noise(local.date())
            * self.calendar_factor(middle)
        )
        return rate

    def expected_sessions(self, hour_start: int) -> float:
        """Expected session starts of this shard in the UTC hour from ``hour_start``."""
        return self.hourly_rate(hour_start) / self._shards

    def arrivals(self, hour_start: int) -> list[int]:
        """Sorted session start times (micros) within the hour beginning at ``hour_start``."""
        rng = numpy_stream(self._arrivals_seed, Purpose.ARRIVALS, hour_start // HOUR)
        count = int(rng.poisson(self.hourly_rate(hour_start) / self._shards))
        offsets = (rng.random(count) * HOUR).astype("int64")
        offsets.sort()
        return (offsets + hour_start).tolist()  # type: ignore[no-any-return]
