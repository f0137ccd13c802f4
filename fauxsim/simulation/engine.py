"""The simulation: a SimPy environment, the world it runs over, and the event stream.

``Simulation.advance(until)`` runs simulated time forward and returns the events that
happened, in the order they happened. Everything the simulation knows about the shop
(visitors, carts, prices) is its own working state; the outside world only ever sees
events, from which ``fauxsim.projection`` folds the tables.
"""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING, NamedTuple

from fauxsim.clock import DAY, HOUR, MINUTE, SECOND, to_micros
from fauxsim.events import event
from fauxsim.randomness import (
    Purpose,
    UniformRun,
    derive,
    entity_draws,
    stream,
    topped_up,
)
from fauxsim.simulation import labels, session
from fauxsim.simulation.addresses import Address, Addresses
from fauxsim.simulation.audience import Visitor, VisitorKinds
from fauxsim.simulation.behaviour import BehaviourBook
from fauxsim.simulation.calendar import CalendarNow, resolve_windows
from fauxsim.simulation.catalog import build_catalog, price_schedule
from fauxsim.simulation.choice import WeightedChoice
from fauxsim.simulation.compiled_parts import CompiledParts
from fauxsim.simulation.identities import Identities
from fauxsim.simulation.imported import Histories, History, signup_moments
from fauxsim.simulation.labels import PRODUCT_CREATED, PRODUCT_PRICE_CHANGED, SIGNED_UP
from fauxsim.simulation.orders import OrderLife
from fauxsim.simulation.per_process import once_per_process
from fauxsim.simulation.price_response import price_response
from fauxsim.simulation.processes import SimClock, Steps
from fauxsim.simulation.returning import (
    ReturningGaps,
    ReturningPool,
    past_visit_counts,
    past_visits,
)
from fauxsim.simulation.sampling import whole_sampler
from fauxsim.simulation.session import visit_shared
from fauxsim.simulation.shards import Shard
from fauxsim.simulation.tracking import TrackingNumbers
from fauxsim.simulation.traffic import Block, TrafficModel

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from fauxsim.events import Event, Properties
    from fauxsim.randomness import Uniform
    from fauxsim.scenario.model import Channel, Scenario
    from fauxsim.simulation.behaviour import SessionBehaviour

# Uniform draws set aside for each visit (see randomness.topped_up). A visit uses about
# twenty; fewer than one in a thousand needs more and seeds a stream of its own.
_DRAWS_PER_SESSION = 64
_NO_DRAWS: Sequence[float] = memoryview(b"").cast("d")  # a block of no visits: none drawn
# The most draws of a block of hours read at once (8 MB): a shard's day, a big shop's hour.
_DRAWS_AT_ONCE = 1 << 20
_NO_BLOCK = Block(-1, 0, [], [0])
_PAYMENT_FAILURES = {"card_declined": 0.6, "insufficient_funds": 0.25, "expired_card": 0.15}
_RETURN_REASONS = {
    "wrong_size": 0.35,
    "not_as_described": 0.25,
    "damaged": 0.15,
    "changed_mind": 0.25,
}


class Finished(NamedTuple):
    """Ids of rows that will never change again (see ``Simulation.finished``)."""

    customers: list[int]
    carts: list[int]
    orders: list[int]


# What ``Simulation.finished`` returns when nothing finished (read only: never added to).
_NOTHING_FINISHED = Finished([], [], [])


