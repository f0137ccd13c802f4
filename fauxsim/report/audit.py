"""The realism audit: every configured quantity against what the data shows.

Each :class:`Check` holds a configured value, the measured one, the sample it was measured
on and the tolerance chance allows (see ``stats.py``); it passes when the two lie within
the tolerance. A check with nothing to measure (no orders shipped yet) is neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fauxsim.report.reading import Dataset
    from fauxsim.scenario.model import Scenario


class Unit(StrEnum):
    """How a check's values are shown."""

    SHARE = "share"  # 0.123 → 12.3%
    COUNT = "count"
    TIMES = "times"  # a multiplier, x4.0
    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"
    RATE = "rate"  # a fraction shown with more digits (tax rate)


class Verdict(StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    FAIL = "fail"
    NO_DATA = "no data"


@dataclass(frozen=True, slots=True)
class Check:
    section: str  # traffic, audience, funnel, orders, lifecycle
    name: str  # what is checked, e.g. "cart → checkout (base)"
    configured: float
    measured: float | None  # None when there was nothing to measure
    tolerance: float  # how far measured may lie from configured
    sample: int  # how many sessions, visits or orders it was measured on
    unit: Unit = Unit.SHARE
    note: str = ""  # how configured was derived, or an allowance explained

    @property
    def verdict(self) -> Verdict:
        if self.measured is None or self.sample == 0:
            return Verdict.NO_DATA
        if abs(self.measured - self.configured) <= self.tolerance:
            return Verdict.PASS
        return Verdict.FAIL


def run_audit(scenario: Scenario, dataset: Dataset) -> list[Check]:
    """Every check of the audit, in the order the page shows them."""
    from fauxsim.report.behaviour_checks import behaviour_checks  # noqa: PLC0415
    from fauxsim.report.order_checks import lifecycle_checks, order_checks  # noqa: PLC0415
    from fauxsim.report.traffic_checks import audience_checks, traffic_checks  # noqa: PLC0415

    return [
        *traffic_checks(scenario, dataset),
        *audience_checks(scenario, dataset),
        *behaviour_checks(scenario, dataset),
        *order_checks(scenario, dataset),
        *lifecycle_checks(scenario, dataset),
    ]


def failures(checks: list[Check]) -> list[Check]:
    return [check for check in checks if check.verdict is Verdict.FAIL]
