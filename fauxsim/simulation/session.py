"""One visit: a light process (``processes.Steps``) that walks the funnel, dwelling between pages.

A visit is a :class:`Visit` (who, where, what it has seen) walked by :func:`_walk`: draw
the next page from the behaviour's moves, dwell on the current one, then take the step
of the page reached (:data:`STEPS`, one function a page: the events it emits and what it
changes). A page with no step of its own emits its page view. The walk is Python only:
measured, a compiled twin of it was worth about 5% of a run (benchmarks/README.md, "The
walk back in Python"). What starts the visits may be compiled (``_visit.Arrivals``); it
starts each one through :class:`VisitShared`'s ``start_visit``.
"""

from __future__ import annotations

from bisect import bisect_right
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple

from fauxsim.simulation.audience import Cart, CartLine
from fauxsim.simulation.labels import (
    ADDED_TO_CART,
    CART,
    CART_QUANTITY_CHANGED,
    CATEGORY,
    CHECKOUT,
    CHECKOUT_STARTED,
    CONFIRMATION,
    LOGGED_IN,
    PAGE_VIEWED,
    PAYMENT,
    PAYMENT_FAILED,
    PAYMENT_INFO_ADDED,
    PRODUCT,
    PRODUCT_VIEWED,
    REMOVED_FROM_CART,
    SEARCH,
    SEARCHED,
    SESSION_ENDED,
    SESSION_STARTED,
)
from fauxsim.simulation.orders import place_order
from fauxsim.simulation.processes import Steps

Arrivals: type[_visit.Arrivals] | None
Draws: type[_visit.Draws] | None
try:  # the arrivals and a visit's draws in C (_visit.c)
    from fauxsim.simulation._visit import Arrivals, Draws
except ImportError:  # installed without a C compiler: visits are started in Python
    Arrivals = Draws = None

# Whether visits are started by ``_visit.Arrivals``, drawing from ``_visit.Draws`` (else
# ``Simulation._arrivals_in_python`` and ``randomness.topped_up``); both give the same
# events (tests hold them equal).
COMPILED = Arrivals is not None

if TYPE_CHECKING:
    from collections.abc import Callable, Generator

    from fauxsim.events import Properties
    from fauxsim.randomness import Uniform
    from fauxsim.scenario.model import Accounts
    from fauxsim.simulation import _visit
    from fauxsim.simulation.audience import Visitor
    from fauxsim.simulation.behaviour import SessionBehaviour
    from fauxsim.simulation.catalog import Product
    from fauxsim.simulation.engine import Simulation

# Shared by every recovered cart's page view: properties are never changed once emitted.
RECOVERED = {"recovered_cart": True}
# At most this many kinds of session share their behaviour and session_started properties
# (~600 bytes each); the rest get their own (black_friday meets 913 kinds).
SHARED_KINDS = 20_000


# The keys of session_started's properties, in their order (JSON keeps it).
STARTED_KEYS = ("channel", "utm_source", "utm_medium", "utm_campaign", "device", "browser",
                "country", "is_returning", "calendar_events")  # fmt: skip


class VisitShared(NamedTuple):
    """What ``_visit.Arrivals`` reads of a simulation: the one declared interface of
    ``_visit.c``, whose ``SHARED_FIELDS`` are these fields in this order (a test holds them
    equal, and ``Arrivals`` refuses a tuple whose fields differ)."""

    # start_visit(session_id, visitor, draw, now, returning): the visit started
    start_visit: Callable[[int, Visitor, Uniform, int, bool], None]


def visit_shared(sim: Simulation) -> VisitShared:
    """What ``_visit.Arrivals`` reads of ``sim`` (:class:`VisitShared`)."""
    return VisitShared(start_visit=partial(start_visit, sim))


def start_visit(
    sim: Simulation, session_id: int, visitor: Visitor, draw: Uniform, now: int, returning: bool
) -> None:
    """Start a visit at ``now``: its first events at once, its walk a Steps process."""
    Steps(sim.env, run_session(sim, session_id, visitor, draw, now, returning=returning))


