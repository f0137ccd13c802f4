"""The pipeline of one run: simulation → events → projector → batches for a sink.

``generate`` is deterministic and prefix-stable: the batches of a run to T1 are a
prefix of those of a run to T2 > T1 (up to the last, partial checkpoint), whatever the
batch size. A run that resumes after a committed watermark re-simulates from the start
(it is fast and needs no saved state) and yields only what comes after it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from fauxsim.clock import HOUR, run_end
from fauxsim.events import OCCURRED_AT, PROPERTIES, RECEIVED_AT, TYPE, EventType
from fauxsim.gc_tuning import tuned_collector
from fauxsim.projection import Projector
from fauxsim.quirks import QuirkInjector
from fauxsim.simulation.engine import Simulation
from fauxsim.simulation.labels import ORDER_PLACED
from fauxsim.sinks.base import Batch
from fauxsim.tables import EVENTS, QUIRKS

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Iterator, Sequence

    from fauxsim.events import Event
    from fauxsim.live import LiveClock
    from fauxsim.scenario.model import Scenario
    from fauxsim.simulation.engine import Finished
    from fauxsim.simulation.shards import Shard
    from fauxsim.simulation.traffic import TrafficModel
    from fauxsim.sinks.base import Row, Sink

# Entity rows are written as of each checkpoint: a row that changed several times
# within one checkpoint interval appears once, in its state at the checkpoint.
CHECKPOINT = HOUR
DEFAULT_BATCH_ROWS = 50_000
# A quiet hour's checkpoint (read only: never added to).
_NOTHING_CHANGED: dict[str, list[tuple[Any, ...]]] = {}


@dataclass
class RunStats:
    """Running totals for progress and the closing summary.

    ``rows`` and ``events`` count rows written (an event a quirk delivers twice counts
    twice there). Sessions, orders and revenue count the shop's, from the true event
    stream before quirks: an event delivered twice counts once, and an order whose
    ``order_placed`` arrives after the run's end (a late arrival) counts, as the orders
    table holds it.
    """

    rows: dict[str, int] = field(default_factory=dict)
    events: int = 0
    sessions: int = 0
    orders: int = 0
    revenue_cents: int = 0
    watermark: int = 0

    def count_shop(self, events: Sequence[Row]) -> None:
        """Add the sessions, orders and revenue of some events of the true stream."""
        types = list(map(itemgetter(TYPE), events))  # C speed: no Python loop per event
        by_type = Counter(types)
        self.sessions += by_type[EventType.SESSION_STARTED]
        placed = by_type[EventType.ORDER_PLACED]
        if placed:
            self.orders += placed
            # The few orders found by list.index, a scan in C, one call per order.
            find, at = types.index, -1
            for _ in range(placed):
                at = find(ORDER_PLACED, at + 1)
                self.revenue_cents += events[at][PROPERTIES]["total_cents"]

    def count_rows(self, batch: Batch) -> None:
        """Add the rows per table of a batch, and move the watermark to its end."""
        for name, rows in batch.rows.items():
            self.rows[name] = self.rows.get(name, 0) + len(rows)
        self.events += len(batch.rows.get(EVENTS.name, ()))
        self.watermark = batch.watermark

    @property
    def conversion_rate(self) -> float:
        return self.orders / self.sessions if self.sessions else 0.0


def generate(
    scenario: Scenario,
    *,
    until: dt.datetime | dt.date | None = None,
    resume_after: int | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    stats: RunStats | None = None,
    live: LiveClock | None = None,
    shard: Shard | None = None,
    cut_at: Callable[[int], int] | None = None,
) -> Iterator[Batch]:
    """Batches of events and changed rows, in time order, up to ``until``.

    With ``live``, the run is paced by the wall clock (:mod:`fauxsim.live`): it catches up
    in full batches, then yields a batch at every step, each as the clock reaches it.

    A batch closes at the first checkpoint where it holds at least ``batch_rows`` rows.
    Batches hand their rows over to the sink they are written to (``Batch.release_rows``):
    read them before ``sink.write``, not after. With ``resume_after``, nothing at or
    before that watermark is yielded again.

    With ``stats``, each batch is counted into it before it is yielded: the shop's events
    checkpoint by checkpoint, while they are still in the CPU's cache (counted when the
    batch is written, 50,000 events later, each pass over them cost a cache miss per event).

    With ``shard``, the batches of one shard of the scenario's audience
    (``fauxsim.simulation.shards``); by default the whole shop. With ``cut_at``, a batch
    also closes at each checkpoint that reaches ``cut_at(start of the batch)`` (a file
    period's end, say), so that no batch spans two periods.
    """
    with tuned_collector():
        yield from _batches(scenario, until, resume_after, batch_rows, stats, live, shard, cut_at)


def _batches(
    scenario: Scenario,
    until: dt.datetime | dt.date | None,
    resume_after: int | None,
    batch_rows: int,
    stats: RunStats | None,
    live: LiveClock | None,
    shard: Shard | None,
    cut_at: Callable[[int], int] | None,
) -> Iterator[Batch]:
    _check_shard(scenario, shard)
    simulation = Simulation(scenario, shard=shard)
    projector = Projector()
    quirks = QuirkInjector(scenario.quirks, scenario.seed, shard)
    end = run_end(scenario, until)
    pending: dict[str, list[Any]] = {}
    pending_count = 0
    cuts = _Cuts(cut_at, simulation.start, end)
    # The first checkpoint after ``resume_after`` holds the rows that changed in its whole
    # hour: those last changed before ``resume_after``, the earlier run wrote already.
    first_after_resume = resume_after is not None
    for boundary, happened, settled in _checkpoints(simulation, end, live):
        # The tables fold the true stream, the events table gets quirks.
        changed = _checkpoint(projector, happened, simulation.finished() if settled else None)
        events, injected = quirks.deliver(happened, boundary)
        if resume_after is not None and boundary <= resume_after:
            cuts.reached(boundary)
            continue  # already committed by an earlier run: fold it, write nothing
        shop_events = happened
        if resume_after is not None:
            shop_events = [event for event in happened if event[OCCURRED_AT] >= resume_after]
            events = [event for event in events if event[RECEIVED_AT] >= resume_after]
            injected = [row for row in injected if row[-1] >= resume_after]
            if first_after_resume:
                changed = _changed_since(changed, resume_after)
                first_after_resume = False
        if stats is not None:
            stats.count_shop(shop_events)
        for name, rows in ((EVENTS.name, events), (QUIRKS.name, injected), *changed.items()):
            if rows:
                pending.setdefault(name, []).extend(rows)
                pending_count += len(rows)
        cut = cuts.reached(boundary)
        if pending_count >= batch_rows or cut or (live and live.caught_up(boundary)):
            batch = Batch(boundary, pending, release_rows=True)  # only the sink reads them
            if stats is not None:
                stats.count_rows(batch)
            yield batch
            del batch  # not held while the next one is built
            pending, pending_count = {}, 0


def _checkpoints(
    simulation: Simulation, end: int, live: LiveClock | None
) -> Iterator[tuple[int, list[Event], bool]]:
    """Each checkpoint of the run up to ``end``: its time, the events since the previous
    one, and whether the simulation has run no further (its ``finished`` hint is then
    about what has been folded: else a row could be forgotten before its last change).

    The simulation runs a stretch of hours at a time (``_stretch``: a small shard's block
    of days, a whole shop's hour), and the stretch's events are cut at each checkpoint by
    when they happened: the same cut as a run stopped at every checkpoint, as events
    are appended in time order (but for the shop's opening ones, all before its start).
    A shard of a small shop runs a few visits an hour: stopped every hour, its stops and
    checkpoints cost as much as the visits (at 64 shards of black_friday, 56,896 of
    them), and each evicted the visits' code and data from the CPU's caches.
    """
    boundary: int = simulation.start
    stretch = CHECKPOINT if live is not None else _stretch(simulation.traffic)
    while boundary < end:
        checkpoint = min(end, boundary - boundary % CHECKPOINT + CHECKPOINT)
        if live is not None:  # it may stop short of the checkpoint, where the clock stands
            boundary = live.next_boundary(boundary, checkpoint)
            yield boundary, simulation.advance(boundary), True
            continue
        stretch_end = min(end, boundary - boundary % stretch + stretch)
        events = simulation.advance(stretch_end)
        first = 0
        while checkpoint < stretch_end:
            cut = bisect_left(events, checkpoint, first, key=_occurred_at)
            yield checkpoint, events[first:cut], False
            first, checkpoint = cut, checkpoint + CHECKPOINT
        yield stretch_end, events[first:] if first else events, True
        boundary = stretch_end


_occurred_at = itemgetter(OCCURRED_AT)

# The most visits (expected at the scenario's sessions_per_day) the simulation runs before
# their hours are folded: ~4 MB of events (a calendar event's multiplier holds that many
# times more). A whole shop's block is an hour anyway; a small shard's, up to a week.
_VISITS_PER_STRETCH = 2_000


def _stretch(traffic: TrafficModel) -> int:
    """How long the simulation runs between folds: its block of arrivals, or as many hours
    as hold ``_VISITS_PER_STRETCH`` visits of a big shard; whole checkpoints, at least one.
    (Any stretch gives the same batches: only memory and speed depend on it.)"""
    per_hour = traffic.starts_per_day / 24
    hours = traffic.hours_per_block
    if per_hour > 0:
        hours = max(1, min(hours, int(_VISITS_PER_STRETCH / per_hour)))
    return max(1, hours * HOUR // CHECKPOINT) * CHECKPOINT


def _checkpoint(
    projector: Projector, events: list[Event], finished: Finished | None
) -> dict[str, list[tuple[Any, ...]]]:
    """Fold an hour's events into the tables, forget what is ``finished``; the rows that
    changed, per table name."""
    if events:  # (a shard of a small shop has many quiet hours)
        projector.apply(events)
    forgets = False
    if finished is not None and any(finished):
        projector.forget(*finished)  # (memory only: the same rows either way)
        forgets = True
    # The tables change only by apply and forget: else the checkpoint would find nothing.
    return projector.checkpoint() if events or forgets else _NOTHING_CHANGED


def _changed_since(
    changed: dict[str, list[tuple[Any, ...]]], moment: int
) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of ``changed`` last changed at or after ``moment``: each change of a row
    stamps its ``updated_at`` (the last column) with the moment of the event that made it,
    so a row stamped before had that very state at ``moment``."""
    return {name: [row for row in rows if row[-1] >= moment] for name, rows in changed.items()}


def _check_shard(scenario: Scenario, shard: Shard | None) -> None:
    """A run of several shards is run shard by shard (see ``fauxsim.scale``)."""
    if shard is None and scenario.shards > 1:
        msg = f"the scenario has {scenario.shards} shards: generate them one shard at a time"
        raise ValueError(msg)
    if shard is not None and shard.count != scenario.shards:
        msg = f"shard {shard.index} of {shard.count}, but the scenario has {scenario.shards}"
        raise ValueError(msg)


class _Cuts:
    """Where batches close whatever their size: the run's end, and periods' ends."""

    def __init__(self, cut_at: Callable[[int], int] | None, start: int, end: int) -> None:
        self._cut_at, self._end = cut_at, end
        self._next = end if cut_at is None else min(end, cut_at(start))

    def reached(self, boundary: int) -> bool:
        """Whether a batch closes at ``boundary`` (then the next cut is found)."""
        if boundary < self._next:
            return False
        if self._cut_at is not None:
            self._next = min(self._end, self._cut_at(boundary))
        return True


def run_into(
    sink: Sink,
    scenario: Scenario,
    *,
    until: dt.datetime | dt.date | None = None,
    resume_after: int | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    on_batch: Callable[[RunStats], None] | None = None,
    live: LiveClock | None = None,
    shard: Shard | None = None,
    cut_at: Callable[[int], int] | None = None,
) -> RunStats:
    """Write a run into ``sink`` and close it; return what was written.

    If anything fails half-way (an error, Ctrl-C) the sink is aborted: a database keeps
    exactly the batches it committed, file sinks keep earlier complete files. ``shard``
    and ``cut_at`` are :func:`generate`'s.
    """
    stats = RunStats()
    try:
        batches = generate(
            scenario,
            until=until,
            resume_after=resume_after,
            batch_rows=batch_rows,
            stats=stats,
            live=live,
            shard=shard,
            cut_at=cut_at,
        )
        for batch in batches:
            sink.write(batch)
            if on_batch is not None:
                on_batch(stats)
            # Let the batch go before the next is built: held by this name, it would stay
            # alive beside the next one, two batches of rows at once.
            del batch
    except BaseException:
        sink.abort()
        raise
    sink.close()
    return stats
