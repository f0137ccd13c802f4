"""Deliberate data-quality traps in the event stream, each recorded for the learner.

The shop's tables stay the truth: the projector folds the clean stream. What a
tracking pipeline would deliver is another matter, and this stage makes it so on
request: events delivered twice (same ``event_id``), events that arrive hours late
(``received_at`` after ``occurred_at``, delivered in the batch of their arrival) and
optional fields left empty. Every injection becomes a row of the ``quirks`` table.

Which events a quirk hits is drawn as the gaps between hits (geometric: one draw per
hit rather than one per event), from a stream per simulated hour and quirk; what a hit
does (which column, how late) comes from another stream of the hour, in event order.
So a run cut short injects exactly what a longer run injected up to that point, and
events no quirk hits cost nothing.
"""

from __future__ import annotations

import heapq
import math
from typing import TYPE_CHECKING, Any, cast

from fauxsim.clock import HOUR
from fauxsim.events import (
    CUSTOMER_ID,
    ID,
    OCCURRED_AT,
    PAGE,
    PRODUCT_ID,
    PROPERTIES,
    RECEIVED_AT,
    TYPE,
    VISITOR_ID,
)
from fauxsim.randomness import Purpose, stream
from fauxsim.simulation.labels import ORDER_PLACED
from fauxsim.simulation.sampling import whole_sampler
from fauxsim.simulation.shards import Shard

if TYPE_CHECKING:
    from collections.abc import Callable

    from fauxsim.events import Event
    from fauxsim.scenario.model import Quirks

# The record of an event delivered twice (``fauxsim.runner.RunStats`` counts it once).
DUPLICATE_EVENT = "duplicate_event"
# Columns a null quirk may empty, by position in the event tuple (see fauxsim.events).
_NULLABLE = ((VISITOR_ID, "visitor_id"), (PAGE, "page"), (PRODUCT_ID, "product_id"),
             (CUSTOMER_ID, "customer_id"))  # fmt: skip
# A redelivered copy reaches the shop this long after the original, at most.
_DUPLICATE_LAG = 5 * 1_000_000


# A gap between hits longer than any hour's events: the quirk hits nothing more.
_NEVER = 1 << 62

# Streams of an hour (entity ``hour << 2 | stream``): hits of each quirk, then details.
_NULL_HITS, _LATE_HITS, _DUPLICATE_HITS, _DETAILS = range(4)


class _Hits:
    """Positions hit with ``probability``, independently, in an hour's events, as they come.

    An hour's events may reach the injector in several parts (a live run steps within the
    hour): the positions count on across the parts, and the draws are the same as for the
    hour in one part, so a part never changes which events are hit.
    """

    def __init__(self, draw: Callable[[], float], probability: float) -> None:
        self._draw = draw
        self._probability = probability
        # Misses before the next hit follow a geometric law: floor(log(u) / log(1 - p)).
        self._scale = 1.0 / math.log1p(-probability) if 0 < probability < 1 else 0.0
        self._next = -1  # the next hit, once drawn; -1 before the first draw
        self._drawn = False

    def take(self, start: int, stop: int) -> list[int]:
        """The hits in ``range(start, stop)``; parts must come in order, without gaps."""
        if self._probability <= 0:
            return []
        if self._probability >= 1:
            return list(range(start, stop))
        hits: list[int] = []
        while True:
            if not self._drawn:
                # A tiny probability makes gaps beyond any run (even infinite ones): the
                # same as never hitting again, and no overflow converting them.
                gap = math.log(1.0 - self._draw()) * self._scale
                self._next += 1 + (int(gap) if gap < _NEVER else _NEVER)
                self._drawn = True
            if self._next >= stop:
                return hits
            hits.append(self._next)
            self._drawn = False


