"""The customers imported at the start: sign-ups in the shop's busy hours, and the order
history a migration carries (#18 item 10)."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from functools import cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from fauxsim.clock import DAY
from fauxsim.events import CUSTOMER_ID, OCCURRED_AT, PROPERTIES, TYPE
from tests.simulation.helpers import collect, small_scenario

if TYPE_CHECKING:
    from typing import Any

    from tests.simulation.helpers import Output

ZONE = "Asia/Tokyo"
HOURLY = [1.0] * 7 + [4.0] * 12 + [2.0] * 5  # busy from 07:00 to 19:00, local time
WEEKDAYS = [1.0, 1.0, 1.0, 1.0, 1.0, 3.0, 3.0]  # busy at the weekend
PER_YEAR = 3.0


@cache
def shop() -> Output:
    return collect(
        small_scenario(
            end="2024-03-02",
            timezone=ZONE,
            traffic={
                "sessions_per_day": 200,
                "hourly_weights": HOURLY,
                "weekday_weights": WEEKDAYS,
                "daily_noise": 0.0,
            },
            audience={"existing_customers": 8000, "existing_orders_per_year": PER_YEAR},
        )
    )


def imports() -> list[tuple[dt.datetime, dict[str, Any]]]:
    """(local sign-up time, properties) of each imported customer's signed_up."""
    zone = ZoneInfo(ZONE)
    return [
        (dt.datetime.fromtimestamp(event[OCCURRED_AT] / 1e6, zone), event[PROPERTIES])
        for event in shop().events
        if event[TYPE] == "signed_up" and event[PROPERTIES]["source"] == "import"
    ]


def _shares_hold(counts: Counter[int], weights: list[float]) -> None:
    total = sum(counts.values())
    for key, weight in enumerate(weights):
        expected = weight / sum(weights)
        sigma = math.sqrt(expected * (1 - expected) / total)
        assert abs(counts[key] / total - expected) < 4 * sigma + 0.005, (key, counts, expected)


def test_imported_customers_sign_up_in_the_shops_local_hours_and_weekdays():
    signed = imports()
    assert len(signed) == 8000
    _shares_hold(Counter(moment.hour for moment, _ in signed), HOURLY)
    _shares_hold(Counter(moment.weekday() for moment, _ in signed), WEEKDAYS)


def test_imported_customers_signed_up_over_the_year_before_the_start():
    start = dt.datetime(2024, 3, 1, tzinfo=ZoneInfo(ZONE))
    moments = [moment for moment, _ in imports()]
    assert max(moments) < start
    assert min(moments) >= start - dt.timedelta(days=365)
    assert min(moments) < start - dt.timedelta(days=350)


def test_imported_customers_carry_orders_by_the_age_of_their_account():
    """orders_before is Poisson with existing_orders_per_year x the account's age; what
    they spent is there exactly when they ordered."""
    start = dt.datetime(2024, 3, 1, tzinfo=ZoneInfo(ZONE))
    years = orders = 0.0
    for moment, properties in imports():
        years += (start - moment).total_seconds() * 1e6 / (365.25 * DAY)
        orders += properties["orders_before"]
        assert (properties["spent_before_cents"] > 0) == (properties["orders_before"] > 0)
    assert abs(orders / years - PER_YEAR) < 4 * math.sqrt(orders) / years
    repeat = sum(1 for _, p in imports() if p["orders_before"] >= 2) / len(imports())
    assert 0.2 < repeat < 0.8


def test_the_customer_table_counts_the_imported_history():
    customers = shop().final("customers")
    for event in shop().events:
        if event[TYPE] == "signed_up" and event[PROPERTIES]["source"] == "import":
            customer = customers[event[CUSTOMER_ID]]
            assert customer["orders_count"] >= event[PROPERTIES]["orders_before"]
            assert customer["total_spent_cents"] >= event[PROPERTIES]["spent_before_cents"]


def test_no_history_when_the_scenario_says_none():
    output = collect(small_scenario(end="2024-03-01T06:00", audience={
        "existing_customers": 300, "existing_orders_per_year": 0}))  # fmt: skip
    histories = {
        (event[PROPERTIES]["orders_before"], event[PROPERTIES]["spent_before_cents"])
        for event in output.events
        if event[TYPE] == "signed_up" and event[PROPERTIES]["source"] == "import"
    }
    assert histories == {(0, 0)}
