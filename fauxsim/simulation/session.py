"""One visit: a light process (``processes.Steps``) that walks the funnel, dwelling between pages.

This is the engine's hot path (millions of pages), so it binds what it uses to local
names, draws from one uniform source, and builds event tuples in place. Where the C
extension ``_visit`` was built, a visit starts and browses in C (``_visit.visit`` and
``_visit.Browse``, twins of ``run_session`` in a Steps and of ``_walk``'s browsing pages),
the Browse waiting in the event queue as its own event, and hands over to ``_walk`` at
the cart.
"""

from __future__ import annotations

from bisect import bisect_right
from functools import partial
from heapq import heappush
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
    LANDING,
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
from fauxsim.simulation.processes import NORMAL, RESUME_OWN, Steps, queue_and_ids
from fauxsim.simulation.wordlists import SEARCH_SUFFIXES

Arrivals: type[_visit.Arrivals] | None
Browse: type[_visit.Browse] | None
Draws: type[_visit.Draws] | None
visit: Callable[..., None] | None
try:  # the arrivals, a visit's start, its draws and its browsing in C (_visit.c)
    from fauxsim.simulation._visit import Arrivals, Browse, Draws, visit
except ImportError:  # installed without a C compiler: the whole visit runs in Python
    Arrivals = Browse = Draws = visit = None

# Whether visits are started (``_visit.Arrivals``), start and browse in C until they
# reach the cart, drawing from ``_visit.Draws`` (else ``randomness.topped_up``); both give
# the same events (tests hold them equal).
COMPILED = Browse is not None

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from fauxsim.events import Event, Properties
    from fauxsim.randomness import Uniform
    from fauxsim.simulation import _visit
    from fauxsim.simulation.audience import Visitor
    from fauxsim.simulation.behaviour import SessionBehaviour
    from fauxsim.simulation.catalog import Product
    from fauxsim.simulation.choice import WeightedChoice
    from fauxsim.simulation.engine import Simulation

# Shared by every recovered cart's page view: properties are never changed once emitted.
RECOVERED = {"recovered_cart": True}
# At most this many kinds of session share their behaviour and session_started properties
# (~600 bytes each); the rest get their own (black_friday meets 913 kinds).
SHARED_KINDS = 20_000


# The keys of session_started's properties, in their order (JSON keeps it): run_session
# and _visit.visit both write them from here.
STARTED_KEYS = ("channel", "utm_source", "utm_medium", "utm_campaign", "device", "browser",
                "country", "is_returning", "calendar_events")  # fmt: skip


class VisitShared(NamedTuple):
    """What every visit of a simulation started in C reads: the one declared interface of
    ``_visit.c``, whose ``SHARED_FIELDS`` are these fields in this order (a test holds them
    equal, and ``_visit.Arrivals`` refuses a tuple whose fields differ)."""

    events: list[Event]
    next_event_id: Callable[[], int]
    dwell: dict[str, Callable[[Uniform], int]]
    categories: WeightedChoice[str]
    any_product: WeightedChoice[Product]
    in_category: dict[str, WeightedChoice[Product]]
    category_pages: dict[str, Properties]
    search_suffixes: tuple[str, ...]
    session_timeout: int
    walk: Callable[..., Steps.Body]  # where a visit walked in C hands over, at the cart
    pool_add: Callable[[Visitor, int], None]  # with return_gap: Simulation.return_later
    category: str  # pages and event types, as labels
    search: str
    product: str
    page_viewed: str
    searched: str
    product_viewed: str
    session_ended: str
    query_key: str
    # a visit's start (_visit.visit):
    channels: WeightedChoice[tuple[str, Any]]
    calendar_at: Callable[[int], Any]
    session_kinds: dict[Any, Any]
    for_session: Callable[..., SessionBehaviour]
    shared_kinds: int
    login_probability: float
    early_signup_probability: float
    recover_probability: float
    new_customer: Callable[..., int]
    session_started: str
    logged_in: str
    landing: str
    cart: str
    signup_source: str
    started_keys: tuple[str, ...]
    return_gap: Callable[[Uniform], int]
    # how visit() starts the visit on the clock, as Steps(env, body) would:
    env: Any
    queue: list[Any]
    event_ids: Iterator[int]
    normal: int
    heappush: Callable[[list[Any], Any], None]
    resume_own: Any
    steps: type[Steps]