class Visit:
    """One visit on its way through the funnel: who, where, and what it has seen.

    The steps of the walk read and change it; :meth:`emit` gives its events their
    columns, each the next in the visit's sequence.
    """

    __slots__ = (
        "append", "basket", "behaviour", "cart", "category", "customer_id", "draw", "next_id",
        "now", "product", "sequence", "session_id", "sim", "visitor", "visitor_id",
    )  # fmt: skip

    def __init__(
        self,
        sim: Simulation,
        session_id: int,
        visitor: Visitor,
        draw: Uniform,
        behaviour: SessionBehaviour,
        now: int,
    ) -> None:
        self.sim = sim
        self.append = sim.events.append  # where its events go
        self.next_id = sim.next_event_id
        self.session_id = session_id
        self.visitor = visitor
        self.visitor_id = visitor.visitor_id
        self.draw = draw
        self.behaviour = behaviour
        self.now = now
        self.customer_id: int | None = None  # anonymous until the visitor logs in or signs up
        self.cart = visitor.cart
        self.sequence = 0  # of the last event emitted
        self.category = ""  # the last category page's name
        self.product: Product | None = None  # the last product searched for or seen
        self.basket = False  # whether it has added to its cart: it then adds more readily

    def emit(
        self,
        event_type: str,
        page: str | None,
        product_id: int | None = None,
        quantity: int | None = None,
        properties: Properties = None,
    ) -> None:
        """An event of this visit, now, the next in its sequence.

        The tuple is laid out here as ``fauxsim.events.event`` lays it out (a test holds
        the two equal): this runs for nearly every event of a run, and the keyword call
        to ``event`` measured ~4% of a run's time.
        """
        self.sequence = sequence = self.sequence + 1
        now = self.now
        self.append((self.next_id(), event_type, now, now, self.session_id, self.visitor_id,
                     self.customer_id, sequence, page, product_id, quantity, None,
                     properties))  # fmt: skip


def run_session(
    sim: Simulation,
    session_id: int,
    visitor: Visitor,
    draw: Uniform,
    start: int,
    *,
    returning: bool,
) -> Steps.Body:
    """Start one visit at ``start``; the body of its process (``processes.Steps``).

    The visit's first events are emitted at once: its start, on the entry page drawn
    for its channel (``Simulation.entry_pages``; the landing page unless the scenario
    says otherwise), that page's events (its step, as if from no page), a login or an
    early sign-up. The body walks the funnel from there (:func:`_walk`).
    """
    rules = sim.scenario.behaviour
    channel_name, channel = sim.channels.pick(draw)
    active = sim.calendar.at(start)
    # Sessions of one kind share their behaviour and their session_started properties
    # (never changed once emitted): fewer dicts to build, and marshal sends each to the
    # loader once a batch. The kind of visitor gives the device the behaviour depends on.
    kind = (channel_name, visitor.kind, returning, active.key)
    kinds = sim.session_kinds
    known = kinds.get(kind)
    if known is not None:
        behaviour, started = known
    else:
        behaviour = sim.behaviour.for_session(visitor.device, channel_name, returning,
                                              active.key)  # fmt: skip
        started = dict(zip(STARTED_KEYS, (
            channel_name, channel.utm_source, channel.utm_medium, channel.utm_campaign,
            visitor.device, visitor.browser, visitor.country, returning, active.names,
        ), strict=True))  # fmt: skip
        if len(kinds) < SHARED_KINDS:  # bounded: audiences can have many kinds
            kinds[kind] = behaviour, started
    entries = sim.entry_pages[channel_name]
    entry = entries if isinstance(entries, str) else entries.pick(draw)
    visit = Visit(sim, session_id, visitor, draw, behaviour, start)
    visit.emit(SESSION_STARTED, entry, properties=started)
    STEPS.get(entry, _view_page)(visit, entry, None)  # reached from outside the shop
    _sign_in(visit, entry, rules.accounts)
    if returning and visit.cart is not None and draw() < rules.cart.recover_probability:
        return _walk(visit, entry, CART)  # straight to the cart saved by an earlier visit
    return _walk(visit, entry)


def _sign_in(visit: Visit, page: str, accounts: Accounts) -> None:
    """On the first page: a known customer may log in; anyone else may sign up early."""
    known = visit.visitor.customer_id
    if known is not None:
        if visit.draw() < accounts.login_probability:
            visit.customer_id = known
            visit.emit(LOGGED_IN, page)
    elif visit.draw() < accounts.early_signup_probability:
        visit.sequence += 1
        visit.customer_id = visit.sim.new_customer(
            visit.visitor, visit.now, visit.session_id, "browse", visit.sequence
        )


