"""How price shapes a basket: cheap products are added more often, and in more units.

Each product gets two factors, fixed for the run from its list price at the start and
its category's typical price (the popularity-weighted geometric mean, what its visitors
see most): ``cart_factor`` multiplies the funnel's product → cart chance on its page,
``units_factor`` the units added at once. The cart factors of a category are scaled so
that their popularity-weighted mean is 1: product pages are picked by popularity within
a category whatever the way there (category page, search, any product), so the funnel's
product → cart chance holds on average over views, as configured and audited.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fauxsim.scenario.model import CartBehaviour
    from fauxsim.simulation.catalog import Catalog, Product

# Most units a cheap product's add is multiplied by.
MAX_UNITS_FACTOR = 4.0
# Weight of a product with popularity 0 (as the catalog's pickers give it).
_TINY = 1e-9


def price_response(catalog: Catalog, cart: CartBehaviour) -> None:
    """Set every product's ``cart_factor`` and ``units_factor`` from its price."""
    by_category: dict[str, list[Product]] = {}
    for product in catalog.products:
        by_category.setdefault(product.category, []).append(product)
    for products in by_category.values():
        weights = [product.popularity or _TINY for product in products]
        total = sum(weights)
        # A price that rounds to 0 minor units (0.001 USD) counts as 1.
        prices = [max(1, product.base_price_cents) for product in products]
        typical = math.exp(
            sum(w * math.log(price) for w, price in zip(weights, prices, strict=True)) / total
        )
        raw = [(price / typical) ** -cart.price_sensitivity for price in prices]
        mean = sum(w * f for w, f in zip(weights, raw, strict=True)) / total
        for product, price, factor in zip(products, prices, raw, strict=True):
            product.cart_factor = factor / mean
            units = (typical / price) ** cart.quantity_price_sensitivity
            product.units_factor = min(MAX_UNITS_FACTOR, max(1.0, units))