def visit_shared(sim: Simulation) -> VisitShared:
    """What every visit of ``sim`` started in C reads (:class:`VisitShared`)."""
    catalog, behaviour = sim.catalog, sim.scenario.behaviour
    queue, event_ids = queue_and_ids(sim.env)
    return VisitShared(
        events=sim.events, next_event_id=sim.next_event_id, dwell=sim.dwell,
        categories=catalog.categories, any_product=catalog.any_product,
        in_category=catalog.in_category, category_pages=sim.category_pages,
        search_suffixes=SEARCH_SUFFIXES, session_timeout=sim.session_timeout, walk=_walk,
        pool_add=sim.pool.add, category=CATEGORY, search=SEARCH, product=PRODUCT,
        page_viewed=PAGE_VIEWED, searched=SEARCHED, product_viewed=PRODUCT_VIEWED,
        session_ended=SESSION_ENDED, query_key="query", channels=sim.channels,
        calendar_at=sim.calendar.at, session_kinds=sim.session_kinds,
        for_session=sim.behaviour.for_session, shared_kinds=SHARED_KINDS,
        login_probability=behaviour.accounts.login_probability,
        early_signup_probability=behaviour.accounts.early_signup_probability,
        recover_probability=behaviour.cart.recover_probability,
        new_customer=sim.new_customer, session_started=SESSION_STARTED, logged_in=LOGGED_IN,
        landing=LANDING, cart=CART, signup_source="browse", started_keys=STARTED_KEYS,
        return_gap=sim.return_gap, env=sim.env, queue=queue, event_ids=event_ids,
        normal=NORMAL, heappush=heappush, resume_own=RESUME_OWN, steps=Steps,
    )  # fmt: skip