class Simulation:
    """One shop, simulated from ``scenario.start`` on, as far as it is advanced.

    With ``shard``, one shard of its audience (``fauxsim.simulation.shards``): its own
    seed, a share of the traffic and existing customers, strided ids.
    """

    def __init__(
        self, scenario: Scenario, parts: CompiledParts | None = None, shard: Shard | None = None
    ) -> None:
        # Which compiled parts this run uses: chosen here, once (by default, all built).
        self.parts = parts = CompiledParts.chosen() if parts is None else parts
        self.scenario = scenario
        self.shard = shard = Shard() if shard is None else shard
        # The audience's seed; what all shards share (catalog, noise) reads scenario.seed.
        self.seed = shard.seed(scenario.seed)
        # What an id counter adds for the next id: 1 for a whole shop (see shards.py).
        self.id_stride = shard.stride
        self.start = to_micros(scenario.start_utc)
        self.end = to_micros(scenario.end_utc)
        self.env = SimClock(initial_time=self.start)
        # One list for the whole run (sessions keep its bound ``append``), emptied by
        # ``advance``; event ids count up from 1 in the order events are appended.
        self.events: list[Event] = []
        self.next_event_id = shard.ids()

        self.windows = resolve_windows(scenario)
        self.catalog = build_catalog(scenario)
        price_response(self.catalog, scenario.behaviour.cart)
        self.traffic = TrafficModel(scenario, self.windows, shard=shard)
        # Sessions of a kind share their behaviour and session_started properties
        # (``session.run_session``): functions of the scenario alone, so the shards of a
        # process share them too (at 64 shards of black_friday: ~20,000 kinds built, not 921).
        scenario_key = scenario.model_dump_json()
        self.behaviour = once_per_process(
            ("behaviours", scenario_key), lambda: BehaviourBook(scenario)
        )
        self.session_kinds: dict[
            tuple[str, int, bool, tuple[int, ...]], tuple[SessionBehaviour, Properties]
        ] = once_per_process(("session kinds", scenario_key), dict)
        audience = scenario.audience
        self.channels: WeightedChoice[tuple[str, Channel]] = WeightedChoice(
            list(audience.channels.items()), [c.weight for c in audience.channels.values()]
        )
        # Each channel's entry pages: a page (no draw) where it has one, else a choice.
        self.entry_pages: dict[str, str | WeightedChoice[str]] = {}
        for name, channel in audience.channels.items():
            pages = {labels.page(p): w for p, w in channel.entry_weights().items() if w > 0}
            self.entry_pages[name] = (
                next(iter(pages)) if len(pages) == 1 else WeightedChoice.from_mapping(pages)
            )
        self.visitor_kinds = VisitorKinds(audience.devices, audience.browsers, audience.countries)
        # Customers' names and addresses, from per-country pools built when first needed.
        self.identities = Identities(scenario.seed, shard.index, shard.count)
        self.addresses = Addresses(scenario.seed)
        orders = scenario.orders
        self.payment_methods = WeightedChoice.from_mapping(orders.payment_methods)
        self.carriers = WeightedChoice.from_mapping(orders.lifecycle.carriers)
        self.tracking_numbers = TrackingNumbers(scenario.seed)
        self.order_life = OrderLife.compile(orders.lifecycle, scenario.zone, compiled=parts.sampler)
        self.coupons = (
            WeightedChoice(orders.coupons, [c.weight for c in orders.coupons])
            if orders.coupons
            else None
        )
        self.failure_reasons = WeightedChoice.from_mapping(_PAYMENT_FAILURES)
        self.return_reasons = WeightedChoice.from_mapping(_RETURN_REASONS)
        dwell = scenario.behaviour.dwell_seconds
        # Dwell times in whole microseconds, at least one: time always moves on.
        self.dwell = {
            labels.page(state): whole_sampler(dwell[state], SECOND, 1, compiled=parts.sampler)
            for state in dwell
        }
        self.session_timeout = round(scenario.behaviour.session_timeout_minutes * MINUTE)
        self._open_returning_pools(scenario, parts)
        self.calendar = CalendarNow(self.windows)
        # Shared event properties (emitted properties are never changed): the page_viewed
        # properties of each category, the session_started ones of each kind of session.
        self.category_pages: dict[str, Properties] = {
            category: {"category": category} for category in self.catalog.categories.values
        }

        # Counters for deterministic ids; each is the last id handed out.
        # (The next is the last plus ``id_stride``; a whole shop's first id is 1.)
        self.last_visitor_id = self.last_customer_id = self.last_cart_id = shard.before_first_id
        self.last_cart_item_id = self.last_order_id = self.last_line_item_id = self.last_cart_id
        self.finished_orders: list[int] = []  # delivered and kept, since ``finished()``
        # Orders of each customer not yet delivered and kept nor refunded: a refund
        # changes the customer's total_spent_cents, so a churned customer with one is
        # held back from ``finished()`` until the last ends (``order_ended``).
        self.open_orders: dict[int, int] = {}
        self._held_customers: set[int] = set()
        self._released_customers: list[int] = []
        # What the arrivals in C read (``session.visit_shared``).
        self.visit_shared = visit_shared(self)
        # Each hour's session starts and their draws, for the arrivals (C or Python).
        self._hour_plan = HourPlans(self.traffic, self.seed)

        Steps(self.env, self._open_shop(), delay=0)
        Steps(self.env, self._arrivals(), delay=0)
        Steps(self.env, self._prices(), delay=0)

    # ------------------------------------------------------------------ running

    def advance(self, until: int) -> list[Event]:
        """Simulate up to (not including) ``until`` and return the new events."""
        if until > self.env.now:
            self.env.run(until)
        events = self.events
        if not events:  # (a shard of a small shop has many quiet hours)
            return []
        copied = events[:]  # (visits append to this very list: emptied, not replaced)
        events.clear()
        return copied

    def finished(self) -> Finished:
        """Customers, carts and orders that can no longer change, since the last call.

        Not data, a hint: the projector may forget their rows once written, so that its
        memory follows the shop's recent activity rather than its whole history. A
        customer or cart can no longer change once its visitor has churned and (for a
        customer) none of their orders can still be refunded; an order, once delivered
        and kept (refunds are final already).
        """
        pools = pool, customers_pool = self.pool, self.customer_pool
        if not (
            self.finished_orders
            or self._released_customers
            or pool.churned_customers
            or pool.churned_carts
            or customers_pool.churned_customers
            or customers_pool.churned_carts
        ):
            return _NOTHING_FINISHED  # most checkpoints of a shard of a small shop
        open_orders = self.open_orders
        customers = self._released_customers
        carts: list[int] = []
        for pool in pools:
            for customer_id in pool.churned_customers:
                if customer_id in open_orders:
                    self._held_customers.add(customer_id)
                else:
                    customers.append(customer_id)
            carts += pool.churned_carts
            pool.churned_customers, pool.churned_carts = [], []
        finished = Finished(customers, carts, self.finished_orders)
        self.finished_orders = []
        self._released_customers = []
        return finished

    def order_placed(self, customer_id: int) -> None:
        """One more order of this customer may still change them (by a refund)."""
        self.open_orders[customer_id] = self.open_orders.get(customer_id, 0) + 1

    def order_ended(self, customer_id: int) -> None:
        """An order of this customer was kept or refunded: it changes them no more."""
        left = self.open_orders[customer_id] - 1
        if left:
            self.open_orders[customer_id] = left
            return
        del self.open_orders[customer_id]
        if customer_id in self._held_customers:
            self._held_customers.remove(customer_id)
            self._released_customers.append(customer_id)

    def emit(
        self,
        event_type: str,
        occurred_at: int,
        session_id: int | None = None,
        visitor_id: int | None = None,
        customer_id: int | None = None,
        sequence: int | None = None,
        page: str | None = None,
        product_id: int | None = None,
        quantity: int | None = None,
        order_id: int | None = None,
        properties: Properties = None,
    ) -> None:
        self.events.append(
            event(
                self.next_event_id(), event_type, occurred_at, session_id=session_id,
                visitor_id=visitor_id, customer_id=customer_id, sequence=sequence, page=page,
                product_id=product_id, quantity=quantity, order_id=order_id,
                properties=properties,
            )
        )  # fmt: skip

    # ------------------------------------------------------------------ ids

    def new_visitor(self, draw: Uniform) -> Visitor:
        """A first-time visitor, described by draws of their first session."""
        self.last_visitor_id += self.id_stride
        visitor_id = self.last_visitor_id
        return Visitor(visitor_id, self.visitor_kinds.pick(draw), self.visitor_kinds)

    def new_customer(
        self,
        visitor: Visitor,
        occurred_at: int,
        session_id: int | None,
        source: str,
        sequence: int | None = None,
        history: History | None = None,
    ) -> int:
        """Sign a visitor up and return the new customer's id: they exist from this moment.

        ``history``: an imported customer's orders before the start (``imported.py``).
        """
        self.last_customer_id += self.id_stride
        customer_id = self.last_customer_id
        customer = self.identities.customer(
            customer_id, derive(self.seed, Purpose.CUSTOMER, customer_id), visitor.country
        )
        address = self.address_of(customer_id, visitor.country)
        visitor.customer_id = customer_id
        properties: dict[str, str | int | None] = {
            "email": customer.email,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "country": customer.country,
            "street": address.street,
            "city": address.city,
            "region": address.region,
            "postal_code": address.postal_code,
            "source": source,
        }
        if history is not None:
            properties["orders_before"] = history.orders
            properties["spent_before_cents"] = history.spent_cents
        self.emit(
            SIGNED_UP,
            occurred_at,
            session_id=session_id,
            visitor_id=visitor.visitor_id,
            customer_id=customer_id,
            sequence=sequence,
            properties=properties,
        )
        return customer_id

    def address_of(self, customer_id: int, country: str) -> Address:
        """Where the customer lives: the same in every call (no one moves in a run), so an
        order's shipping address is the customer's at order time."""
        return self.addresses.of(derive(self.seed, Purpose.ADDRESS, customer_id), country)

    # ------------------------------------------------------------------ processes

    def _open_shop(self) -> Steps.Body:
        """At the start: import the customers who signed up before, list the catalog, and
        remember the visitors of the weeks before (who may come back from the first day).

        The imported customers' sign-ups are dated over the year before the start (their
        accounts' real ages) as its traffic runs, with their order history
        (``imported.py``), the products' listings over the two years before it
        (``catalog.listing_times``); both come first, merged in time order (a sign-up
        before a listing at the same moment), so that event ids follow time from the first.
        """
        now: int = self.start
        count = self.shard.share(self.scenario.audience.existing_customers)
        draw = stream(self.seed, Purpose.EXISTING_CUSTOMERS).random
        signups = signup_moments(self.traffic.hours_by_expected, now, count, draw)
        histories = Histories(self.scenario, self.catalog)
        currency = self.scenario.currency
        # In id order, which is listing order; the catalog is listed by one shard of several.
        products = self.catalog.products if self.shard.emits_catalog else []
        listed = 0
        imported: list[tuple[int, Visitor]] = []
        for signed_up_at in [*signups, None]:
            while listed < len(products) and (
                signed_up_at is None or products[listed].listed_at < signed_up_at
            ):
                product = products[listed]
                listed += 1
                self.emit(
                    PRODUCT_CREATED,
                    product.listed_at,
                    product_id=product.product_id,
                    properties={
                        "sku": product.sku,
                        "name": product.name,
                        "category": product.category,
                        "price_cents": product.price_cents,
                        "currency": currency,
                        "popularity": round(product.popularity, 6),
                    },
                )
            if signed_up_at is None:
                break
            visitor = self.new_visitor(draw)
            history = histories.of(signed_up_at, now, draw)
            self.new_customer(visitor, signed_up_at, None, "import", history=history)
            imported.append((signed_up_at, visitor))
        self._remember_past_visitors(imported)
        yield from ()  # a process of one step: nothing to wait for

    def _open_returning_pools(self, scenario: Scenario, parts: CompiledParts) -> None:
        """Who comes back: gaps drawn when they do (returning.py), from the first day.

        Visitors who may come back: anonymous ones, and customers (with an account), in
        pools of their own so that customers get customer_return_share of the returning
        visits (``take_returning``); each pool draws its gaps from a stream of its own.
        """
        # The gaps' sample is the whole shop's (drawn from the scenario's seed): the shards a
        # process runs share one (~2.5 ms each).
        gap_days, timeout = scenario.audience.return_gap_days, self.session_timeout
        self.return_gaps = once_per_process(
            ("returning gaps", scenario.seed, gap_days, parts.sampler, timeout),
            lambda: ReturningGaps(
                whole_sampler(gap_days, DAY, SECOND, compiled=parts.sampler),
                stream(scenario.seed, Purpose.RETURNING, 0).random,
                timeout,
            ),
        )
        self.pool = ReturningPool(
            self.visitor_kinds, self.return_gaps, stream(self.seed, Purpose.RETURNING, 1).random
        )
        self.customer_pool = ReturningPool(
            self.visitor_kinds, self.return_gaps, stream(self.seed, Purpose.RETURNING, 3).random
        )
        # customer_return_share, and its running sum over the returning visits
        self.customer_return_share, self._customer_turns = (
            scenario.audience.customer_return_share,
            0.0,
        )

    def _remember_past_visitors(self, imported: list[tuple[int, Visitor]]) -> None:
        """Fill the returning pools with the visitors who came in the weeks before the start.

        Anonymous visitors (``returning.past_visits``: the sessions expected then, less
        those whose visitor came back before the start) in the anonymous pool, and the
        imported customers in the customers' pool, each ``imported`` (signed up at,
        visitor) given a last visit among those moments, not before their sign-up; each
        pool in the order its visitors' last visits ended.
        """
        draw = stream(self.seed, Purpose.RETURNING, 2).random
        gaps, share = self.return_gaps, self.scenario.audience.returning_share
        # What the counts depend on beyond the curves: the gaps (the sample is the whole
        # shop's, from these) and the returning share.
        depends = (self.scenario.audience.return_gap_days, self.session_timeout, share)
        counts = self.traffic.shared(
            ("past visits", *depends),
            lambda: past_visit_counts(self.traffic.expected_sessions, self.start, gaps, share),
        )
        moments = past_visits(counts, self.start, gaps, draw)
        # Added as they are made: the moments are in order and ids grow, so the pool's order
        # (last visit ended, then id) is theirs. (A big shop's shard remembers millions:
        # held all at once as Visitors, they cost gigabytes.)
        pool_add, new_visitor = self.pool.add, self.new_visitor
        for moment in moments:
            pool_add(new_visitor(draw), moment)
        customers = []
        for signed_up_at, visitor in imported:
            last = moments[int(draw() * len(moments))] if moments else signed_up_at
            customers.append((max(last, signed_up_at), visitor))
        customers.sort(key=lambda pair: (pair[0], pair[1].visitor_id))
        for ended_at, visitor in customers:
            self.customer_pool.add(visitor, ended_at)

    def _arrivals(self) -> Steps.Body:
        """The process that starts sessions hour by hour along the traffic curve.

        In C where ``_visit`` was built (``_visit.Arrivals``), else its twin below.
        """
        hour_start = self.start - self.start % HOUR
        returning_share = self.scenario.audience.returning_share
        # A visit's draws: its slice of the hour's block, then a stream of its own.
        session_draws = entity_draws(self.seed, Purpose.SESSION)
        if self.parts.visits and session.Arrivals is not None:
            return session.Arrivals(
                shared=self.visit_shared, plan=self._hour_plan, start=self.start,
                end=self.end, hour_start=hour_start, hour=HOUR,
                returning_share=returning_share, width=_DRAWS_PER_SESSION,
                then=session_draws, take=self.take_returning, new_visitor=self.new_visitor,
                session_id=self.shard.before_first_id, stride=self.shard.stride,
            )  # fmt: skip
        return self._arrivals_in_python(hour_start, returning_share, session_draws)

    def _arrivals_in_python(
        self, hour_start: int, returning_share: float, session_draws: Callable[[int], Uniform]
    ) -> Steps.Body:
        now: int = self.start
        width = _DRAWS_PER_SESSION
        start_visit = self.visit_shared.start_visit
        session_id, stride = self.shard.before_first_id, self.shard.stride
        while hour_start < self.end:
            moments, block = self._hour_plan(hour_start)
            for number, moment in enumerate(moments):
                if moment < self.start or moment >= self.end:
                    continue
                if moment > now:
                    now = yield moment - now
                session_id += stride
                draw = topped_up(block, number * width, (number + 1) * width, session_draws,
                                 session_id)  # fmt: skip
                visitor = self.take_returning(moment) if draw() < returning_share else None
                returning = visitor is not None
                if visitor is None:
                    visitor = self.new_visitor(draw)
                start_visit(session_id, visitor, draw, now, returning)
            hour_start += HOUR
            if hour_start > now:
                now = yield hour_start - now

    def _prices(self) -> Steps.Body:
        """Apply scheduled price changes (promotions, calendar sales) when they fall due."""
        now: int = self.start
        emits = self.shard.emits_catalog  # every shard reprices its catalog; one says so
        for step in price_schedule(self.scenario, self.catalog, self.windows):
            if step.at >= self.end:
                break
            if step.at > now:
                now = yield step.at - now
            for product_id in step.product_ids:
                product = self.catalog.by_id[product_id]
                previous = product.price_cents
                price = product.reprice(step.factor)
                if not emits:
                    continue
                self.emit(
                    PRODUCT_PRICE_CHANGED,
                    now,
                    product_id=product_id,
                    properties={
                        "price_cents": price,
                        "previous_price_cents": previous,
                        "reason": step.reason,
                    },
                )

    def take_returning(self, now: int) -> Visitor | None:
        """The visitor of a returning visit at ``now``, None if nobody can come back.

        ``customer_return_share`` of the returning visits, spread evenly (its running
        sum passing a whole number; no draw), take a customer first, the others an
        anonymous visitor first; each falls back on the other pool when its own has
        nobody to give. The pool tried first draws the visit's gap, and the other takes
        the visit with the same gap: a customer comes back only if one left about that long
        ago (``strict``), and customers are fewer than the visits that turn to them, so
        they are found more often after short gaps. Were the fallback to draw a gap of its
        own, the long gaps customers could not fill would be replaced by gaps of any
        length, and returning visits would come back sooner than configured.
        """
        self._customer_turns += self.customer_return_share
        if self._customer_turns >= 1.0:
            self._customer_turns -= 1.0
            gap = self.customer_pool.draw_gap()
            customer = self.customer_pool.take(now, gap, strict=True)
            return customer if customer is not None else self.pool.take(now, gap)
        gap = self.pool.draw_gap()
        visitor = self.pool.take(now, gap)
        return visitor if visitor is not None else self.customer_pool.take(now, gap, strict=True)

    def return_later(self, visitor: Visitor, ended_at: int) -> None:
        """Put a visitor whose session ended at ``ended_at`` among the possible returners:
        in the customers' pool once they have an account, else the anonymous visitors'
        (the gap after which they come back is drawn when one does: ``take_returning``).
        """
        pool = self.pool if visitor.customer_id is None else self.customer_pool
        pool.add(visitor, ended_at)