def _walk(visit: Visit, page: str, straight_to: str | None = None) -> Steps.Body:
    """A visit's walk through the funnel from ``page``, until the visitor leaves.

    At each page: draw the next one from the behaviour's moves (None: leave), dwell, and
    take the step of the page reached (:data:`STEPS`). ``straight_to`` is a first page
    reached without a move drawn, as if from no page (a recovered cart). The session
    ends at its last activity: session_ended is emitted then, at once (the session
    timeout only decides when the visitor's next visit is a session of its own).
    """
    sim, draw = visit.sim, visit.draw
    moves, dwell = visit.behaviour.moves, sim.dwell
    steps, view_page = STEPS, _view_page
    came_from: str | None = None
    next_page = straight_to
    while True:
        if next_page is None:
            cumulative, targets = moves[page]
            chance = draw()
            if page is PRODUCT:  # the cart first: its chance scaled (_product_move)
                chance = _product_move(visit, chance)
            next_page = targets[bisect_right(cumulative, chance)]
            if next_page is None:
                break  # the visitor leaves: the last page is the last activity
            came_from = page
        visit.now = yield dwell[page](draw)
        if next_page is CONFIRMATION:
            if not (yield from _confirm(visit)):
                break  # the payment failed for good: the visitor leaves
        else:
            steps.get(next_page, view_page)(visit, next_page, came_from)
        page, next_page = next_page, None
    visit.emit(SESSION_ENDED, None)
    sim.return_later(visit.visitor, visit.now)


def _product_move(visit: Visit, draw: float) -> float:
    """The uniform ``draw`` of a move from a product page, mapped onto its moves (cart
    first, see ``behaviour.product_moves``) so that the cart's chance is the product's:
    the funnel's times the product's ``cart_factor`` (its price) for a first add; once
    the visit has added to its cart, the funnel's times ``basket_factor`` whatever the
    price (so that the cap, what the other moves leave, keeps the average as configured).
    The other moves keep their chances; leaving the site takes the rest."""
    behaviour, product = visit.behaviour, visit.product
    if visit.basket:
        chance = behaviour.basket_cart
    else:
        chance = behaviour.cart * (product.cart_factor if product is not None else 1.0)
        chance = min(chance, behaviour.product_room)
    if draw < chance:
        return 0.0  # the cart
    return draw - chance + behaviour.cart  # past the cart: the others, then leaving


# The steps: what reaching a page does. Each is step(visit, page, came_from), came_from
# the page before (None: reached from outside the shop, the entry page; or straight to a
# recovered cart).


def _view_page(visit: Visit, page: str, _came_from: str | None) -> None:
    """A page with nothing of its own: its view."""
    visit.emit(PAGE_VIEWED, page)


def _view_category(visit: Visit, _page: str, _came_from: str | None) -> None:
    """A category page, drawn by the categories' weights."""
    sim = visit.sim
    visit.category = category = sim.catalog.categories.pick(visit.draw)
    visit.emit(PAGE_VIEWED, CATEGORY, properties=sim.category_pages[category])


def _search(visit: Visit, _page: str, _came_from: str | None) -> None:
    """A search for a product drawn by popularity: one of the queries that find it."""
    draw = visit.draw
    product = visit.product = visit.sim.catalog.any_product.pick(draw)
    queries = product.search_queries
    query = queries[int(draw() * len(queries))]
    visit.emit(SEARCHED, SEARCH, properties={"query": query})
    visit.emit(PAGE_VIEWED, SEARCH)


def _view_product(visit: Visit, _page: str, came_from: str | None) -> None:
    """A product page: of the category just seen, of the product searched for, or any."""
    catalog, draw = visit.sim.catalog, visit.draw
    if came_from is CATEGORY:
        product = catalog.in_category[visit.category].pick(draw)
    elif came_from is SEARCH and visit.product is not None:
        product = catalog.in_category[visit.product.category].pick(draw)
    else:
        product = catalog.any_product.pick(draw)
    visit.product = product
    visit.emit(PAGE_VIEWED, PRODUCT, product.product_id)
    visit.emit(PRODUCT_VIEWED, PRODUCT, product.product_id, properties=product.viewed)


def _view_cart(visit: Visit, _page: str, came_from: str | None) -> None:
    """The cart: the product just seen added (from its page), then changes made in it."""
    product = visit.product
    if came_from is PRODUCT and product is not None:
        _add_to_cart(visit, product)
    visit.emit(PAGE_VIEWED, CART, properties=RECOVERED if came_from is None else None)
    if visit.cart is not None:
        _cart_actions(visit, visit.cart)


def _add_to_cart(visit: Visit, product: Product) -> None:
    """Add ``product`` to the visitor's cart (a new cart, or a new line, if need be)."""
    sim = visit.sim
    cart = visit.cart
    if cart is None:
        sim.last_cart_id += sim.id_stride
        cart = visit.cart = visit.visitor.cart = Cart(sim.last_cart_id, visit.session_id)
    visit.basket = True
    quantity = max(1, round(visit.behaviour.add_quantity(visit.draw) * product.units_factor))
    line = cart.live_line(product.product_id)
    if line is None:
        sim.last_cart_item_id += sim.id_stride
        line = CartLine(sim.last_cart_item_id, product.product_id, quantity, product.price_cents)
        cart.add(line)
    else:
        line.quantity += quantity
    visit.emit(ADDED_TO_CART, PRODUCT, product.product_id, quantity, {
        "cart_id": cart.cart_id, "cart_item_id": line.cart_item_id,
        "unit_price_cents": line.unit_price_cents, "line_quantity": line.quantity,
    })  # fmt: skip