def visit_starter(sim: Simulation) -> Callable[[int, Visitor, Uniform, int, bool], None]:
    """How ``sim`` starts a visit: ``start(session_id, visitor, draw, now, returning)``.

    ``_visit.visit`` where the run uses it (``sim.parts.visits``): the visit's start, its
    walk and its scheduling in C, with no Steps around it. Else its Python twin:
    ``run_session``'s body in a Steps.
    """
    if sim.parts.visits and visit is not None:
        return partial(visit, sim.visit_shared, sim)

    def start_in_python(
        session_id: int, visitor: Visitor, draw: Uniform, now: int, returning: bool
    ) -> None:
        Steps(sim.env, run_session(sim, session_id, visitor, draw, now, returning=returning))

    return start_in_python


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

    The visit's first events (its start, a login or an early sign-up) are emitted at
    once; the body walks the funnel from the landing page (``_walk``). Its twin in C,
    ``_visit.visit``, starts the visit on the clock too (see ``visit_starter``).
    """
    # Events are built in place as tuples in ``fauxsim.events.EVENT_COLUMNS`` order:
    # event_id, event_type, occurred_at, received_at, session_id, visitor_id,
    # customer_id, sequence, page, product_id, quantity, order_id, properties.
    emit, next_id = sim.events.append, sim.next_event_id
    behaviour_rules = sim.scenario.behaviour
    accounts, cart_rules = behaviour_rules.accounts, behaviour_rules.cart
    visitor_id = visitor.visitor_id
    now = start

    channel_name, channel = sim.channels.pick(draw)
    active = sim.calendar.at(now)

    customer_id: int | None = None  # anonymous until the visitor logs in or signs up
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
    emit((next_id(), SESSION_STARTED, now, now, session_id, visitor_id, None, 1, LANDING,
          None, None, None, started))  # fmt: skip
    emit((next_id(), PAGE_VIEWED, now, now, session_id, visitor_id, None, 2, LANDING,
          None, None, None, None))  # fmt: skip
    sequence = 2

    if visitor.customer_id is not None:
        if draw() < accounts.login_probability:
            customer_id = visitor.customer_id
            sequence += 1
            emit((next_id(), LOGGED_IN, now, now, session_id, visitor_id, customer_id, sequence,
                  LANDING, None, None, None, None))  # fmt: skip
    elif draw() < accounts.early_signup_probability:
        sequence += 1
        customer_id = sim.new_customer(visitor, now, session_id, "browse", sequence)

    cart = visitor.cart
    if returning and cart is not None and draw() < cart_rules.recover_probability:
        # Straight to the cart saved by an earlier visit: no browsing to do in C.
        return _walk(sim, session_id, visitor, draw, behaviour, customer_id, cart,
                     now, sequence, LANDING, CART, "", None)  # fmt: skip
    return _walk(sim, session_id, visitor, draw, behaviour, customer_id, cart,
                 now, sequence, LANDING, None, "", None)  # fmt: skip


def _walk(  # noqa: C901, PLR0912, PLR0915 - one walk through the funnel reads best in one place
    sim: Simulation,
    session_id: int,
    visitor: Visitor,
    draw: Uniform,
    behaviour: SessionBehaviour,
    customer_id: int | None,
    cart: Cart | None,
    now: int,
    sequence: int,
    state: str,
    next_state: str | None,
    category: str,
    product: Product | None,
) -> Steps.Body:
    """A visit's walk through the funnel from ``state``, with ``next_state`` drawn or not (None).

    Each page is reached after its dwell; the visit ends when the visitor leaves, a
    session timeout after the last page. ``_visit.Browse`` is its twin for browsing
    pages, and hands over to it, mid-walk, for the cart and beyond.
    """
    emit, next_id = sim.events.append, sim.next_event_id
    catalog, scenario = sim.catalog, sim.scenario
    dwell, category_pages = sim.dwell, sim.category_pages
    visitor_id = visitor.visitor_id
    moves = behaviour.moves
    while True:
        if next_state is None:
            # behaviour.Moves, drawn inline: this runs at every page of every visit.
            cumulative, targets = moves[state]
            next_state = targets[bisect_right(cumulative, draw())]
            if next_state is None:
                break  # the visitor leaves: the last page is the last activity
        now = yield dwell[state](draw)
        if next_state is CATEGORY:
            category = catalog.categories.pick(draw)
            sequence += 1
            emit((next_id(), PAGE_VIEWED, now, now, session_id, visitor_id, customer_id, sequence,
                  CATEGORY, None, None, None, category_pages[category]))  # fmt: skip
        elif next_state is SEARCH:
            product = catalog.any_product.pick(draw)
            query = product.search_term + SEARCH_SUFFIXES[int(draw() * len(SEARCH_SUFFIXES))]
            emit((next_id(), SEARCHED, now, now, session_id, visitor_id, customer_id,
                  sequence + 1, SEARCH, None, None, None, {"query": query}))  # fmt: skip
            emit((next_id(), PAGE_VIEWED, now, now, session_id, visitor_id, customer_id,
                  sequence + 2, SEARCH, None, None, None, None))  # fmt: skip
            sequence += 2
        elif next_state is PRODUCT:
            if state is CATEGORY:
                product = catalog.in_category[category].pick(draw)
            elif state is SEARCH and product is not None:
                product = catalog.in_category[product.category].pick(draw)
            else:
                product = catalog.any_product.pick(draw)
            product_id = product.product_id
            emit((next_id(), PAGE_VIEWED, now, now, session_id, visitor_id, customer_id,
                  sequence + 1, PRODUCT, product_id, None, None, None))  # fmt: skip
            emit((next_id(), PRODUCT_VIEWED, now, now, session_id, visitor_id, customer_id,
                  sequence + 2, PRODUCT, product_id, None, None, product.viewed))  # fmt: skip
            sequence += 2
        elif next_state is CART:
            if state is PRODUCT and product is not None:
                if cart is None:
                    sim.last_cart_id += sim.id_stride
                    cart = visitor.cart = Cart(sim.last_cart_id, session_id)
                quantity = max(1, round(behaviour.add_quantity(draw)))
                line = cart.live_line(product.product_id)
                if line is None:
                    sim.last_cart_item_id += sim.id_stride
                    line = CartLine(
                        sim.last_cart_item_id, product.product_id, quantity, product.price_cents
                    )
                    cart.add(line)
                else:
                    line.quantity += quantity
                sequence += 1
                emit((next_id(), ADDED_TO_CART, now, now, session_id, visitor_id, customer_id,
                      sequence, PRODUCT, product.product_id, quantity, None,
                      {"cart_id": cart.cart_id, "cart_item_id": line.cart_item_id,
                       "unit_price_cents": line.unit_price_cents,
                       "line_quantity": line.quantity}))  # fmt: skip
            sequence += 1
            emit((next_id(), PAGE_VIEWED, now, now, session_id, visitor_id, customer_id, sequence,
                  CART, None, None, None, RECOVERED if state is LANDING else None))  # fmt: skip
            if cart is not None:
                sequence = _cart_actions(
                    sim, draw, cart, now, session_id, visitor_id, customer_id, sequence
                )
        elif next_state is CHECKOUT:
            if customer_id is None:
                if visitor.customer_id is not None:
                    customer_id = visitor.customer_id
                    sequence += 1
                    emit((next_id(), LOGGED_IN, now, now, session_id, visitor_id, customer_id,
                          sequence, CHECKOUT, None, None, None, None))  # fmt: skip
                else:
                    sequence += 1
                    customer_id = sim.new_customer(visitor, now, session_id, "checkout", sequence)
            lines = cart.live_lines() if cart is not None else []
            summary = {
                "cart_id": cart.cart_id if cart is not None else None,
                "items_count": sum(line.quantity for line in lines),
                "subtotal_cents": sum(line.quantity * line.unit_price_cents for line in lines),
            }
            emit((next_id(), CHECKOUT_STARTED, now, now, session_id, visitor_id, customer_id,
                  sequence + 1, CHECKOUT, None, None, None, summary))  # fmt: skip
            emit((next_id(), PAGE_VIEWED, now, now, session_id, visitor_id, customer_id,
                  sequence + 2, CHECKOUT, None, None, None, None))  # fmt: skip
            sequence += 2
        elif next_state is PAYMENT:
            method = sim.payment_methods.pick(draw)
            emit((next_id(), PAYMENT_INFO_ADDED, now, now, session_id, visitor_id, customer_id,
                  sequence + 1, PAYMENT, None, None, None, {"method": method}))  # fmt: skip
            emit((next_id(), PAGE_VIEWED, now, now, session_id, visitor_id, customer_id,
                  sequence + 2, PAYMENT, None, None, None, None))  # fmt: skip
            sequence += 2
        elif next_state is CONFIRMATION:
            # Submitting the payment: it may fail and be retried; `else` runs on success.
            orders = scenario.orders
            attempt = 1
            while draw() < orders.payment_failure_probability:
                sequence += 1
                emit((next_id(), PAYMENT_FAILED, now, now, session_id, visitor_id, customer_id,
                      sequence, PAYMENT, None, None, None,
                      {"attempt": attempt, "reason": sim.failure_reasons.pick(draw)}))  # fmt: skip
                if draw() >= orders.payment_retry_probability:
                    break
                attempt += 1
                now = yield dwell[PAYMENT](draw)
            else:
                if cart is not None and customer_id is not None:
                    sequence = place_order(
                        sim, draw, cart, now, session_id, visitor, customer_id, sequence,
                        coupon_probability=behaviour.coupon_probability,
                    )  # fmt: skip
                    cart = None
                    sequence += 1
                    emit((next_id(), PAGE_VIEWED, now, now, session_id, visitor_id, customer_id,
                          sequence, CONFIRMATION, None, None, None, None))  # fmt: skip
                    state, next_state = CONFIRMATION, None
                    continue
            break  # the payment failed for good: the visitor leaves
        state, next_state = next_state, None

    # A session ends by inactivity: nothing happens for the timeout after the last page.
    now = yield sim.session_timeout
    emit((next_id(), SESSION_ENDED, now, now, session_id, visitor_id, customer_id, sequence + 1,
          None, None, None, None, None))  # fmt: skip
    sim.return_later(visitor, now, draw)


def _cart_actions(
    sim: Simulation,
    draw: Uniform,
    cart: Cart,
    now: int,
    session_id: int,
    visitor_id: int,
    customer_id: int | None,
    sequence: int,
) -> int:
    """On the cart page: maybe remove a line (never the last) or change a quantity."""
    rules = sim.scenario.behaviour.cart
    lines = cart.live_lines()
    if len(lines) > 1 and draw() < rules.remove_probability:
        line = lines[int(draw() * len(lines))]
        line.removed = True
        sequence += 1
        sim.emit(REMOVED_FROM_CART, now, session_id, visitor_id, customer_id, sequence,
                 CART, line.product_id, line.quantity, None,
                 {"cart_id": cart.cart_id, "cart_item_id": line.cart_item_id})  # fmt: skip
        lines.remove(line)
    if draw() < rules.change_quantity_probability:
        line = lines[int(draw() * len(lines))]
        previous = line.quantity
        more = previous == 1 or draw() < 0.5  # noqa: PLR2004 - a coin flip
        line.quantity = previous + 1 if more else previous - 1
        sequence += 1
        sim.emit(CART_QUANTITY_CHANGED, now, session_id, visitor_id, customer_id,
                 sequence, CART, line.product_id, line.quantity, None,
                 {"cart_id": cart.cart_id, "cart_item_id": line.cart_item_id,
                  "previous_quantity": previous})  # fmt: skip
    return sequence
