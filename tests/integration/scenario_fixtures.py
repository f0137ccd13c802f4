"""Scenarios for the Postgres integration tests: small, but with every quirk on."""

from __future__ import annotations

from typing import Any

from fauxsim.scenario.model import Scenario


def quirky_scenario(**changes: Any) -> Scenario:
    """Three days of a small shop with duplicate, late and null events."""
    base: dict[str, Any] = {
        "name": "integration",
        "seed": 11,
        "start": "2024-03-01",
        "end": "2024-03-04",
        "traffic": {"sessions_per_day": 600},
        "audience": {"existing_customers": 50},
        "catalog": {"generate": {"count": 30}},
        "quirks": {
            "duplicate_events": 0.01,
            "late_arrivals": {"probability": 0.02},
            "null_fields": 0.02,
        },
    }
    base.update(changes)
    return Scenario.model_validate(base)


def stream_scenario(**changes: Any) -> Scenario:
    """Two days of the quirky shop (~8,000 events, duplicates and late arrivals): a quick stream."""
    return quirky_scenario(**{"name": "stream", "end": "2024-03-03", **changes})
