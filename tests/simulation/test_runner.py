"""The runner tunes the garbage collector while it generates, and only then."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

from fauxsim.events import ID, PAGE, PROPERTIES, TYPE
from fauxsim.gc_tuning import YOUNG_GENERATION, tuned_collector
from fauxsim.runner import RunStats, generate
from tests.simulation.helpers import Output, small_scenario

if TYPE_CHECKING:
    from fauxsim.scenario.model import Scenario
    from fauxsim.sinks.base import Row


def test_collector_is_tuned_while_generating_and_restored_after():
    """During a run the young generation is raised; the previous settings come back after."""
    before = gc.get_threshold()
    during = [
        gc.get_threshold() for _ in generate(small_scenario(end="2024-03-02"), batch_rows=1000)
    ]
    assert during
    assert all(threshold[0] >= YOUNG_GENERATION for threshold in during)
    assert all(threshold[1:] == before[1:] for threshold in during)
    assert gc.get_threshold() == before


def test_nested_runs_restore_the_settings_once_the_last_ends():
    """Runs that overlap leave the collector tuned until the last of them ends."""
    before = gc.get_threshold()
    with tuned_collector():
        with tuned_collector():
            assert gc.get_threshold()[0] >= YOUNG_GENERATION
        assert gc.get_threshold()[0] >= YOUNG_GENERATION
    assert gc.get_threshold() == before


def test_an_abandoned_run_restores_the_settings_when_closed():
    """Closing a run half-way (an error in the sink, a Ctrl-C) restores the collector."""
    before = gc.get_threshold()
    batches = generate(small_scenario(end="2024-03-02"), batch_rows=100)
    next(batches)
    assert gc.get_threshold()[0] >= YOUNG_GENERATION
    batches.close()
    assert gc.get_threshold() == before


def test_event_tuples_hold_plain_values():
    """Event types and pages are plain strings, so the collector can forget event tuples."""
    events = [
        e for batch in generate(small_scenario(end="2024-03-02")) for e in batch.rows["events"]
    ]
    assert {type(event[TYPE]) for event in events} == {str}
    assert {type(event[PAGE]) for event in events} <= {str, type(None)}
    plain = [event for event in events if event[PROPERTIES] is None]
    gc.collect()
    assert plain
    assert not any(gc.is_tracked(event) for event in plain)


def counted(scenario: Scenario, batch_rows: int) -> tuple[RunStats, list[Row], Output]:
    """The stats generate counts of a run; all its events; its tables."""
    stats = RunStats()
    events: list[Row] = []
    versions: dict[str, list[Row]] = {}
    for batch in generate(scenario, batch_rows=batch_rows, stats=stats):
        events.extend(batch.rows["events"])
        for name, rows in batch.rows.items():
            versions.setdefault(name, []).extend(rows)
        assert stats.watermark == batch.watermark  # counted up to this batch, no further
        assert stats.events == len(events)
    return stats, events, Output(events, versions)


def test_run_stats_count_the_shop_as_its_tables_hold_it():
    """With duplicate and late events the summary counts the shop's sessions and orders:
    what the sessions and orders tables hold (an order whose order_placed arrives after
    the run's end too), not the events delivered."""
    quirks = {"duplicate_events": 0.2, "late_arrivals": {"probability": 0.1}}
    stats, events, tables = counted(small_scenario(quirks=quirks), 2_000)
    assert len({event[ID] for event in events}) < len(events)  # some delivered twice
    orders = tables.final("orders")
    assert stats.events == len(events)
    assert stats.sessions == len(tables.final("sessions"))
    assert stats.orders == len(orders) > 0
    assert stats.revenue_cents == sum(order["total_cents"] for order in orders.values())


def test_run_stats_count_what_the_batches_hold():
    """Without quirks, sessions, orders and revenue are those of the events written."""
    stats, events, _ = counted(small_scenario(), 5_000)
    placed = [event for event in events if event[TYPE] == "order_placed"]
    assert stats.events == len(events)
    assert stats.sessions == sum(event[TYPE] == "session_started" for event in events)
    assert stats.orders == len(placed) > 0
    assert stats.revenue_cents == sum(event[PROPERTIES]["total_cents"] for event in placed)
