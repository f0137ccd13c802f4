"""The runner tunes the garbage collector while it generates, and only then."""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

import pytest

from fauxsim.gc_tuning import YOUNG_GENERATION, tuned_collector
from fauxsim.runner import RunStats, generate
from tests.simulation.helpers import small_scenario

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
    assert {type(event[1]) for event in events} == {str}
    assert {type(event[8]) for event in events} <= {str, type(None)}
    plain = [event for event in events if event[12] is None]
    gc.collect()
    assert plain
    assert not any(gc.is_tracked(event) for event in plain)


def counted(scenario: Scenario, batch_rows: int, how: str) -> tuple[RunStats, list[Row]]:
    """The stats of a run, counted batch by batch or by generate itself; all its events."""
    stats = RunStats()
    events: list[Row] = []
    if how == "by_generate":
        for batch in generate(scenario, batch_rows=batch_rows, stats=stats):
            events.extend(batch.rows["events"])
            assert stats.watermark == batch.watermark  # counted up to this batch, no further
            assert stats.events == len(events)
    else:
        for batch in generate(scenario, batch_rows=batch_rows):
            stats.count(batch)
            events.extend(batch.rows["events"])
    return stats, events


COUNTED = pytest.mark.parametrize("how", ["by_batch", "by_generate"])


@COUNTED
def test_run_stats_count_an_event_delivered_twice_once(how):
    """With the duplicate_events quirk the summary still counts the shop's sessions and orders."""
    quirks = {"duplicate_events": 0.2, "late_arrivals": {"probability": 0.1}}
    stats, events = counted(small_scenario(quirks=quirks), 2_000, how)
    distinct = {event[0]: event for event in events}
    placed = [event for event in distinct.values() if event[1] == "order_placed"]
    assert len(distinct) < len(events)  # the quirk did deliver some events twice
    assert sum(event[1] in {"session_started", "order_placed"} for event in events) > (
        stats.sessions + stats.orders
    )
    assert stats.events == len(events)
    assert stats.sessions == sum(event[1] == "session_started" for event in distinct.values())
    assert stats.orders == len(placed) > 0
    assert stats.revenue_cents == sum(event[12]["total_cents"] for event in placed)


@COUNTED
def test_run_stats_count_what_the_batches_hold(how):
    """Sessions, orders and revenue in RunStats are those of the events written."""
    stats, events = counted(small_scenario(), 5_000, how)
    placed = [event for event in events if event[1] == "order_placed"]
    assert stats.events == len(events)
    assert stats.sessions == sum(event[1] == "session_started" for event in events)
    assert stats.orders == len(placed) > 0
    assert stats.revenue_cents == sum(event[12]["total_cents"] for event in placed)
