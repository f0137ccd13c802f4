"""Traffic and audience checks: session starts per hour against the configured curves, and
the shares of returning visitors, channels, devices, browsers and countries.

The expected starts of each hour follow the scenario as documented (sessions per day x
local hour weight x weekday weight x growth x calendar), written out here again rather
than taken from the engine, so that the audit checks the engine instead of repeating it.
Day-level noise has mean 1: it adds variance, which the tolerances include.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fauxsim.clock import to_micros
from fauxsim.report.checks import Check, Unit, mix_checks
from fauxsim.report.hour_boundary import boundary_check
from fauxsim.report.stats import SIGMAS, cdf, median, share_tolerance
from fauxsim.scenario.distributions import Constant
from fauxsim.simulation.calendar import Window, resolve_windows

if TYPE_CHECKING:
    from collections.abc import Callable

    from fauxsim.report.reading import Dataset
    from fauxsim.scenario.model import Scenario

_HOUR = dt.timedelta(hours=1)
_MIN_HOURS_FOR_GROWTH = 90 * 24  # a quarter: shorter windows say little of a yearly trend
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True, slots=True)
class Hour:
    start: dt.datetime  # UTC
    local: dt.datetime  # its middle, in the scenario's time zone
    expected: float  # configured session starts, calendar included
    calendar_factor: float
    observed: int


@dataclass(frozen=True, slots=True)
class HourlyTraffic:
    hours: list[Hour]
    windows: list[Window]
    noise_variance: float  # variance of the day-level factor

    def day_totals(self, hours: list[Hour]) -> dict[dt.date, float]:
        totals: dict[dt.date, float] = defaultdict(float)
        for hour in hours:
            totals[hour.local.date()] += hour.expected
        return totals


def hourly_traffic(scenario: Scenario, dataset: Dataset) -> HourlyTraffic:
    """Observed and configured session starts for every hour the data covers."""
    start, end = scenario.start_utc, min(scenario.end_utc, dataset.end)
    observed = _starts_per_hour(dataset, start, end)
    windows = resolve_windows(scenario)
    traffic = scenario.traffic
    hour_share = [weight / sum(traffic.hourly_weights) for weight in traffic.hourly_weights]
    weekday_mean = sum(traffic.weekday_weights) / 7
    hours: list[Hour] = []
    moment, number = start, 0
    while moment < end:
        middle = moment + _HOUR / 2
        local = middle.astimezone(scenario.zone)
        years = (middle - start) / dt.timedelta(days=365.25)
        factor = math.prod(window.traffic_factor(to_micros(middle)) for window in windows)
        expected = (
            traffic.sessions_per_day
            * hour_share[local.hour]
            * traffic.weekday_weights[local.weekday()]
            / weekday_mean
            * (1 + traffic.growth_per_year) ** years
            * factor
        )
        hours.append(Hour(moment, local, expected, factor, observed.get(number, 0)))
        moment, number = moment + _HOUR, number + 1
    return HourlyTraffic(hours, windows, math.expm1(traffic.daily_noise**2))


def _starts_per_hour(dataset: Dataset, start: dt.datetime, end: dt.datetime) -> dict[int, int]:
    rows = dataset.connection.execute(
        "SELECT (epoch_us(started_at) - $start) // 3600000000 AS hour, count(*) FROM sessions "
        "WHERE started_at >= $from AND started_at < $to GROUP BY hour",
        {"start": to_micros(start), "from": start, "to": end},
    ).fetchall()
    return {int(hour): int(count) for hour, count in rows}


def traffic_checks(scenario: Scenario, dataset: Dataset) -> list[Check]:
    traffic = hourly_traffic(scenario, dataset)
    hours = traffic.hours
    checks: list[Check | None] = [_total_check(traffic, hours)]
    # Hours a calendar event (or its ramps) touches follow the event, not the curves.
    plain = [hour for hour in hours if hour.calendar_factor == 1.0]
    checks += [
        _share_check(traffic, plain, hour_share_name(h), _local_hour_is(h)) for h in range(24)
    ]
    checks += [
        _share_check(traffic, plain, weekday_share_name(d), _weekday_is(d))
        for d, name in enumerate(WEEKDAYS)
    ]
    checks += [_calendar_check(traffic, window) for window in traffic.windows]
    checks.append(_growth_check(scenario, traffic, plain))
    checks.append(boundary_check(scenario, dataset, traffic))
    return [check for check in checks if check is not None]


def hour_share_name(hour_of_day: int) -> str:
    return f"hour {hour_of_day:02d} share of starts"


def weekday_share_name(weekday: int) -> str:
    return f"{WEEKDAYS[weekday]} share of starts"


def _local_hour_is(hour_of_day: int) -> Callable[[Hour], bool]:
    return lambda hour: hour.local.hour == hour_of_day


def _weekday_is(weekday: int) -> Callable[[Hour], bool]:
    return lambda hour: hour.local.weekday() == weekday


def _total_check(traffic: HourlyTraffic, hours: list[Hour]) -> Check:
    expected = sum(hour.expected for hour in hours)
    noise = traffic.noise_variance * sum(e * e for e in traffic.day_totals(hours).values())
    tolerance = SIGMAS * math.sqrt(expected + noise) + 0.01 * expected
    observed = sum(hour.observed for hour in hours)
    note = "sessions_per_day x curves x growth x calendar over the hours covered; allowance 1%"
    return Check(
        "traffic", "sessions started", expected, observed, tolerance, observed, Unit.COUNT, note
    )


def _share_check(
    traffic: HourlyTraffic, hours: list[Hour], name: str, inside: Callable[[Hour], bool]
) -> Check | None:
    """The share of starts in the hours ``inside`` picks, against the configured share.

    Its variance is multinomial plus the day-level noise's (the delta method: a day's
    factor moves the share by how unevenly that day's hours fall inside and outside).
    """
    expected_total = sum(hour.expected for hour in hours)
    n = sum(hour.observed for hour in hours)
    if expected_total == 0:
        return None
    chosen = [hour for hour in hours if inside(hour)]
    p = sum(hour.expected for hour in chosen) / expected_total
    if n == 0:
        return Check("traffic", name, p, None, 0.0, 0)
    in_day = traffic.day_totals(chosen)
    all_day = traffic.day_totals(hours)
    noise = sum(
        (in_day.get(day, 0.0) * (1 - p) - (total - in_day.get(day, 0.0)) * p) ** 2
        for day, total in all_day.items()
    )
    spread = math.sqrt(p * (1 - p) / n + traffic.noise_variance * noise / expected_total**2)
    measured = sum(hour.observed for hour in chosen) / n
    note = "calendar-event days left out" if len(hours) < len(traffic.hours) else ""
    return Check(
        "traffic", name, p, measured, share_tolerance(0, n) + SIGMAS * spread, n, note=note
    )


def _growth_check(scenario: Scenario, traffic: HourlyTraffic, hours: list[Hour]) -> Check | None:
    """The growth that explains the second half's starts over the first half's.

    Under growth g each hour's expectation scales by (1 + g) ** years since the start, so the
    halves' ratio of expectations rises with g; the measured growth is the g whose ratio is
    the observed one, and its tolerance the g's of the ratio four standard errors either side.
    """
    if len(hours) < _MIN_HOURS_FOR_GROWTH:
        return None
    configured = scenario.traffic.growth_per_year
    start = scenario.start_utc
    first, second = hours[: len(hours) // 2], hours[len(hours) // 2 :]
    observed_first = sum(hour.observed for hour in first)
    observed_second = sum(hour.observed for hour in second)
    if not observed_first or not observed_second:
        return Check("traffic", "growth per year", configured, None, 0.0, 0)

    def weighted(half: list[Hour]) -> list[tuple[float, float]]:
        year = dt.timedelta(days=365.25)
        return [(hour.expected, (hour.start + _HOUR / 2 - start) / year) for hour in half]

    early, late = weighted(first), weighted(second)

    def ratio(growth: float) -> float:
        scale = (1 + growth) / (1 + configured)
        return sum(e * math.pow(scale, y) for e, y in late) / sum(
            e * math.pow(scale, y) for e, y in early
        )

    def growth_for(target: float) -> float:
        low, high = -0.99, 100.0
        for _ in range(60):  # bisection: ratio rises with growth
            middle = (low + high) / 2
            low, high = (middle, high) if ratio(middle) < target else (low, middle)
        return (low + high) / 2

    spread = math.sqrt(
        1 / observed_first
        + 1 / observed_second
        + traffic.noise_variance
        * sum(
            sum(e * e for e in traffic.day_totals(half).values())
            / sum(h.expected for h in half) ** 2
            for half in (first, second)
        )
    )
    observed = observed_second / observed_first
    measured = growth_for(observed)
    low = growth_for(observed * math.exp(-SIGMAS * spread))
    high = growth_for(observed * math.exp(SIGMAS * spread))
    tolerance = (high - low) / 2 + 0.01
    note = "from the second half's starts over the first half's (calendar hours left out)"
    return Check(
        "traffic",
        "growth per year",
        configured,
        measured,
        tolerance,
        observed_first + observed_second,
        note=note,
    )


def _calendar_check(traffic: HourlyTraffic, window: Window) -> Check | None:
    """Starts during the event's full effect, as a multiple of the curves' traffic."""
    during = [hour for hour in traffic.hours if window.is_active(to_micros(hour.start + _HOUR / 2))]
    if not during:
        return None
    expected = sum(hour.expected for hour in during)
    baseline = sum(hour.expected / hour.calendar_factor for hour in during if hour.calendar_factor)
    observed = sum(hour.observed for hour in during)
    noise = traffic.noise_variance * sum(e * e for e in traffic.day_totals(during).values())
    tolerance = (SIGMAS * math.sqrt(expected + noise) + 0.02 * expected) / baseline
    name = f"{window.event.name} {window.first_day} traffic multiplier"
    measured = observed / baseline
    configured = expected / baseline  # the event's multiplier, times any overlapping event's
    note = "starts during the event over the curves' expectation for its hours; allowance 2%"
    return Check("traffic", name, configured, measured, tolerance, observed, Unit.TIMES, note)


def audience_checks(scenario: Scenario, dataset: Dataset) -> list[Check]:
    audience = scenario.audience
    connection = dataset.connection
    row = connection.execute(
        "SELECT count(*), count(*) FILTER (is_returning) FROM sessions"
    ).fetchone()
    total, returning = (int(row[0]), int(row[1])) if row else (0, 0)
    checks = [
        Check(
            "audience",
            "returning share of sessions",
            audience.returning_share,
            returning / total if total else None,
            share_tolerance(audience.returning_share, total),
            total,
        ),
        *return_gap_checks(scenario, dataset),
        *imported_history_checks(scenario, dataset),
    ]
    mixes = {
        "channel": {name: channel.weight for name, channel in audience.channels.items()},
        "device": audience.devices,
        "browser": audience.browsers,
        "country": audience.countries,
    }
    for column, weights in mixes.items():
        # A device, browser and country are drawn for a new visitor, who keeps them: they
        # are measured on first visits, since customers (who come back more) convert
        # differently by device. A channel is drawn for every session.
        first_visits = "" if column == "channel" else "WHERE NOT is_returning"
        counts = dict(
            connection.execute(
                f"SELECT {column}, count(*) FROM sessions {first_visits} GROUP BY {column}"  # noqa: S608 - fixed names
            ).fetchall()
        )
        checks += mix_checks("audience", column, weights, counts, sum(counts.values()))
    return checks + entry_page_checks(scenario, dataset)


# Returning sessions whose visitor's last visit is in the data, by the whole hours from
# the start to theirs, and how many came back within the configured median gap.
_RETURN_GAPS = """
SELECT (started - $start) // 3600000000 AS hour, count(*), count(*) FILTER (gap <= $median)
FROM (
    SELECT is_returning, epoch_us(started_at) AS started,
        epoch_us(started_at) - epoch_us(lag(ended_at) OVER (
            PARTITION BY visitor_id ORDER BY started_at)) AS gap
    FROM sessions
) WHERE is_returning AND gap IS NOT NULL
GROUP BY hour
"""


def return_gap_checks(scenario: Scenario, dataset: Dataset) -> list[Check]:
    """Returning visits back within the configured median gap (return_gap_days).

    Only visits whose visitor's previous one is in the data show a gap, and a visit ``T``
    after the start can only show a gap up to ``T``: of those, a share F(min(median, T)) /
    F(T) is expected within the median (F: the configured distribution). A constant gap
    has no spread to check this way.
    """
    gaps = scenario.audience.return_gap_days
    if isinstance(gaps, Constant):
        return []
    day = 86_400_000_000
    middle = median(gaps)
    rows = dataset.connection.execute(
        _RETURN_GAPS,
        {"start": to_micros(scenario.start_utc), "median": round(middle * day)},
    ).fetchall()
    n = within = 0
    expected = 0.0
    for hour, count, short in rows:
        reach = (int(hour) + 0.5) / 24  # days from the start to the hour's middle
        possible = cdf(gaps, reach)
        if possible <= 0:
            continue
        n += int(count)
        within += int(short)
        expected += int(count) * cdf(gaps, min(middle, reach)) / possible
    share = expected / n if n else 0.5
    return [
        Check(
            "audience",
            "return gaps within the configured median",
            share,
            within / n if n else None,
            share_tolerance(share, n),
            n,
            note=(
                f"returning visits whose visitor's previous visit is in the data; back within"
                f" {middle:.3g} days (the median), of those possible so long after the start"
            ),
        )
    ]


# The imported customers' orders before the start, and their accounts' ages then (µs).
_IMPORTED = """
SELECT count(*), sum(orders), sum($start - epoch_us(occurred_at)) FROM (
    SELECT occurred_at, CAST(json_extract(properties, '$.orders_before') AS BIGINT) AS orders
    FROM events WHERE event_type = 'signed_up'
        AND json_extract_string(properties, '$.source') = 'import'
) WHERE orders IS NOT NULL
"""


def imported_history_checks(scenario: Scenario, dataset: Dataset) -> list[Check]:
    """The imported customers' orders before the start, per year of their accounts' age
    (audience.existing_orders_per_year): a Poisson count over the years summed."""
    rate = scenario.audience.existing_orders_per_year
    row = dataset.connection.execute(_IMPORTED, {"start": to_micros(scenario.start_utc)}).fetchone()
    customers, orders, age = (int(row[0]), int(row[1] or 0), int(row[2] or 0)) if row else (0, 0, 0)
    years = age / (365.25 * 86_400_000_000)
    return [
        Check(
            "audience",
            "imported customers' orders per year before the start",
            rate,
            orders / years if years > 0 else None,
            SIGMAS * math.sqrt(max(orders, 1)) / years if years > 0 else math.inf,
            customers,
            Unit.RATE,
            note="signed_up's orders_before over the accounts' ages at the start",
        )
    ]


def entry_page_checks(scenario: Scenario, dataset: Dataset) -> list[Check]:
    """Each channel's sessions by the page they started on, against its entry pages."""
    found: dict[str, dict[str | None, int]] = {}
    for channel, page, count in dataset.connection.execute(
        "SELECT channel, landing_page, count(*) FROM sessions GROUP BY ALL"
    ).fetchall():
        found.setdefault(channel, {})[page] = int(count)
    checks = []
    for name, channel in scenario.audience.channels.items():
        weights = {page.value: weight for page, weight in channel.entry_weights().items()}
        counts = found.get(name, {})
        checks += mix_checks("audience", f"{name} sessions entering on", weights, counts,
                             sum(counts.values()))  # fmt: skip
    return checks
