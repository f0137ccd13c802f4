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


def test_plain_visitors_come_back_with_the_same_profile():
    """A visitor without account or cart is rebuilt with their id, device, browser, country."""
    pool = ReturningPool()
    pool.add(Visitor(7, "tablet", "safari", "CA"), due=HOUR)
    back = pool.take(HOUR)
    assert back is not None
    assert (back.visitor_id, back.device, back.browser, back.country) == (
        7,
        "tablet",
        "safari",
        "CA",
    )
    assert back.customer is None
    assert back.cart is None


def test_visitors_with_an_account_or_a_cart_are_kept_whole():
    """A visitor with a customer account or a cart comes back as the very same object."""
    pool = ReturningPool()
    with_account, with_cart = visitor(1), visitor(2)
    with_account.customer = Customer(5, 123_456_789, "US")
    with_cart.cart = Cart(9, session_id=4)
    pool.add(with_account, due=HOUR)
    pool.add(with_cart, due=2 * HOUR)
    assert pool.take(3 * HOUR) is with_cart
    assert pool.take(3 * HOUR) is with_account


def test_visitors_due_longer_than_the_patience_have_churned():
    """A visitor left waiting past the patience is forgotten, account and cart included."""
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
