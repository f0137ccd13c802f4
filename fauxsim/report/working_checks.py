"""Shipping, delivery and refunds in working hours: what the configured delays and hours mean.

A step (shipping, delivery, a refund) is due when its delay has passed since the step before; it
happens then if that falls within the local hours of a day that works for it, else at a
moment spread evenly over the hours of the next day that does; a weekday works for a step
with its configured chance (README, "Orders"). Written out here again from that rule, so
the audit checks the engine instead of repeating it.

Given when the previous step happened in the data, the delay (its quantiles) and the
hours make a distribution of waits, computed exactly as a weighted mixture (no random
draws): its median is the configured median delay, its weekdays the configured weekday
shares. Local times are reckoned from each order's UTC offset when its wait began; a
daylight-saving change during a wait moves a few of them by an hour.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from fauxsim.report.checks import Check, Unit
from fauxsim.report.stats import SIGMAS, quantile, share_tolerance
from fauxsim.report.traffic_checks import WEEKDAYS

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from fauxsim.scenario.distributions import Distribution
    from fauxsim.scenario.model import WorkingHours

_DELAY_STEPS = 100  # quantiles of the delay per order
_SPREAD_STEPS = 8  # places within a day's hours for a deferred step
_MAX_DAYS = 28  # as the engine: then the next hours, whatever the weekday
_MAX_ORDERS = 600  # orders whose start the mixture follows (evenly spread)
_HOURS_A_DAY = 24.0
_SATURDAY = 5
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday
_LOCAL_EPOCH = dt.datetime(1970, 1, 1)  # noqa: DTZ001 - local wall-clock arithmetic


@dataclass(frozen=True, slots=True)
class Waits:
    """The configured waits (hours) of a step as a weighted sample, with each one's weekday."""

    hours: np.ndarray  # sorted
    weights: np.ndarray  # summing to 1, in the order of hours
    weekdays: np.ndarray

    def quantile(self, q: float) -> float:
        """The wait at quantile ``q``; 0 where no step started early enough to count (its
        checks then say "no data": nothing measured)."""
        if len(self.hours) == 0:
            return 0.0
        cumulative = np.cumsum(self.weights)
        index = int(np.searchsorted(cumulative, min(max(q, 0.0), 1.0)))
        return float(self.hours[min(index, len(self.hours) - 1)])

    def weekday_share(self, weekday: int) -> float:
        return float(self.weights[self.weekdays == weekday].sum())


