"""When sessions start: a non-homogeneous Poisson process whose rate is continuous.

The expected starts of each UTC hour are the product of the scenario's curves (sessions
per day, local hour of day, weekday, growth, day-level noise, calendar events). Within the
day the rate changes smoothly: it is piecewise linear, through a value at each top of the
hour (the mean of the two hours it joins) and one at each hour's middle (chosen so that
the hour's integral is its expected starts exactly), so there is no jump at the top of an
hour. Arrivals are drawn a block of hours at a time, each block from a stream of its own,
and depend only on the expected starts of its hours and the two beside it, so any block
can be generated alone: that is what makes runs prefix-stable and shardable.

A block is an hour for a whole shop (one shard), and whole UTC days for a shard of
several: a shard's hours are small (black_friday in 64 shards: ~2 starts an hour), and
seeding the block's generators and the continuous rate's NumPy maths cost a fixed ~100 µs
a block, as much as its visits. A shard's block is a day, or as many days (at most a week)
as hold ``_STARTS_PER_BLOCK`` of its expected starts at the scenario's ``sessions_per_day``:
a day of black_friday in 64 shards holds ~57, so its blocks are weeks. Drawn so, a shard
costs about its share of the work. (The block length is part of a sharded run's data.)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple, TypeAlias, TypeVar

import numpy as np

from fauxsim.clock import DAY, HOUR, to_datetime, to_micros
from fauxsim.randomness import Purpose, numpy_stream, stream
from fauxsim.simulation.choice import WeightedChoice
from fauxsim.simulation.per_process import once_per_process

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable

    from fauxsim.scenario.model import Scenario
    from fauxsim.simulation.calendar import Window
    from fauxsim.simulation.shards import Shard

_DAYS_PER_YEAR = 365.25
T = TypeVar("T")
# A shard of several draws its arrivals whole UTC days at a time: enough days to expect this
# many starts (at the scenario's sessions_per_day), at most a week.
_STARTS_PER_BLOCK = 400
_MOST_DAYS_PER_BLOCK = 7

# An hour's rate at its start, middle or end: a float, or an array of one per start.
Shape: TypeAlias = "float | np.ndarray"


class Block(NamedTuple):
    """A block of hours' session starts: hour ``n`` of it (from ``start + n * HOUR``) has
    ``starts[firsts[n] : firsts[n + 1]]``."""

    number: int  # its visits' draws are numbered by it
    start: int  # its first hour's start (micros)
    starts: list[int]  # every start of the block, sorted (micros)
    firsts: list[int]  # the index of each hour's first start in ``starts``, and one past the last

    def hour(self, hour_start: int) -> list[int]:
        """The starts of the hour from ``hour_start`` (one of the block's)."""
        number = (hour_start - self.start) // HOUR
        return self.starts[self.firsts[number] : self.firsts[number + 1]]


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
        # What the rates depend on (the calendar's windows: the traffic and the window):
        # a process's shards of one scenario share them.
        end = to_micros(scenario.end_utc)
        curves = (self._seed, self._start, end, str(self._zone), traffic.model_dump_json())
        self._shared_key = (*curves, self._shards)  # what it shares with other shards
        # The whole shop's hourly rates, a memo filled as they are asked for: a year before
        # the start (imported sign-ups, the returning pool's past visits), then the run's.
        # (A live run adds 24 a day: under 1 MB a year.)
        self._rates: dict[int, float] = once_per_process(("hourly rates", *curves), dict)
        # This shard's expected starts a day at the scenario's sessions_per_day (calendar
        # events and the curves move each day's own).
        self.starts_per_day = self._per_day / self._shards
        # Hours per block of arrivals: an hour for a whole shop (its data as before blocks
        # existed), whole days for a shard of several (see the module's docstring).
        self.hours_per_block = 1 if self._shards == 1 else 24 * _days_per_block(self.starts_per_day)
        # Each block's expected starts per hour (this shard's) and its hours' shapes, as the
        # arrays its draws need: a memo shared by the process's shards (~20 µs a block).
        self._block_rates: dict[int, tuple[np.ndarray, np.ndarray]] = self.shared(
            ("block rates", self.hours_per_block), dict
        )
        # The block drawn last: its index, its first hour, its starts, and the index of
        # each hour's first start among them (and one past the last).
        self._block, self._block_start = -1, 0
        self._moments: list[int] = []
        self._firsts: list[int] = [0]

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
        """``hourly_rate``, computed once per process (``per_process``)."""
        rate = self._rates.get(hour_start)
        if rate is None:
            rate = self._rates[hour_start] = self.hourly_rate(hour_start)
        return rate

    def rate_shape(self, hour_start: int) -> tuple[float, float, float]:
        """The rate (expected starts per hour) at the hour's start, middle and end."""
        before = self._rate(hour_start - HOUR)
        rate = self._rate(hour_start)
        after = self._rate(hour_start + HOUR)
        return continuous_shape(before, rate, after)

    def expected_sessions(self, hour_start: int) -> float:
        """Expected session starts of this shard in the UTC hour from ``hour_start``."""
        rate = self._rates.get(hour_start)  # (``_rate`` inlined: called for a year of hours)
        if rate is None:
            rate = self._rate(hour_start)
        return rate / self._shards

    def shared(self, key: tuple[object, ...], make: Callable[[], T]) -> T:
        """``make()``, computed once per process for these curves, this shard count and
        ``key`` (``per_process``): what every shard of a scenario needs the same of."""
        return once_per_process(("traffic", *self._shared_key, *key), make)

    def hours_by_expected(self, first: int, stop: int) -> WeightedChoice[int]:
        """The hour starts from ``first`` to ``stop``, weighted by this shard's expected
        starts (evenly if none are expected): computed once per process."""

        def weighted() -> WeightedChoice[int]:
            hours = list(range(first, stop, HOUR))
            weights = [self.expected_sessions(hour) for hour in hours]
            if sum(weights) <= 0:
                weights = [1.0] * len(hours)
            return WeightedChoice(hours, weights)

        return self.shared(("hours by expected", first, stop), weighted)

    def arrivals(self, hour_start: int) -> list[int]:
        """Sorted session start times (micros) within the hour beginning at ``hour_start``."""
        return self.block(hour_start).hour(hour_start)

    def block(self, hour_start: int) -> Block:
        """The block of hours that holds the hour from ``hour_start``, drawn if not yet.

        A block's counts are Poisson with each hour's expected starts (a K-th in a shard
        of K); each start is one uniform draw put through the inverse of its hour's
        cumulative rate. The block is kept until an hour of another is asked for.
        """
        block = hour_start // HOUR // self.hours_per_block
        if block != self._block:
            self._draw_block(block)
        return Block(block, self._block_start, self._moments, self._firsts)

    def _rates_of_block(self, block: int) -> tuple[np.ndarray, np.ndarray]:
        """The block's expected starts of each hour (this shard's share), and each hour's
        shape (``continuous_shape``, one row an hour): computed once per process."""
        shaped = self._block_rates.get(block)
        if shaped is None:
            hours = self.hours_per_block
            first_hour = block * hours * HOUR
            # Each hour's rate, and those of the hours either side (the shape needs them).
            rates = [self._rate(first_hour + offset * HOUR) for offset in range(-1, hours + 1)]
            means = np.array(rates[1:-1]) / self._shards
            shapes = np.array([continuous_shape(*rates[at : at + 3]) for at in range(hours)])
            means.flags.writeable = shapes.flags.writeable = False  # shared: read only
            shaped = self._block_rates[block] = means, shapes
        return shaped

    def _draw_block(self, block: int) -> None:
        hours = self.hours_per_block
        first_hour = block * hours * HOUR
        rng = numpy_stream(self._arrivals_seed, Purpose.ARRIVALS, block)
        means, shapes = self._rates_of_block(block)
        counts = rng.poisson(means)
        self._block, self._block_start = block, first_hour
        self._firsts = [0, *np.cumsum(counts).tolist()]
        total = self._firsts[-1]
        if total == 0:
            self._moments = []
            return
        # The shape of the hour of each start: arrays of one value per start.
        start, middle, end = np.repeat(shapes, counts, axis=0).T
        offsets = (linear_offsets(rng.random(total), start, middle, end) * HOUR).astype("int64")
        offsets += np.repeat(np.arange(first_hour, first_hour + hours * HOUR, HOUR), counts)
        offsets.sort()  # hours do not overlap: sorted within each hour, and in hour order
        self._moments = offsets.tolist()


def _days_per_block(starts_per_day: float) -> int:
    """Whole days of a shard's arrivals drawn at once: a day, or enough to expect
    ``_STARTS_PER_BLOCK`` starts, at most a week."""
    if starts_per_day <= 0:
        return _MOST_DAYS_PER_BLOCK
    return max(1, min(_MOST_DAYS_PER_BLOCK, math.ceil(_STARTS_PER_BLOCK / starts_per_day)))


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


def linear_offsets(uniforms: np.ndarray, start: Shape, middle: Shape, end: Shape) -> np.ndarray:
    """Offsets in [0, 1) of an hour, by inverse CDF of the rate through start, middle, end.

    The density is linear on each half hour; a uniform picks its half by the halves' masses
    and its place in that half by the inverse of the linear cumulative rate there. The
    shape is one hour's (floats), or each uniform's own (arrays as long as ``uniforms``).
    An hour of no rate at all has no density: its offsets are the uniforms themselves.
    """
    first = (start + middle) / 4  # the first half's mass (in expected starts)
    total = first + (middle + end) / 4
    if not np.asarray(total > 0.0).any():
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
    return np.where(total > 0.0, below_one, uniforms)
