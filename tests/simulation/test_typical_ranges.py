"""The bundled scenarios look like real shops on ordinary days (#18 items 3, 4, 5, 7).

Each runs for two to three weeks without calendar events (about 15,000 to 45,000
sessions: a few seconds each), and its figures must lie in the ranges industry
benchmarks give (README, "How realistic is the data?"): conversion 1-4% of sessions,
5-12% of sessions adding to the cart, 25-55% bouncing, 2-6 minutes a session; mobile
converting about half as well as desktop, returning visitors two to three times as well
as new ones; baskets of several lines, cheap products in more units.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest

from fauxsim import events
from fauxsim.clock import MINUTE
from fauxsim.scenario.bundled import bundled_folder
from fauxsim.scenario.loading import load_scenario
from tests.simulation.helpers import collect

# (start, end) of an ordinary stretch of each bundled scenario: no calendar event, no
# price change of its own.
WINDOWS = {
    "black_friday": ("2024-11-01", "2024-11-15"),
    "steady_state": ("2025-03-03", "2025-03-24"),
    "flash_sale": ("2025-03-03", "2025-03-17"),  # the sale's sessions are left out below
    "live_shop": ("2026-01-05", "2026-01-26"),
}

# The event columns read here, by their names in fauxsim.events.
TYPE, OCCURRED, SESSION, PAGE, PRODUCT, QUANTITY, PROPERTIES = (
    events.TYPE, events.OCCURRED_AT, events.SESSION_ID, events.PAGE, events.PRODUCT_ID,
    events.QUANTITY, events.PROPERTIES,
)  # fmt: skip


@dataclass(frozen=True)
class Figures:
    sessions: int
    conversion: float
    add_to_cart: float
    bounce: float
    minutes: float  # mean, first to last activity (a one-page visit: 0)
    mobile_vs_desktop: float  # conversion ratio
    returning_vs_new: float  # conversion ratio
    lines_per_order: float
    units_per_order: float
    units_per_line_cheap: float  # lines of the cheapest quarter of the products
    units_per_line_dear: float  # lines of the dearest quarter
    adds_per_view_cheap: float  # added_to_cart per product_viewed, cheapest quarter
    adds_per_view_dear: float


@cache
def figures(name: str) -> Figures:
    start, end = WINDOWS[name]
    scenario = load_scenario(bundled_folder() / f"{name}.yaml", [f"start={start}", f"end={end}"])
    output = collect(scenario)
    started: dict[int, dict[str, Any]] = {}
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    carted: set[int] = set()
    views: Counter[int] = Counter()
    adds: Counter[int] = Counter()
    for event in output.events:
        session = event[SESSION]
        if session is None or event[PAGE] is None:
            continue  # not a visit's activity (the order's later life, session_ended)
        if event[TYPE] == "session_started":
            started[session] = event[PROPERTIES]
            first[session] = event[OCCURRED]
        last[session] = event[OCCURRED]
        if event[TYPE] == "added_to_cart":
            carted.add(session)
            adds[event[PRODUCT]] += 1
        elif event[TYPE] == "product_viewed":
            views[event[PRODUCT]] += 1
    ordinary = {s for s, props in started.items() if not props["calendar_events"]}
    sessions = {
        s: row for s, row in output.final("sessions").items() if s in ordinary and row["ended_at"]
    }
    orders = [o for o in output.final("orders").values() if o["session_id"] in sessions]
    converted = {o["session_id"] for o in orders}
    by_kind: dict[str, Counter[bool]] = defaultdict(Counter)
    for s, row in sessions.items():
        for kind in (row["device"], "returning" if row["is_returning"] else "new"):
            by_kind[kind][s in converted] += 1

    def rate(kind: str) -> float:
        return by_kind[kind][True] / (by_kind[kind][True] + by_kind[kind][False])

    order_ids = {o["order_id"] for o in orders}
    lines = [line for line in output.final("order_line_items").values()
             if line["order_id"] in order_ids]  # fmt: skip
    products = output.final("products")
    prices = sorted(p["price_cents"] for p in products.values())
    low, high = prices[len(prices) // 4], prices[len(prices) * 3 // 4]
    cheap = [
        line["quantity"] for line in lines if products[line["product_id"]]["price_cents"] < low
    ]
    dear = [
        line["quantity"] for line in lines if products[line["product_id"]]["price_cents"] > high
    ]

    def adds_per_view(ids: list[int]) -> float:
        return sum(adds[i] for i in ids) / sum(views[i] for i in ids)

    n = len(sessions)
    return Figures(
        sessions=n,
        conversion=len(converted) / n,
        add_to_cart=len(carted & sessions.keys()) / n,
        bounce=sum(row["page_views"] == 1 for row in sessions.values()) / n,
        minutes=sum(last[s] - first[s] for s in sessions) / n / MINUTE,
        mobile_vs_desktop=rate("mobile") / rate("desktop"),
        returning_vs_new=rate("returning") / rate("new"),
        lines_per_order=len(lines) / len(orders),
        units_per_order=sum(line["quantity"] for line in lines) / len(orders),
        units_per_line_cheap=sum(cheap) / len(cheap),
        units_per_line_dear=sum(dear) / len(dear),
        adds_per_view_cheap=adds_per_view(
            [i for i, p in products.items() if p["price_cents"] < low]
        ),
        adds_per_view_dear=adds_per_view(
            [i for i, p in products.items() if p["price_cents"] > high]
        ),
    )


@pytest.fixture(params=sorted(WINDOWS))
def shop(request: pytest.FixtureRequest) -> Figures:
    return figures(request.param)


def test_the_window_is_long_enough_to_be_stable(shop: Figures):
    assert shop.sessions >= 10_000


def test_a_few_percent_of_sessions_convert(shop: Figures):
    assert 0.01 <= shop.conversion <= 0.04


def test_one_session_in_ten_or_so_adds_to_the_cart(shop: Figures):
    assert 0.05 <= shop.add_to_cart <= 0.12


def test_a_third_to_a_half_of_sessions_bounce(shop: Figures):
    assert 0.25 <= shop.bounce <= 0.55


def test_sessions_last_a_few_minutes(shop: Figures):
    assert 2 <= shop.minutes <= 6


def test_mobile_converts_about_half_as_well_as_desktop(shop: Figures):
    assert 0.35 <= shop.mobile_vs_desktop <= 0.7


def test_returning_visitors_convert_two_to_three_times_as_well_as_new_ones(shop: Figures):
    # 2-3 by the benchmarks; a little more room for a few hundred orders' noise.
    assert 1.9 <= shop.returning_vs_new <= 3.3


def test_orders_hold_several_lines_and_units(shop: Figures):
    assert 1.3 <= shop.lines_per_order <= 2.5
    assert 1.8 <= shop.units_per_order <= 3.5


def test_cheap_products_are_bought_in_more_units(shop: Figures):
    assert shop.units_per_line_cheap > 1.15 * shop.units_per_line_dear


def test_cheap_products_are_added_to_the_cart_more_often_per_view(shop: Figures):
    """Dear products are viewed more than they are bought (cart.price_sensitivity)."""
    assert shop.adds_per_view_cheap > 1.5 * shop.adds_per_view_dear
