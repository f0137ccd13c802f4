"""A check of the realism audit: a configured quantity against what the data shows.

Each :class:`Check` holds a configured value, the measured one, the sample it was measured
on and the tolerance chance allows (see ``stats.py``); it passes when the two lie within
the tolerance. A check with nothing to measure (no orders shipped yet) is neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fauxsim.report.stats import share_tolerance


class Unit(StrEnum):
    """How a check's values are shown."""

    SHARE = "share"  # 0.123 → 12.3%
    COUNT = "count"
    TIMES = "times"  # a multiplier, x4.0
    SECONDS = "seconds"
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


def mix_checks(
    section: str, label: str, weights: dict[str, float], counts: dict[str | None, int], total: int
) -> list[Check]:
    """One check per configured name (and per name found but not configured)."""
    weight_sum = sum(weights.values())
    names = list(weights) + sorted(str(name) for name in counts if name not in weights)
    checks = []
    for name in names:
        p = weights.get(name, 0.0) / weight_sum
        measured = counts.get(name, 0) / total if total else None
        checks.append(
            Check(section, f"{label} {name}", p, measured, share_tolerance(p, total), total)
        )
    return checks


def failures(checks: list[Check]) -> list[Check]:
    return [check for check in checks if check.verdict is Verdict.FAIL]
