"""The realism audit: every configured quantity against what the data shows, in the order
the page shows them (the checks themselves are in ``*_checks.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fauxsim.report.behaviour_checks import behaviour_checks
from fauxsim.report.order_checks import lifecycle_checks, order_checks
from fauxsim.report.traffic_checks import audience_checks, traffic_checks

if TYPE_CHECKING:
    from fauxsim.report.checks import Check
    from fauxsim.report.reading import Dataset
    from fauxsim.scenario.model import Scenario


def run_audit(scenario: Scenario, dataset: Dataset) -> list[Check]:
    """Every check of the audit, in the order the page shows them."""
    return [
        *traffic_checks(scenario, dataset),
        *audience_checks(scenario, dataset),
        *behaviour_checks(scenario, dataset),
        *order_checks(scenario, dataset),
        *lifecycle_checks(scenario, dataset),
    ]
