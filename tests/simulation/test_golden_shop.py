"""A golden shop: a run rich enough to hold every order status, multi-unit lines, coupons
and orders over and under the free-shipping threshold, its business tables stored as
snapshots.

`test_golden_output.py` pins a tiny run's every table, events included; its four orders are
one unit each, under the threshold, all `paid`. This one pins the rules of money and status
on many orders (the issue that asked for it: #18, "Tests that pin what the data means").
When the data changes on purpose, review the diff and refresh with `pytest --snapshot-update`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
import pytest

from fauxsim.events import OrderStatus
from fauxsim.runner import run_into
from fauxsim.sinks.base import open_sink
from tests.simulation.helpers import small_scenario

if TYPE_CHECKING:
    from pathlib import Path

# The tables where the shop's rules show: money, units, statuses, a customer's totals.
BUSINESS_TABLES = ("orders", "order_line_items", "customers")


def golden_shop():
    return small_scenario(
        name="golden_shop",
        end="2024-03-15",
        traffic={"sessions_per_day": 130},
        audience={"existing_customers": 20},
        catalog={"generate": {"count": 12}},
        orders={
            "shipping": {"flat_fee": 5.0, "free_over": 50.0},
            "tax_rate": 0.08,
            "coupon_probability": 0.3,
            "coupons": [{"code": "TEN", "percent_off": 10}, {"code": "HALF", "percent_off": 50}],
            "payment_failure_probability": 0.1,
            "lifecycle": {
                "cancel_probability": 0.3,
                "return_probability": 0.3,
                # Returns within two weeks of a shop that delivers in working hours; slow
                # refunds: some cancellations and returns end the run not yet refunded.
                "return_delay_days": {"type": "lognormal", "median": 3, "sigma": 0.5},
                "refund_delay_days": {"type": "lognormal", "median": 5, "sigma": 0.5},
            },
        },
        behaviour={"cart": {"add_quantity": {"type": "uniform", "low": 1, "high": 3}}},
    )


@pytest.fixture(scope="module")
def shop_output(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("golden_shop")
    run_into(open_sink("jsonl", folder), golden_shop())
    return folder


def _rows(folder: Path, table: str) -> list[dict]:
    return [orjson.loads(line) for line in (folder / f"{table}.jsonl").read_bytes().splitlines()]


def test_the_golden_shop_holds_every_case_it_pins(shop_output: Path):
    """Every order status, a multi-unit line, a coupon and free shipping both ways: a
    snapshot without them would let a rule about them change unseen."""
    latest = {row["order_id"]: row for row in _rows(shop_output, "orders")}
    orders = list(latest.values())
    # `placed` lasts only until payment, seconds later: no order ends a run in it.
    assert {order["status"] for order in orders} >= set(OrderStatus) - {OrderStatus.PLACED}
    assert any(order["coupon_code"] for order in orders)
    assert any(not order["coupon_code"] for order in orders)
    assert any(order["shipping_cents"] == 0 for order in orders)
    assert any(order["shipping_cents"] > 0 for order in orders)
    assert any(line["quantity"] > 1 for line in _rows(shop_output, "order_line_items"))


@pytest.mark.parametrize("table", BUSINESS_TABLES)
def test_business_tables_match_their_snapshots(shop_output: Path, table: str, snapshot):
    """The JSONL file of each business table is exactly the stored one."""
    assert (shop_output / f"{table}.jsonl").read_text() == snapshot
