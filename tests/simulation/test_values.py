"""Values that look real (#18 items 12-14): price endings, names and identifiers, and the
price an order line is charged. Each test fails on the data as it was before."""

from __future__ import annotations

from collections import Counter
from functools import cache

from fauxsim.events import PRODUCT_ID, PROPERTIES, TYPE, EventType
from fauxsim.scenario.model import Scenario
from fauxsim.simulation.catalog import build_catalog
from tests.simulation.helpers import Output, collect, small_scenario

# ----------------------------------------------------------------- price endings (item 12)


def test_generated_prices_end_in_a_realistic_mix_of_endings():
    """Not 95-99% .99: about four in ten end in .99, the rest spread over .95, .00, .49,
    .90 and more, at least eight endings in all."""
    scenario = small_scenario(catalog={"generate": {"count": 600}})
    prices = [p.price_cents for p in build_catalog(scenario).products if p.price_cents >= 100]
    endings = Counter(price % 100 for price in prices)
    assert 0.3 < endings[99] / len(prices) < 0.5, endings
    assert len(endings) >= 8, endings
    assert endings[0] + endings[95] + endings[49] > 0.2 * len(prices), endings


@cache
def repriced_run() -> Output:
    """A run with a category sale and a dearer product, both undone before the end."""
    return collect(
        small_scenario(
            catalog={
                "generate": {"count": 40},
                "categories": ["home", "toys"],
                "price_changes": [
                    {"at": "2024-03-02", "until": "2024-03-03", "percent": -15, "category": "home"},
                    {"at": "2024-03-02", "percent": 12.5, "category": "toys"},
                ],
            }
        )
    )


def test_price_changes_keep_each_products_ending():
    """A product priced $24.95 on sale is $21.95, not $21.21: every changed price ends as
    the product's list price did, and an undone change returns to the exact price."""
    run = repriced_run()
    first: dict[int, int] = {}
    changed = 0
    for event in run.events:
        props = event[PROPERTIES]
        if event[TYPE] == EventType.PRODUCT_CREATED:
            first[event[PRODUCT_ID]] = props["price_cents"]
        elif event[TYPE] == EventType.PRODUCT_PRICE_CHANGED:
            changed += 1
            original = first[event[PRODUCT_ID]]
            if props["price_cents"] >= 100 and original >= 100:
                assert props["price_cents"] % 100 == original % 100, (original, props)
            if props["reason"] == "price_change_end":
                assert props["price_cents"] == original
    assert changed > 40


def test_explicit_prices_are_kept_and_their_ending_survives_a_change():
    """A product the scenario prices at 24.90 lists at 24.90; 20% off, it is 19.90."""
    scenario = Scenario.model_validate(
        small_scenario().model_dump()
        | {"catalog": {"products": [{"name": "Mug", "category": "home", "price": 24.9}]}}
    )
    product = build_catalog(scenario).products[0]
    assert product.price_cents == 2490
    assert product.reprice(0.8) == 1990
    assert product.reprice(1 / 0.8) == 2490
