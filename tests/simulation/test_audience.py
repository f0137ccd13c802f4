"""The returning-visitor pool: who comes back, and what it remembers of them."""

from __future__ import annotations

from fauxsim.clock import DAY, HOUR
from fauxsim.simulation.audience import Cart, Customer, ReturningPool, Visitor
from fauxsim.simulation.wordlists import EMAIL_DOMAINS


def visitor(visitor_id: int, device: str = "mobile") -> Visitor:
    return Visitor(visitor_id, device, "chrome", "US")


def test_nobody_returns_before_being_due():
    """take() finds nobody while every visitor's return moment is in the future."""
    pool = ReturningPool()
    pool.add(visitor(1), due=10 * HOUR)
    assert pool.take(10 * HOUR - 1) is None
    assert pool.take(10 * HOUR) is not None


def test_the_most_recently_due_visitor_returns_first():
    """Among visitors due, the one who became due last is taken first."""
    pool = ReturningPool()
    for visitor_id, due in ((1, 1 * HOUR), (2, 3 * HOUR), (3, 2 * HOUR)):
        pool.add(visitor(visitor_id), due)
    taken = [pool.take(4 * HOUR) for _ in range(3)]
    assert [v.visitor_id for v in taken if v is not None] == [2, 3, 1]
    assert pool.take(4 * HOUR) is None


def test_visitors_without_a_cart_come_back_as_they_left():
    """A visitor without a cart is rebuilt: id, device, browser, country and account."""
    pool = ReturningPool()
    pool.add(Visitor(7, "tablet", "safari", "CA"), due=HOUR)
    pool.add(Visitor(8, "mobile", "chrome", "US", customer_id=0), due=2 * HOUR)
    pool.add(Visitor(9, "desktop", "edge", "MX", customer_id=2**39), due=3 * HOUR)
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


def test_visitors_with_a_cart_are_kept_whole():
    """A visitor with a cart comes back as the very same object, cart and all."""
    pool = ReturningPool()
    with_cart = visitor(2)
    with_cart.cart = Cart(9, session_id=4)
    pool.add(with_cart, due=2 * HOUR)
    assert pool.take(3 * HOUR) is with_cart


def test_visitors_due_longer_than_the_patience_have_churned():
    """A visitor left waiting past the patience is forgotten, cart included."""
    pool = ReturningPool(patience=7 * DAY)
    kept = visitor(1)
    kept.cart = Cart(1, session_id=1)
    pool.add(kept, due=DAY)
    pool.add(visitor(2), due=DAY)
    assert pool.take(9 * DAY) is None
    assert len(pool) == 0
    assert pool._kept == {}


def test_customers_get_names_and_a_unique_email_from_their_bits():
    """Names come from the customer's own bits; the id keeps emails unique."""
    first, second = Customer(1, 987_654_321, "US"), Customer(2, 987_654_321, "US")
    assert (first.first_name, first.last_name) == (second.first_name, second.last_name)
    assert first.email != second.email
    assert first.email.endswith(tuple(f"@{domain}" for domain in EMAIL_DOMAINS))
