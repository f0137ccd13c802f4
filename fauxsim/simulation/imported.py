"""The customers imported at the start (``audience.existing_customers``, #18 item 10): when
they signed up, and the orders they had placed before the data begins.

Their sign-ups are spread over the year before the start as the shop's sessions are: each
UTC hour weighs what the traffic curves expect then (local hour of day, weekday, growth,
calendar), so imports sign up in the shop's busy hours, not evenly round the clock.

Their history comes as a shop migration carries it: counts and sums on the account, not
the orders themselves. Each imported customer's ``signed_up`` event says how many orders
they had placed (``orders_before``, Poisson with ``existing_orders_per_year`` times their
account's age in years) and what those came to (``spent_before_cents``: each order one
unit of a product drawn by popularity, at its list price, with the shop's shipping and tax
rules). The projector starts their ``orders_count`` and ``total_spent_cents`` from those,
so the tables stay a fold of the events.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

from fauxsim.clock import DAY, HOUR
from fauxsim.currency import to_minor
from fauxsim.simulation.orders import order_totals

if TYPE_CHECKING:
    from collections.abc import Callable

    from fauxsim.randomness import Uniform
    from fauxsim.scenario.model import Scenario
    from fauxsim.simulation.catalog import Catalog
    from fauxsim.simulation.choice import WeightedChoice

# How far back the existing customers' sign-ups reach before the scenario starts.
HISTORY = 365 * DAY
_YEAR = 365.25 * DAY


def signup_moments(
    hours: Callable[[int, int], WeightedChoice[int]], start: int, count: int, draw: Uniform
) -> list[int]:
    """``count`` sign-up moments in the year before ``start``, in order: an hour drawn by
    its expected sessions (``hours(first, stop)``: the hours from ``first`` to ``stop``
    weighted so, ``TrafficModel.hours_by_expected``), a moment uniform within it."""
    if count == 0:
        return []
    first = start - HISTORY
    choice = hours(first - first % HOUR, start)
    return sorted(
        min(start - 1, max(first, choice.pick(draw) + int(draw() * HOUR))) for _ in range(count)
    )


class History(NamedTuple):
    """What an imported customer had ordered before the start."""

    orders: int
    spent_cents: int


class Histories:
    """Draws imported customers' order histories (see the module's docstring)."""

    def __init__(self, scenario: Scenario, catalog: Catalog) -> None:
        orders, currency = scenario.orders, scenario.currency
        self._per_year = scenario.audience.existing_orders_per_year
        self._products = catalog.any_product
        self._flat_fee = to_minor(orders.shipping.flat_fee, currency)
        free_over = orders.shipping.free_over
        self._free_over = None if free_over is None else to_minor(free_over, currency)
        self._tax_rate = orders.tax_rate

    def of(self, signed_up_at: int, start: int, draw: Uniform) -> History:
        """The history of a customer who signed up at ``signed_up_at``, ``start`` the start."""
        mean = self._per_year * (start - signed_up_at) / _YEAR
        count = _poisson(mean, draw) if mean > 0 else 0
        spent = 0
        for _ in range(count):
            price = self._products.pick(draw).base_price_cents
            *_, total = order_totals(
                [price], 0.0, flat_fee=self._flat_fee, free_over=self._free_over,
                tax_rate=self._tax_rate,
            )  # fmt: skip
            spent += total
        return History(count, spent)


def _poisson(mean: float, draw: Uniform) -> int:
    """A Poisson count by inversion: one draw, then as many steps as the count."""
    u = draw()
    count = 0
    term = total = math.exp(-mean)
    while u > total and term > 0:
        count += 1
        term *= mean / count
        total += term
    return count
