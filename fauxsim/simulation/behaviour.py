"""Behaviour compiled per kind of session: base settings with segment and event overrides."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING

from fauxsim.scenario.model import BehaviourOverride, PageState, merge_funnel
from fauxsim.simulation.labels import page
from fauxsim.simulation.sampling import sampler

if TYPE_CHECKING:
    from fauxsim.scenario.model import Scenario
    from fauxsim.simulation.sampling import Sampler

# From one page: cumulative probabilities of the next pages, and the pages themselves
# with one more slot, None, for leaving: what the probabilities leave over up to 1 is
# the chance to leave. After a uniform draw u the next page is
# ``targets[bisect_right(cumulative, u)]`` (inlined in the session loop).
Moves = tuple[list[float], list[str | None]]


def moves(probabilities: dict[PageState, float]) -> Moves:
    """The moves from one page, with pages as ``labels`` strings."""
    return list(accumulate(probabilities.values())), [*map(page, probabilities), None]


def product_moves(probabilities: dict[PageState, float]) -> Moves:
    """The moves from a product page, the cart first: the walk scales its chance by the
    product's price and the visit's basket, and reads it as ``cumulative[0]``."""
    cart = (
        {PageState.CART: probabilities[PageState.CART]} if PageState.CART in probabilities else {}
    )
    return moves({**cart, **probabilities})


@dataclass(frozen=True, slots=True)
class SessionBehaviour:
    """What one session does at each page; shared by every session of the same kind.

    On a product page the chance to go to the cart is ``cart`` times the product's
    ``cart_factor``, at most ``product_room`` (what the page's other moves leave); once
    the visit has added to its cart, ``basket_cart``.
    """

    moves: dict[str, Moves]  # by page (``labels``)
    add_quantity: Sampler
    coupon_probability: float
    cart: float
    basket_cart: float
    product_room: float


class BehaviourBook:
    """Compiles and caches the behaviour of each (segment rules, active events) combination."""

    def __init__(self, scenario: Scenario) -> None:
        self._scenario = scenario
        self._cache: dict[tuple[tuple[int, ...], tuple[int, ...]], SessionBehaviour] = {}
        self._by_kind: dict[tuple[str, str, bool, tuple[int, ...]], SessionBehaviour] = {}

    def for_session(
        self, device: str, channel: str, returning: bool, active: tuple[int, ...]
    ) -> SessionBehaviour:
        """The behaviour of a session, given the positions of the calendar events active."""
        # Sessions of one kind share a compiled behaviour: look it up by what defines it.
        quick_key = (device, channel, returning, active)
        compiled = self._by_kind.get(quick_key)
        if compiled is not None:
            return compiled
        segment = "returning" if returning else "new"
        rules = tuple(
            number
            for number, rule in enumerate(self._scenario.behaviour.segments)
            if (rule.device is None or rule.device == device)
            and (rule.channel is None or rule.channel == channel)
            and (rule.visitor is None or rule.visitor == segment)
        )
        key = (rules, active)
        compiled = self._cache.get(key)
        if compiled is None:
            compiled = self._cache[key] = self._compile(rules, active)
        self._by_kind[quick_key] = compiled
        return compiled

    def _compile(self, rules: tuple[int, ...], events: tuple[int, ...]) -> SessionBehaviour:
        base = self._scenario.behaviour
        overrides: list[BehaviourOverride] = [base.segments[number].behaviour for number in rules]
        overrides += [self._scenario.traffic.calendar[number].behaviour for number in events]
        funnel = {state: dict(targets) for state, targets in base.funnel.items()}
        add_quantity = base.cart.add_quantity
        coupon_probability = self._scenario.orders.coupon_probability
        for override in overrides:
            funnel = merge_funnel(funnel, override.funnel)
            add_quantity = override.add_to_cart_quantity or add_quantity
            if override.coupon_probability is not None:
                coupon_probability = override.coupon_probability
        compiled = {page(state): moves(funnel.get(state, {})) for state in PageState}
        from_product = funnel.get(PageState.PRODUCT, {})
        compiled[page(PageState.PRODUCT)] = product_moves(from_product)
        cart = from_product.get(PageState.CART, 0.0)
        room = 1.0 - (sum(from_product.values()) - cart)
        return SessionBehaviour(
            compiled,
            sampler(add_quantity),
            coupon_probability,
            cart=cart,
            basket_cart=min(room, cart * base.cart.basket_factor),
            product_room=room,
        )
