"""The returning-visitor pool: who comes back, and what it remembers of them."""

from __future__ import annotations

from collections import Counter

import pytest

from fauxsim.clock import DAY, HOUR
from fauxsim.errors import ScenarioError
from fauxsim.randomness import Purpose, stream
from fauxsim.simulation import audience
from fauxsim.simulation.audience import (
    Cart,
    CartLine,
    ReturningPool,
    Visitor,
    VisitorKinds,
)
from fauxsim.simulation.identities import Identities
from tests.simulation.helpers import switch_compiled


@pytest.fixture(autouse=True, params=["compiled queue", "python heap"])
def pool_queue(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs with the pool's compiled queue (_visit.c) and its Python twin."""
    compiled = request.param == "compiled queue"
    switch_compiled(audience, compiled, monkeypatch, "the compiled queue")
    return str(request.param)


KINDS = VisitorKinds(
    {"mobile": 2, "desktop": 1, "tablet": 1},
    {"chrome": 1, "safari": 1, "edge": 1},
    {"US": 1, "CA": 1, "MX": 1},
)


def visitor(
    visitor_id: int,
    kind: tuple[str, str, str] = ("mobile", "chrome", "US"),
    customer_id: int | None = None,
) -> Visitor:
    made = Visitor(visitor_id, KINDS.described.index(kind), KINDS)
    made.customer_id = customer_id
    return made


def test_nobody_returns_before_being_due():
    """take() finds nobody while every visitor's return moment is in the future."""
    pool = ReturningPool(KINDS)
    pool.add(visitor(1), due=10 * HOUR)
    assert pool.take(10 * HOUR - 1) is None
    assert pool.take(10 * HOUR) is not None


def test_the_most_recently_due_visitor_returns_first():
    """Among visitors due, the one who became due last is taken first."""
    pool = ReturningPool(KINDS)
    for visitor_id, due in ((1, 1 * HOUR), (2, 3 * HOUR), (3, 2 * HOUR)):
        pool.add(visitor(visitor_id), due)
    taken = [pool.take(4 * HOUR) for _ in range(3)]
    assert [v.visitor_id for v in taken if v is not None] == [2, 3, 1]
    assert pool.take(4 * HOUR) is None


def test_visitors_without_a_cart_come_back_as_they_left():
    """A visitor without a cart is rebuilt: id, device, browser, country and account."""
    pool = ReturningPool(KINDS)
    pool.add(visitor(7, ("tablet", "safari", "CA")), due=HOUR)
    pool.add(visitor(8, ("mobile", "chrome", "US"), customer_id=0), due=2 * HOUR)
    pool.add(visitor(9, ("desktop", "edge", "MX"), customer_id=2**39), due=3 * HOUR)
    back = [pool.take(4 * HOUR) for _ in range(3)]
    assert [
        (v.visitor_id, v.device, v.browser, v.country, v.customer_id, v.cart)
        for v in back
        if v is not None
    ] == [
        (9, "desktop", "edge", "MX", 2**39, None),
        (8, "mobile", "chrome", "US", 0, None),
        (7, "tablet", "safari", "CA", None, None),
    ]


def lines_of(cart: Cart | None) -> list[tuple[int, int, int, int, bool]]:
    assert cart is not None
    return [
        (line.cart_item_id, line.product_id, line.quantity, line.unit_price_cents, line.removed)
        for line in cart.lines
    ]


def test_visitors_with_a_cart_come_back_with_it_line_for_line():
    """A visitor's cart is kept (packed) and comes back whole: ids, lines, removed ones too."""
    pool = ReturningPool(KINDS)
    with_cart = visitor(2, ("desktop", "edge", "MX"), customer_id=2**31 + 5)
    cart = with_cart.cart = Cart(2**33, session_id=4)
    cart.add(CartLine(11, product_id=10, quantity=3, unit_price_cents=2**35))
    cart.add(CartLine(12, product_id=20, quantity=1, unit_price_cents=300))
    cart.lines[0].removed = True
    expected = lines_of(cart)
    pool.add(with_cart, due=2 * HOUR)
    back = pool.take(3 * HOUR)
    assert back is not None
    assert back.cart is not None
    assert (back.visitor_id, back.device, back.browser, back.country, back.customer_id) == (
        2, "desktop", "edge", "MX", 2**31 + 5,
    )  # fmt: skip
    assert (back.cart.cart_id, back.cart.session_id) == (2**33, 4)
    assert lines_of(back.cart) == expected
    assert back.cart.live_line(10) is None
    assert back.cart.live_line(20) is not None


def test_visitors_due_longer_than_the_patience_have_churned():
    """A visitor left waiting past the patience is forgotten, cart included."""
    pool = ReturningPool(KINDS, patience=7 * DAY)
    kept = visitor(1)
    kept.cart = Cart(1, session_id=1)
    pool.add(kept, due=DAY)
    pool.add(visitor(2, customer_id=5), due=DAY)
    assert pool.take(9 * DAY) is None
    assert len(pool) == 0
    assert pool._carts == {}
    assert (pool.churned_carts, pool.churned_customers) == ([1], [5])


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
