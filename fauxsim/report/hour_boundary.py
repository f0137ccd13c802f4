"""The top of the hour: the share of starts near it that come just after it.

The scenario's curves give each hour its expected starts; within the day the rate is
continuous (README, "The engine"): piecewise linear, at each top of the hour the mean of
the two hours it joins (capped at twice the smaller), at each hour's middle the value
that gives the hour its expected starts. Written out here again from that description.
Where the hour-of-day weight changes most, a rate that jumped at the top of the hour
would put the weights' share after it (``w_after / (w_before + w_after)``); the continuous
one puts about half.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fauxsim.clock import to_micros
from fauxsim.report.checks import Check
from fauxsim.report.stats import share_tolerance

if TYPE_CHECKING:
    from fauxsim.report.reading import Dataset
    from fauxsim.report.traffic_checks import Hour, HourlyTraffic
    from fauxsim.scenario.model import Scenario

_HOUR_US = 3_600_000_000
_WINDOW = 1 / 4  # fifteen minutes either side, in hours
_MIN_CHANGE = 1.2  # a smaller step in the weights says little about a jump


def boundary_check(scenario: Scenario, dataset: Dataset, traffic: HourlyTraffic) -> Check | None:
    """Of the starts in the fifteen minutes either side of the local top of the hour where
    the weights change most, the share after it, against the continuous rate's share."""
    weights = scenario.traffic.hourly_weights
    steps = {
        hour: max(weights[hour], weights[hour - 1]) / min(weights[hour], weights[hour - 1])
        for hour in range(24)
        if min(weights[hour], weights[hour - 1]) > 0
    }
    if not steps or max(steps.values()) < _MIN_CHANGE:
        return None
    steepest = max(steps, key=lambda hour: steps[hour])
    hours = traffic.hours
    after = [
        k
        for k in range(1, len(hours) - 2)
        if hours[k + 1].local.hour == steepest
        and all(hours[j].calendar_factor == 1.0 for j in range(k - 1, k + 3))
    ]
    if not after:
        return None
    before_expected = sum(_last_window(*_shape(hours, k)) for k in after)
    after_expected = sum(_first_window(*_shape(hours, k + 1)) for k in after)
    counts = _window_counts(dataset)
    before = sum(counts.get(to_micros(hours[k].start) // _HOUR_US, (0, 0))[1] for k in after)
    late = sum(counts.get(to_micros(hours[k + 1].start) // _HOUR_US, (0, 0))[0] for k in after)
    configured = after_expected / (before_expected + after_expected)
    name = f"share after {steepest:02d}:00 of starts 15 min either side"
    note = (
        f"weights step x{steps[steepest]:.2f} there: a rate that jumped would put "
        f"{_jump_share(weights, steepest):.0%} after"
    )
    sample = before + late
    measured = late / sample if sample else None
    return Check("traffic", name, configured, measured, share_tolerance(configured, sample),
                 sample, note=note)  # fmt: skip


def _jump_share(weights: list[float], hour: int) -> float:
    return weights[hour] / (weights[hour] + weights[hour - 1])


def _shape(hours: list[Hour], k: int) -> tuple[float, float, float]:
    before, rate, after = (hours[j].expected for j in (k - 1, k, k + 1))
    start = min((before + rate) / 2, 2 * before, 2 * rate)
    end = min((rate + after) / 2, 2 * rate, 2 * after)
    return start, max(0.0, 2 * rate - (start + end) / 2), end


def _last_window(start: float, middle: float, end: float) -> float:
    del start  # the last ten minutes lie in the second half hour: middle to end
    at = middle + (end - middle) * (1 - 2 * _WINDOW)
    return _WINDOW * (at + end) / 2


def _first_window(start: float, middle: float, end: float) -> float:
    del end
    at = start + (middle - start) * 2 * _WINDOW
    return _WINDOW * (start + at) / 2


def _window_counts(dataset: Dataset) -> dict[int, tuple[int, int]]:
    """Per UTC hour (micros // hour): starts in its first and in its last fifteen minutes."""
    window = int(_WINDOW * _HOUR_US)
    rows = dataset.connection.execute(
        "SELECT epoch_us(started_at) // $hour AS hour, "
        "count(*) FILTER (epoch_us(started_at) % $hour < $window), "
        "count(*) FILTER (epoch_us(started_at) % $hour >= $hour - $window) "
        "FROM sessions GROUP BY hour",
        {"hour": _HOUR_US, "window": window},
    ).fetchall()
    return {int(hour): (int(first), int(last)) for hour, first, last in rows}
