"""Deliberate data-quality traps in the event stream, each recorded for the learner.

The shop's tables stay the truth: the projector folds the clean stream. What a
tracking pipeline would deliver is another matter, and this stage makes it so on
request: events delivered twice (same ``event_id``), events that arrive hours late
(``received_at`` after ``occurred_at``, delivered in the batch of their arrival) and
optional fields left empty. Every injection becomes a row of the ``quirks`` table.

Draws come from one stream per simulated hour, consumed in event order, so a run cut
short injects exactly what a longer run injected up to that point.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Any, cast

from fauxsim.clock import HOUR
from fauxsim.events import EventType
from fauxsim.randomness import Purpose, stream

if TYPE_CHECKING:
    from fauxsim.events import Event
    from fauxsim.scenario.model import Quirks

# Columns a null quirk may empty, by position in the event tuple (see fauxsim.events).
_NULLABLE = ((5, "visitor_id"), (8, "page"), (9, "product_id"), (6, "customer_id"))
# A redelivered copy reaches the shop this long after the original, at most.
_DUPLICATE_LAG = 5 * 1_000_000


class QuirkInjector:
    """Turns the true event stream into the delivered one, recording what it changed."""

    def __init__(self, quirks: Quirks, seed: int) -> None:
        self._quirks = quirks
        self._seed = seed
        self._held: list[tuple[int, int, Event]] = []  # late events: (received_at, order, event)
        self._held_count = 0
        self._last_quirk_id = 0
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
        if not self.enabled:
            return events, []
        rng = stream(self._seed, Purpose.QUIRKS, (boundary - 1) // HOUR)
        random = rng.random
        quirks = self._quirks
        late, duplicate, null = (
            quirks.late_arrivals.probability,
            quirks.duplicate_events,
            quirks.null_fields,
        )
        delivered: list[Event] = []
        records: list[tuple[Any, ...]] = []
        for event in events:
            if event[1] == EventType.ORDER_PLACED and "quirk" in (event[12] or {}):
                # The simulation kept removed cart items in this order's lines.
                records.append(self._record("keep_removed_cart_items", event, None, None))
            if null and random() < null:
                position, column = _NULLABLE[rng.randrange(len(_NULLABLE))]
                if event[position] is not None:
                    records.append(
                        self._record("null_field", event, column, {"was": event[position]})
                    )
                    emptied = list(event)
                    emptied[position] = None
                    event = cast("Event", tuple(emptied))  # noqa: PLW2901
            if late and random() < late:
                delay = max(1, int(quirks.late_arrivals.delay_hours.sample(rng) * HOUR))
                arrived = event[2] + delay
                event = (*event[:3], arrived, *event[4:])  # noqa: PLW2901
                records.append(
                    self._record("late_arrival", event, "received_at", {"delay_us": delay})
                )
                self._hold(event)
            else:
                delivered.append(event)
            if duplicate and random() < duplicate:
                arrived = event[3] + 1 + int(random() * _DUPLICATE_LAG)
                copy = (*event[:3], arrived, *event[4:])
                records.append(
                    self._record("duplicate_event", copy, None, {"received_at_us": arrived})
                )
                self._hold(copy)
        return self._merge(delivered, boundary), records

    def _hold(self, event: Event) -> None:
        self._held_count += 1
        heapq.heappush(self._held, (event[3], self._held_count, event))

    def _merge(self, on_time: list[Event], boundary: int) -> list[Event]:
        """On-time events and held ones now due, in the order they were received."""
        due: list[Event] = []
        while self._held and self._held[0][0] < boundary:
            due.append(heapq.heappop(self._held)[2])
        if not due:
            return on_time
        return sorted(on_time + due, key=lambda event: event[3])  # stable: ties keep their order

    def _record(
        self, quirk: str, event: Event, column: str | None, detail: dict[str, Any] | None
    ) -> tuple[Any, ...]:
        """A ``quirks`` row, stamped with the moment the event happened."""
        self._last_quirk_id += 1
        return (self._last_quirk_id, quirk, event[0], column, detail, event[2], event[2])
