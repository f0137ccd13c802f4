"""When sessions start: a non-homogeneous Poisson process whose rate is continuous.

The expected starts of each UTC hour are the product of the scenario's curves (sessions
per day, local hour of day, weekday, growth, day-level noise, calendar events). Within the
day the rate changes smoothly: it is piecewise linear, through a value at each top of the
hour (the mean of the two hours it joins) and one at each hour's middle (chosen so that
the hour's integral is its expected starts exactly), so there is no jump at the top of an
hour. Arrival counts and times of hour ``k`` come from a stream of their own and depend
only on the expected starts of hours ``k - 1``, ``k`` and ``k + 1``, so any hour can be
generated alone: that is what makes runs prefix-stable and shardable.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from fauxsim.clock import DAY, HOUR, to_datetime, to_micros
from fauxsim.randomness import Purpose, numpy_stream, stream

if TYPE_CHECKING:
    import datetime as dt

    from fauxsim.scenario.model import Scenario
    from fauxsim.simulation.calendar import Window
    from fauxsim.simulation.shards import Shard

_DAYS_PER_YEAR = 365.25
_RATES_KEPT = 3  # an hour's rate is needed by itself and its two neighbours

# The whole shop's hourly rates before the start (a year of them: imported sign-ups, the
# returning pool's past visits), kept for the scenario last asked about: every shard a
# worker process runs needs the same ones, and computing them cost ~0.05 s a shard.
_rates_before_start: tuple[tuple[object, ...], dict[int, float]] = ((), {})


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
        # What the rates depend on: a process's shards of one scenario share them.
        self._curves = (self._seed, self._start, str(self._zone), traffic.model_dump_json())
        self._noise_by_day: dict[dt.date, float] = {}
        self._rates: dict[int, float] = {}  # the hours around the one being drawn

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

    def _rate(self, hour_start: int) -> float:
        """``hourly_rate``, kept for the three hours around the one drawn last."""
        rate = self._rates.get(hour_start)
        if rate is None:
            rate = self.hourly_rate(hour_start)
            if len(self._rates) > _RATES_KEPT:
                self._rates = {h: r for h, r in self._rates.items() if h >= hour_start - HOUR}
            self._rates[hour_start] = rate
        return rate

    def rate_shape(self, hour_start: int) -> tuple[float, float, float]:
        """The rate (expected starts per hour) at the hour's start, middle and end."""
        before = self._rate(hour_start - HOUR)
        rate = self._rate(hour_start)
        after = self._rate(hour_start + HOUR)
        return continuous_shape(before, rate, after)

    def expected_sessions(self, hour_start: int) -> float:
        """Expected session starts of this shard in the UTC hour from ``hour_start``."""
        if hour_start >= self._start:
            return self.hourly_rate(hour_start) / self._shards
        global _rates_before_start  # noqa: PLW0603 - a cache of pure values, see above
        curves, rates = _rates_before_start
        if curves != self._curves:
            _rates_before_start = self._curves, (rates := {})
        rate = rates.get(hour_start)
        if rate is None:
            rate = rates[hour_start] = self.hourly_rate(hour_start)
        return rate / self._shards

    def arrivals(self, hour_start: int) -> list[int]:
        """Sorted session start times (micros) within the hour beginning at ``hour_start``.

        The count is Poisson with the hour's expected starts (a K-th in a shard of K); each
        start is one uniform draw put through the inverse of the hour's cumulative rate.
        """
        rng = numpy_stream(self._arrivals_seed, Purpose.ARRIVALS, hour_start // HOUR)
        count = int(rng.poisson(self._rate(hour_start) / self._shards))
        if count == 0:
            return []
        offsets = (linear_offsets(rng.random(count), *self.rate_shape(hour_start)) * HOUR).astype(
            "int64"
        )
        offsets.sort()
        return (offsets + hour_start).tolist()  # type: ignore[no-any-return]


def continuous_shape(before: float, rate: float, after: float) -> tuple[float, float, float]:
    """The rate at the start, middle and end of an hour of ``rate`` expected starts.

    The rate at the top of an hour is the mean of the hours it joins, capped at twice the
    smaller (so that no middle value goes below zero); the middle value makes the hour's
    integral (``(start + 2 * middle + end) / 4``) equal ``rate``.
    """
    start = min((before + rate) / 2, 2 * before, 2 * rate)
    end = min((rate + after) / 2, 2 * rate, 2 * after)
    middle = max(0.0, 2 * rate - (start + end) / 2)
    return start, middle, end


def linear_offsets(uniforms: np.ndarray, start: float, middle: float, end: float) -> np.ndarray:
    """Offsets in [0, 1) of an hour, by inverse CDF of the rate through start, middle, end.

    The density is linear on each half hour; a uniform picks its half by the halves' masses
    and its place in that half by the inverse of the linear cumulative rate there.
    """
    first = (start + middle) / 4  # the first half's mass (in expected starts)
    total = first + (middle + end) / 4
    if total <= 0.0:
        return uniforms
    mass = uniforms * total
    second = mass >= first
    rate_from = np.where(second, middle, start)  # the rate where the half begins
    slope = np.where(second, end - middle, middle - start) * 2.0  # per hour
    within = np.where(second, mass - first, mass)
    # x with rate_from * x + slope * x^2 / 2 = within, written so that slope 0 is exact
    root = np.sqrt(np.maximum(rate_from * rate_from + 2.0 * slope * within, 0.0))
    denominator = rate_from + root
    safe = np.where(denominator > 0.0, denominator, 1.0)
    x = np.where(denominator > 0.0, 2.0 * within / safe, 0.0)
    offsets = np.where(second, 0.5, 0.0) + np.minimum(x, 0.5)
    below_one: np.ndarray = np.minimum(offsets, np.nextafter(1.0, 0.0))
    return below_one