class HourPlans:
    """The session start times of each hour, and their draws: ``plan(hour_start)``.

    Drawn with the traffic's block of hours (``traffic.TrafficModel``): the visits of a
    block draw from one NumPy stream, numbered as the block, ``_DRAWS_PER_SESSION``
    uniforms for each start in order (``randomness.UniformRun``, so an hour's draws are the
    same however they are read). A block's draws are read at once where they are few (a
    shard's day, an hour of a shop), else an hour at a time (a day of a big shop's draws
    at once would take hundreds of MB). Called for every hour: at 64 shards of
    black_friday ~57,000 times, most for an hour of a few starts or none, so an hour's
    plan is a lookup and two slices.
    """

    __slots__ = ("_block", "_draws", "_from", "_run", "_seed", "_spans", "_to", "_traffic")

    def __init__(self, traffic: TrafficModel, seed: int) -> None:
        self._traffic, self._seed = traffic, seed
        self._from = self._to = 0  # the hours of the block being planned: [from, to)
        self._block = _NO_BLOCK
        self._spans: dict[int, tuple[int, int]] = {}  # an hour's first and last start + 1
        self._draws: Sequence[float] = _NO_DRAWS  # the block's draws, if read at once
        self._run: UniformRun | None = None  # else their stream, read an hour at a time

    def __call__(self, hour_start: int) -> tuple[list[int], Sequence[float]]:
        if not self._from <= hour_start < self._to:
            self._plan_block(hour_start)
        span = self._spans.get(hour_start)
        if span is None:
            return [], _NO_DRAWS
        first, stop = span
        width, run = _DRAWS_PER_SESSION, self._run
        if run is None:
            return self._block.starts[first:stop], self._draws[first * width : stop * width]
        return self._block.starts[first:stop], run.read(first * width, stop * width)

    def _plan_block(self, hour_start: int) -> None:
        """Make the block of hours of ``hour_start`` the one being planned."""
        block = self._block = self._traffic.block(hour_start)
        self._from, self._to = block.start, block.start + (len(block.firsts) - 1) * HOUR
        self._spans = {
            block.start + number * HOUR: (first, stop)
            for number, (first, stop) in enumerate(pairwise(block.firsts))
            if first < stop
        }
        draws = block.firsts[-1] * _DRAWS_PER_SESSION
        self._draws, self._run = _NO_DRAWS, None
        if draws:
            run = UniformRun(self._seed, Purpose.SESSION_DRAWS, block.number)
            if draws <= _DRAWS_AT_ONCE:
                self._draws = run.read(0, draws)
            else:
                self._run = run