def _cart_actions(visit: Visit, cart: Cart) -> None:
    """On the cart page: maybe remove a line (never the last) or change a quantity."""
    rules, draw = visit.sim.scenario.behaviour.cart, visit.draw
    lines = cart.live_lines()
    if len(lines) > 1 and draw() < rules.remove_probability:
        line = lines[int(draw() * len(lines))]
        line.removed = True
        visit.emit(REMOVED_FROM_CART, CART, line.product_id, line.quantity,
                   {"cart_id": cart.cart_id, "cart_item_id": line.cart_item_id})  # fmt: skip
        lines.remove(line)
    if draw() < rules.change_quantity_probability:
        line = lines[int(draw() * len(lines))]
        previous = line.quantity
        more = previous == 1 or draw() < 0.5  # noqa: PLR2004 - a coin flip
        line.quantity = previous + 1 if more else previous - 1
        visit.emit(CART_QUANTITY_CHANGED, CART, line.product_id, line.quantity,
                   {"cart_id": cart.cart_id, "cart_item_id": line.cart_item_id,
                    "previous_quantity": previous})  # fmt: skip


def _check_out(visit: Visit, _page: str, _came_from: str | None) -> None:
    """Checkout: the visitor logs in or signs up if anonymous; the cart's summary."""
    if visit.customer_id is None:  # no draw: whoever checks out is known from here on
        known = visit.visitor.customer_id
        if known is not None:
            visit.customer_id = known
            visit.emit(LOGGED_IN, CHECKOUT)
        else:
            visit.sequence += 1
            visit.customer_id = visit.sim.new_customer(
                visit.visitor, visit.now, visit.session_id, "checkout", visit.sequence
            )
    cart = visit.cart
    lines = cart.live_lines() if cart is not None else []
    # Checkout shows the current prices: lines added before a price change move to it.
    repriced = cart.reprice(visit.sim.catalog.by_id) if cart is not None else None
    summary: dict[str, Any] = {
        "cart_id": cart.cart_id if cart is not None else None,
        "items_count": sum(line.quantity for line in lines),
        "subtotal_cents": sum(line.quantity * line.unit_price_cents for line in lines),
    }
    if repriced is not None:
        summary["repriced"] = repriced
    visit.emit(CHECKOUT_STARTED, CHECKOUT, properties=summary)
    visit.emit(PAGE_VIEWED, CHECKOUT)


def _add_payment(visit: Visit, _page: str, _came_from: str | None) -> None:
    """The payment page: a method drawn by the scenario's mix."""
    method = visit.sim.payment_methods.pick(visit.draw)
    visit.emit(PAYMENT_INFO_ADDED, PAYMENT, properties={"method": method})
    visit.emit(PAGE_VIEWED, PAYMENT)


def _confirm(visit: Visit) -> Generator[int, int, bool]:
    """Submitting the payment: it may fail and be retried (after a payment page's dwell).

    True once the order is placed and its confirmation viewed; False if the visitor
    leaves (the payment failed for good, or there was nothing to order).
    """
    sim, draw = visit.sim, visit.draw
    orders = sim.scenario.orders
    attempt = 1
    while draw() < orders.payment_failure_probability:
        reason = sim.failure_reasons.pick(draw)
        visit.emit(PAYMENT_FAILED, PAYMENT, properties={"attempt": attempt, "reason": reason})
        if draw() >= orders.payment_retry_probability:
            return False
        attempt += 1
        visit.now = yield sim.dwell[PAYMENT](draw)
    cart, customer_id = visit.cart, visit.customer_id
    if cart is None or customer_id is None:
        return False
    visit.sequence = place_order(
        sim, draw, cart, visit.now, visit.session_id, visit.visitor, customer_id,
        visit.sequence, coupon_probability=visit.behaviour.coupon_probability,
    )  # fmt: skip
    visit.cart = None
    visit.emit(PAGE_VIEWED, CONFIRMATION)
    return True


# What reaching each page does (the confirmation, which may wait, is the walk's own).
STEPS: dict[str, Callable[[Visit, str, str | None], None]] = {
    CATEGORY: _view_category,
    SEARCH: _search,
    PRODUCT: _view_product,
    CART: _view_cart,
    CHECKOUT: _check_out,
    PAYMENT: _add_payment,
}
