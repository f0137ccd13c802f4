"""Quirks: off by default; when on, injected into the events only, and every one recorded."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter

from fauxsim.clock import to_micros
from fauxsim.events import ID, OCCURRED_AT, RECEIVED_AT
from fauxsim.quirks import _Hits
from fauxsim.randomness import Purpose, stream
from tests.simulation.helpers import collect, fold, small_scenario

ALL_ON = {
    "duplicate_events": 0.02,
    "late_arrivals": {"probability": 0.03, "delay_hours": {"type": "constant", "value": 5}},
    "null_fields": 0.02,
    "keep_removed_cart_items": True,
}


def test_quirks_are_off_by_default():
    """A default scenario records no quirk and delivers every event once, on time."""
    output = collect(small_scenario())
    assert output.versions["quirks"] == []
    assert all(event[OCCURRED_AT] == event[RECEIVED_AT] for event in output.events)
    assert len({event[ID] for event in output.events}) == len(output.events)


def test_every_injected_quirk_is_recorded():
    """Duplicates, late arrivals and nulls in the events match the quirks table exactly."""
    output = collect(small_scenario(quirks=ALL_ON))
    recorded = Counter(row[1] for row in output.versions["quirks"])
    counts = Counter(event[ID] for event in output.events)
    assert recorded["duplicate_event"] == sum(n - 1 for n in counts.values()) > 0
    five_hours = 5 * 3600 * 1_000_000
    late_ids = {
        event[ID]
        for event in output.events
        if event[RECEIVED_AT] - event[OCCURRED_AT] >= five_hours
    }
    end = to_micros(dt.datetime(2024, 3, 4, tzinfo=dt.UTC))
    recorded_late = {
        row[2]
        for row in output.versions["quirks"]
        if row[1] == "late_arrival" and row[-1] + row[4]["delay_us"] < end  # arrived in the run
    }
    assert late_ids == recorded_late != set()
    columns = {"visitor_id": 5, "customer_id": 6, "page": 8, "product_id": 9}
    nulls = [row for row in output.versions["quirks"] if row[1] == "null_field"]
    assert nulls
    by_id = {event[ID]: event for event in output.events}
    for row in nulls:
        assert by_id[row[2]][columns[row[3]]] is None
        assert row[4]["was"] is not None


def test_late_events_arrive_in_the_batch_of_their_arrival():
    """A late event shows up in received order, after events that happened later."""
    events = collect(small_scenario(quirks=ALL_ON)).events
    received = [event[RECEIVED_AT] for event in events]
    assert received == sorted(received)
    assert any(event[RECEIVED_AT] - event[OCCURRED_AT] == 5 * 3600 * 1_000_000 for event in events)


def test_tables_fold_the_true_stream_despite_quirks():
    """Entity tables are the same with and without delivery quirks on the events."""
    clean = collect(small_scenario())
    noisy = collect(small_scenario(quirks={**ALL_ON, "keep_removed_cart_items": False}))
    for table in ("customers", "sessions", "orders", "order_line_items", "carts"):
        assert noisy.final(table) == clean.final(table), table
    assert fold(clean.events).final("orders") == noisy.final("orders")


def test_quirks_are_prefix_stable():
    """A run cut short delivers and records exactly what the longer run did by then."""
    scenario = small_scenario(quirks=ALL_ON)
    cut = to_micros(dt.datetime(2024, 3, 2, 13, 30, tzinfo=dt.UTC))
    short = collect(scenario, until=dt.datetime(2024, 3, 2, 13, 30, tzinfo=dt.UTC))
    full = collect(scenario)
    assert short.events == [event for event in full.events if event[RECEIVED_AT] < cut]
    assert short.versions["quirks"] == [row for row in full.versions["quirks"] if row[-1] < cut]


def test_kept_removed_cart_items_are_recorded():
    """With the original Faux behaviour on, some orders keep removed items, each recorded."""
    output = collect(
        small_scenario(
            quirks={"keep_removed_cart_items": True},
            behaviour={"cart": {"remove_probability": 0.6}},
        )
    )
    removed = {
        (i["cart_id"], i["product_id"]) for i in output.final("cart_items").values() if i["removed"]
    }
    orders = output.final("orders")
    affected = {
        line["order_id"]
        for line in output.final("order_line_items").values()
        if (orders[line["order_id"]]["cart_id"], line["product_id"]) in removed
    }
    recorded = {
        next(e[11] for e in output.events if e[0] == row[2])
        for row in output.versions["quirks"]
        if row[1] == "keep_removed_cart_items"
    }
    assert affected == recorded != set()


def test_each_event_is_hit_with_the_configured_probability():
    """Hits drawn as geometric gaps hit each position independently with probability p."""
    for probability in (0.001, 0.03, 0.5):
        draw = stream(1, Purpose.QUIRKS, 7).random
        count = 200_000
        hits = _hits(draw, probability, count)
        error = (probability * (1 - probability) / count) ** 0.5
        assert abs(len(hits) / count - probability) < 5 * error, probability
        assert hits == sorted(set(hits))
        assert all(0 <= position < count for position in hits)
    assert _hits(stream(1, Purpose.QUIRKS, 7).random, 1.0, 5) == [0, 1, 2, 3, 4]
    assert _hits(stream(1, Purpose.QUIRKS, 7).random, 0.0, 5) == []


def _hits(draw, probability, count):
    return _Hits(draw, probability).take(0, count)


def test_hits_of_fewer_events_are_a_prefix():
    """With fewer events (a run cut short), the hits are the first hits of the longer run."""
    longer = _hits(stream(2, Purpose.QUIRKS, 9).random, 0.05, 10_000)
    shorter = _hits(stream(2, Purpose.QUIRKS, 9).random, 0.05, 4_000)
    assert shorter == [position for position in longer if position < 4_000]


def test_an_hour_delivered_in_parts_hits_what_it_hits_whole():
    """A live run steps within an hour: its events come in parts, the hits do not change."""
    whole = _hits(stream(3, Purpose.QUIRKS, 11).random, 0.05, 10_000)
    hits = _Hits(stream(3, Purpose.QUIRKS, 11).random, 0.05)
    parts = [0, 1, 1, 7, 500, 501, 4_000, 10_000]
    in_parts = [hit for start, stop in itertools.pairwise(parts) for hit in hits.take(start, stop)]
    assert in_parts == whole


def test_a_vanishing_probability_hits_nothing_instead_of_overflowing():
    """A rate of 1e-308 (valid in a scenario) makes gaps of infinite length: no hit."""
    for probability in (1e-308, 5e-324, 1e-20):
        assert _hits(stream(4, Purpose.QUIRKS, 1).random, probability, 100_000) == []