def configured_waits(
    starts: list[dt.datetime], delay: Distribution, unit_hours: float, hours: WorkingHours,
    zone: ZoneInfo,
) -> Waits:  # fmt: skip
    """The waits of a step that started at ``starts`` (UTC), as the configuration means."""
    if not starts:  # a window too short for any step to have settled
        return Waits(np.zeros(0), np.zeros(0), np.zeros(0, dtype=int))
    if len(starts) > _MAX_ORDERS:
        starts = [starts[k * len(starts) // _MAX_ORDERS] for k in range(_MAX_ORDERS)]
    local = np.array([_local_hours(start, zone) for start in starts])[:, None]
    delays = np.array([
        quantile(delay, (k + 0.5) / _DELAY_STEPS) * unit_hours for k in range(_DELAY_STEPS)
    ])  # fmt: skip
    due = local + delays[None, :]
    first_day = np.floor(due / 24)
    hour_of_day = due - 24 * first_day
    chances = np.array(hours.weekdays)
    spread = (np.arange(_SPREAD_STEPS) + 0.5) / _SPREAD_STEPS * (hours.closes - hours.opens)
    remaining = np.ones_like(due)
    values, weights, weekdays = [], [], []
    for offset in range(_MAX_DAYS + 1):
        day = first_day + offset
        weekday = ((day + _EPOCH_WEEKDAY) % 7).astype(int)
        chance = np.ones_like(due) if offset == _MAX_DAYS else chances[weekday]
        if offset == 0:
            chance = np.where(hour_of_day < hours.closes, chance, 0.0)
        landed = remaining * chance
        remaining = remaining - landed
        if offset == 0:  # due within the hours: it happens when due
            now = np.where(hour_of_day >= hours.opens, landed, 0.0)
            values.append(due - local)
            weights.append(now)
            weekdays.append(weekday)
            landed = landed - now
        opens = (day * 24 + hours.opens)[:, :, None] + spread[None, None, :]
        values.append(opens - local[:, :, None])
        weights.append(np.repeat(landed[:, :, None] / _SPREAD_STEPS, _SPREAD_STEPS, axis=2))
        weekdays.append(np.repeat(weekday[:, :, None], _SPREAD_STEPS, axis=2))
        if not remaining.any():
            break
    flat = np.concatenate([v.ravel() for v in values])
    mass = np.concatenate([w.ravel() for w in weights])
    days = np.concatenate([d.ravel() for d in weekdays])
    order = np.argsort(flat, kind="stable")
    return Waits(flat[order], mass[order] / mass.sum(), days[order])


def longest_deferral_hours(hours: WorkingHours) -> float:
    """At most how long a due step waits for hours that surely work (a day of weight 1)."""
    sure = [weekday for weekday in range(7) if hours.weekdays[weekday] >= 1.0]
    if not sure:
        return 24.0 * (_MAX_DAYS + 1)
    gaps = [min((day - weekday) % 7 for day in sure) for weekday in range(7)]
    return 24.0 * (max(gaps) + 1)


def median_check(
    name: str, waits: Waits, measured: list[float], unit_hours: float, slack: float, note: str
) -> Check:
    """The median wait against the configured mixture's median (``measured`` in hours,
    shown in the step's unit)."""
    configured = waits.quantile(0.5) / unit_hours
    n = len(measured)
    if n == 0:
        return Check("lifecycle", name, configured, None, 0.0, 0, note=note)
    step = SIGMAS * 0.5 / math.sqrt(n)  # the median's order-statistic interval
    low, high = waits.quantile(0.5 - step) / unit_hours, waits.quantile(0.5 + step) / unit_hours
    tolerance = max(high - configured, configured - low) + slack * configured
    measured_median = float(np.median(measured)) / unit_hours
    unit = Unit.DAYS if unit_hours == _HOURS_A_DAY else Unit.HOURS
    return Check("lifecycle", name, configured, measured_median, tolerance, n, unit, note)


def in_hours_checks(
    step: str, key: str, moments: list[dt.datetime], waits: Waits, hours: WorkingHours,
    zone: ZoneInfo,
) -> list[Check]:  # fmt: skip
    """The share of a step's moments within its hours (all of them), and the share on
    the weekend's days and each weekday that works less than fully, against the
    configured mixture's."""
    local = [moment.astimezone(zone) for moment in moments]
    n = len(local)
    inside = sum(
        1
        for moment in local
        if hours.opens <= moment.hour + moment.minute / 60 < hours.closes
        and hours.weekdays[moment.weekday()] > 0
    )
    window = f"{hours.opens:g}:00-{hours.closes:g}:00"
    checks = [
        Check("lifecycle", f"{step} within {window} local", 1.0, inside / n if n else None,
              share_tolerance(1.0, n), n, note=f"{key}; a weekday of chance 0 is outside")
    ]  # fmt: skip
    for weekday, chance in enumerate(hours.weekdays):
        if chance >= 1.0 and weekday < _SATURDAY:
            continue
        p = waits.weekday_share(weekday)
        on_day = sum(1 for moment in local if moment.weekday() == weekday)
        checks.append(
            Check("lifecycle", f"{step} on {WEEKDAYS[weekday]}s", p, on_day / n if n else None,
                  share_tolerance(p, n), n,
                  note=f"{key} weekday chance {chance:g}, given when each became due")
        )  # fmt: skip
    return checks


def _local_hours(moment: dt.datetime, zone: ZoneInfo) -> float:
    """Hours since 1970-01-01 00:00 by the wall clock of ``zone`` at ``moment``."""
    wall = moment.astimezone(zone).replace(tzinfo=None)
    return (wall - _LOCAL_EPOCH) / dt.timedelta(hours=1)
