"""Price and the cart, and who comes back (#18 items 3 and 5), on small simulated runs."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

from fauxsim.scenario.model import CartBehaviour
from fauxsim.simulation.catalog import build_catalog
from fauxsim.simulation.price_response import MAX_UNITS_FACTOR, price_response
from tests.simulation.helpers import collect, small_scenario


def test_each_category_keeps_the_funnels_cart_chance_on_average():
    """Cart factors average 1 over a category's products weighted by popularity (as
    product pages are picked), cheaper ones higher; cheap ones add more units, up to 4x."""
    catalog = build_catalog(small_scenario(catalog={"generate": {"count": 60}}))
    price_response(catalog, CartBehaviour(price_sensitivity=0.8, quantity_price_sensitivity=1))
    by_category = defaultdict(list)
    for product in catalog.products:
        by_category[product.category].append(product)
    for products in by_category.values():
        total = sum(p.popularity for p in products)
        mean = sum(p.popularity * p.cart_factor for p in products) / total
        assert math.isclose(mean, 1.0)
        ordered = sorted(products, key=lambda p: p.base_price_cents)
        factors = [p.cart_factor for p in ordered]
        assert factors == sorted(factors, reverse=True)
        assert all(1 <= p.units_factor <= MAX_UNITS_FACTOR for p in products)
        assert ordered[0].units_factor >= ordered[-1].units_factor


def test_price_plays_no_part_at_sensitivity_zero():
    catalog = build_catalog(small_scenario())
    price_response(catalog, CartBehaviour(price_sensitivity=0, quantity_price_sensitivity=0))
    assert {(p.cart_factor, p.units_factor) for p in catalog.products} == {(1.0, 1.0)}


def _returning_sessions(share: float) -> Counter[bool]:
    """Returning sessions, by whether their visitor had an account when the visit began."""
    output = collect(small_scenario(end="2024-03-15", audience={"customer_return_share": share}))
    signed_up = {row["visitor_id"]: row["created_at"] for row in output.final("customers").values()}
    return Counter(
        row["visitor_id"] in signed_up and signed_up[row["visitor_id"]] < row["started_at"]
        for row in output.final("sessions").values()
        if row["is_returning"]
    )


def test_customers_get_their_share_of_the_returning_visits():
    """At share 0 customers come back only when no anonymous visitor can (none here); at
    0.5 and 1 they take the turns given them whenever a customer left about the gap drawn
    ago (``ReturningPool.take``, strict): 39% and 67% here, where in two weeks few
    customers are due at a time."""
    counts = {share: _returning_sessions(share) for share in (0.0, 0.5, 1.0)}
    customers = {share: c[True] / c.total() for share, c in counts.items()}
    assert customers[0.0] < 0.15
    assert 0.3 < customers[0.5] < 0.6
    assert customers[1.0] > max(0.6, customers[0.5] + 0.15)
    # As many returning visits whichever way they are shared: returning_share holds.
    assert len({c.total() for c in counts.values()}) == 1
