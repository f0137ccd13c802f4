"""Visitors: their kinds, carts and names (who comes back: test_returning.py)."""

from __future__ import annotations

from collections import Counter

import pytest

from fauxsim.errors import ScenarioError
from fauxsim.randomness import Purpose, stream
from fauxsim.simulation.audience import Cart, CartLine, VisitorKinds
from fauxsim.simulation.identities import Identities, ascii_name

KINDS = VisitorKinds(
    {"mobile": 2, "desktop": 1, "tablet": 1},
    {"chrome": 1, "safari": 1, "edge": 1},
    {"US": 1, "CA": 1, "MX": 1},
)


def test_customers_get_names_and_a_unique_email_from_their_bits():
    """Names come from the customer's own bits; a number keeps emails unique when the same
    address comes up again, and only then; every domain is under the reserved .example."""
    identities = Identities(seed=3)
    first, second = (
        identities.customer(1, 987_654_321, "US"),
        identities.customer(2, 987_654_321, "US"),
    )
    assert (first.first_name, first.last_name) == (second.first_name, second.last_name)
    assert first.email != second.email
    local, domain = first.email.split("@")
    assert second.email == f"{local}2@{domain}"
    assert domain.endswith(".example")


def test_every_name_in_an_address_has_a_letter():
    """A name of digits alone would make `anna_1990` of the shape first_last, the form of a
    shard's numbers (test_shards.py): none does."""
    assert ascii_name("1990") == ascii_name("佐藤") == ""
    assert ascii_name("Müller") == "mueller"
    assert ascii_name("Anna-Lena2") == "annalena2"


def test_visitor_kinds_follow_the_three_mixes():
    """Device, browser and country shares of new visitors follow their configured weights."""
    draw = stream(4, Purpose.SESSION, 0).random
    kinds = [KINDS.described[KINDS.pick(draw)] for _ in range(30_000)]
    devices = Counter(device for device, _, _ in kinds)
    countries = Counter(country for _, _, country in kinds)
    assert devices["mobile"] / len(kinds) == pytest.approx(0.5, abs=0.015)
    assert countries["MX"] / len(kinds) == pytest.approx(1 / 3, abs=0.015)


def test_kinds_with_a_zero_weight_never_appear():
    """A device, browser or country weighted 0 makes no kind of visitor."""
    kinds = VisitorKinds({"mobile": 1, "tv": 0}, {"chrome": 1}, {"US": 1, "FR": 0})
    assert kinds.described == [("mobile", "chrome", "US")]


def test_too_many_kinds_of_visitor_is_a_scenario_error():
    """An audience whose mixes multiply beyond what the pool can number is refused."""
    many = {f"c{n}": 1.0 for n in range(300)}
    with pytest.raises(ScenarioError, match="make 90000 kinds of visitor; at most 65536"):
        VisitorKinds({"mobile": 1}, many, many)


def test_a_product_added_again_after_removal_gets_a_new_line_in_its_place():
    """A cart keeps one line per product, in first-added order; a removed one is replaced."""
    cart = Cart(1, session_id=1)
    first, second = (
        CartLine(1, product_id=10, quantity=1, unit_price_cents=500),
        CartLine(2, product_id=20, quantity=2, unit_price_cents=300),
    )
    cart.add(first)
    cart.add(second)
    assert cart.live_line(10) is first
    first.removed = True
    assert cart.live_line(10) is None
    assert cart.live_lines() == [second]
    again = CartLine(3, product_id=10, quantity=4, unit_price_cents=450)
    cart.add(again)
    assert cart.lines == [again, second]