class QuirkInjector:
    """Turns the true event stream into the delivered one, recording what it changed."""

    def __init__(self, quirks: Quirks, seed: int, shard: Shard | None = None) -> None:
        """Quirks of the events of ``shard`` (by default the whole shop) under ``seed``."""
        shard = Shard() if shard is None else shard
        self._quirks = quirks
        self._seed = shard.seed(seed)
        self._held: list[tuple[int, int, Event]] = []  # late events: (received_at, order, event)
        self._held_count = 0
        self._last_quirk_id = shard.before_first_id  # the next adds the stride
        self._id_stride = shard.stride
        self._late_delay = whole_sampler(quirks.late_arrivals.delay_hours, HOUR, 1)
        # The hour being delivered, the events of it seen so far, and its streams.
        self._hour = -1
        self._seen_in_hour = 0
        self._hour_hits: tuple[_Hits, ...] = ()
        self._details_draw: Callable[[], float] | None = None
        self.enabled = bool(
            quirks.duplicate_events
            or quirks.late_arrivals.probability
            or quirks.null_fields
            or quirks.keep_removed_cart_items
        )

    def deliver(
        self, events: list[Event], boundary: int
    ) -> tuple[list[Event], list[tuple[Any, ...]]]:
        """The events received before ``boundary``, and the quirk rows injected with them."""
        if not (self.enabled and events):  # off, or a quiet checkpoint: no hits; late ones due
            return self._merge(events, boundary), []  # (off, none are ever held)
        hour = (boundary - 1) // HOUR
        if hour != self._hour:
            self._start_hour(hour)
        start = self._seen_in_hour
        self._seen_in_hour += len(events)
        nulls, lates, duplicates = (
            {position - start for position in hits.take(start, self._seen_in_hour)}
            for hits in self._hour_hits
        )
        keeps_removed = self._quirks.keep_removed_cart_items
        kept = _orders_keeping_removed_items(events) if keeps_removed else set()
        hit = sorted(nulls | lates | duplicates | kept)
        if not hit:
            return self._merge(events, boundary), []
        draw = self._details()
        delivered: list[Event] = []
        records: list[tuple[Any, ...]] = []
        done = 0
        for position in hit:
            delivered.extend(events[done:position])  # untouched events, copied in C
            done = position + 1
            event = events[position]
            if position in kept:
                records.append(self._record("keep_removed_cart_items", event, None, None))
            if position in nulls:
                index, column = _NULLABLE[int(draw() * len(_NULLABLE))]
                if event[index] is not None:
                    records.append(self._record("null_field", event, column, {"was": event[index]}))
                    emptied = list(event)
                    emptied[index] = None
                    event = cast("Event", tuple(emptied))
            if position in lates:
                delay = self._late_delay(draw)
                event = _received_at(event, event[OCCURRED_AT] + delay)
                records.append(
                    self._record("late_arrival", event, "received_at", {"delay_us": delay})
                )
                self._hold(event)
            else:
                delivered.append(event)
            if position in duplicates:
                arrived = event[RECEIVED_AT] + 1 + int(draw() * _DUPLICATE_LAG)
                copy = _received_at(event, arrived)
                records.append(
                    self._record(DUPLICATE_EVENT, copy, None, {"received_at_us": arrived})
                )
                self._hold(copy)
        delivered.extend(events[done:])
        return self._merge(delivered, boundary), records

    def _draws(self, hour: int, purpose: int) -> Callable[[], float]:
        return stream(self._seed, Purpose.QUIRKS, hour << 2 | purpose).random

    def _start_hour(self, hour: int) -> None:
        quirks = self._quirks
        self._hour, self._seen_in_hour, self._details_draw = hour, 0, None
        self._hour_hits = (
            _Hits(self._draws(hour, _NULL_HITS), quirks.null_fields),
            _Hits(self._draws(hour, _LATE_HITS), quirks.late_arrivals.probability),
            _Hits(self._draws(hour, _DUPLICATE_HITS), quirks.duplicate_events),
        )

    def _details(self) -> Callable[[], float]:
        """The hour's stream of what each hit does, drawn in event order across its parts."""
        if self._details_draw is None:
            self._details_draw = self._draws(self._hour, _DETAILS)
        return self._details_draw

    def _hold(self, event: Event) -> None:
        self._held_count += 1
        heapq.heappush(self._held, (event[RECEIVED_AT], self._held_count, event))

    def _merge(self, on_time: list[Event], boundary: int) -> list[Event]:
        """On-time events and held ones now due, in the order they were received."""
        due: list[Event] = []
        while self._held and self._held[0][0] < boundary:
            due.append(heapq.heappop(self._held)[2])
        if not due:
            return on_time
        # stable: ties keep their order
        return sorted(on_time + due, key=lambda event: event[RECEIVED_AT])

    def _record(
        self, quirk: str, event: Event, column: str | None, detail: dict[str, Any] | None
    ) -> tuple[Any, ...]:
        """A ``quirks`` row, stamped with the moment the event happened."""
        self._last_quirk_id += self._id_stride
        happened = event[OCCURRED_AT]
        return (self._last_quirk_id, quirk, event[ID], column, detail, happened, happened)


def _orders_keeping_removed_items(events: list[Event]) -> set[int]:
    """Positions of the orders whose lines kept removed cart items (the engine marks them)."""
    return {
        position
        for position, event in enumerate(events)
        if event[TYPE] == ORDER_PLACED and "quirk" in (event[PROPERTIES] or {})
    }


def _received_at(event: Event, received_at: int) -> Event:
    """``event`` as received at ``received_at`` (a copy: events are never changed)."""
    received = list(event)
    received[RECEIVED_AT] = received_at
    return cast("Event", tuple(received))
