"""The projector: events fold into rows, changed rows are written once per checkpoint."""

from __future__ import annotations

import marshal
from typing import Any

import pytest

from fauxsim import projection
from fauxsim.events import TYPE, EventType
from fauxsim.projection import Projector
from fauxsim.runner import CHECKPOINT
from fauxsim.simulation.engine import Simulation
from fauxsim.tables import SESSIONS
from tests.simulation.helpers import small_scenario


def _fold_checkpoints(scenario: Any) -> tuple[list[Any], dict[str, dict[int, Any]]]:
    """Every checkpoint's changed rows, and the projector's live rows at the end."""
    simulation, projector = Simulation(scenario), Projector()
    boundary, checkpoints = simulation.start, []
    while boundary < simulation.end:
        boundary = min(simulation.end, boundary - boundary % CHECKPOINT + CHECKPOINT)
        projector.apply(simulation.advance(boundary))
        projector.forget(*simulation.finished())
        checkpoints.append(projector.checkpoint())
    return checkpoints, {name: dict(table.rows) for name, table in projector.tables.items()}


def test_rows_that_wait_are_kept_packed_and_sessions_are_many():
    """Frozen rows (customers) are packed between changes; session rows flow by the thousand."""
    checkpoints, state = _fold_checkpoints(small_scenario(quirks={"keep_removed_cart_items": True}))
    assert any(isinstance(row, bytes) for row in state["customers"].values())
    assert sum(len(changed.get("sessions", ())) for changed in checkpoints) > 1000


def _session_row(session_id: int, page_views: int = 0) -> list[Any]:
    row: list[Any] = [None] * len(SESSIONS.column_names)
    row[0], row[projection.S_PAGE_VIEWS] = session_id, page_views
    return row


def _event(kind: str, at: int, session_id: int | None, customer_id: int | None = None) -> tuple:
    return (1, kind, at, at, session_id, 9, customer_id, 1, "landing", None, None, None, None)


def test_events_in_a_session_move_its_row():
    """Page views count, every event moves the clock and brings the customer, the end ends."""
    projector = Projector()
    projector.tables["sessions"].rows[5] = _session_row(5, page_views=2**70)  # not a small int
    projector.apply([
        _event(EventType.PAGE_VIEWED.value, 10, 5),
        _event(EventType.PRODUCT_VIEWED.value, 11, 5, customer_id=3),
        _event(EventType.PAGE_VIEWED.value, 12, 5, customer_id=4),  # the first customer stays
        _event("an_event_type_of_tomorrow", 13, None),  # outside a session: nothing moves
        _event(EventType.SESSION_ENDED.value, 14, 5),
    ])  # fmt: skip
    (row,) = projector.checkpoint()["sessions"]
    assert row[projection.S_PAGE_VIEWS] == 2**70 + 2
    assert row[projection.S_CUSTOMER] == 3
    assert row[projection.S_ENDED] == row[projection.S_UPDATED] == 14
    assert 5 not in projector.tables["sessions"].rows  # forgotten once written


def test_an_event_of_an_unknown_session_fails_with_its_id():
    projector = Projector()
    with pytest.raises(KeyError, match="77"):
        projector.apply([_event(EventType.PAGE_VIEWED.value, 10, 77)])


def test_a_failing_handler_stops_the_fold_with_its_error():
    projector = Projector()

    def broken(event: tuple) -> None:
        raise RuntimeError(f"cannot fold {event[TYPE]}")

    projector._handlers[EventType.ADDED_TO_CART.value] = broken
    with pytest.raises(RuntimeError, match="cannot fold added_to_cart"):
        projector.apply([_event(EventType.ADDED_TO_CART.value, 10, 1)])


def test_a_started_session_row_takes_every_column_from_its_source():
    """The row of a new session, column by column, from ``projection._STARTED_SESSION``."""
    projector = Projector()
    properties = {
        "channel": "email", "utm_source": "newsletter", "utm_medium": "email",
        "utm_campaign": None, "device": "mobile", "browser": "safari", "country": "FR",
        "is_returning": True, "calendar_events": [],
    }  # fmt: skip
    started = (1, EventType.SESSION_STARTED.value, 10, 10, 6, 9, 3, 1, "landing", None, None, None,
               properties)  # fmt: skip
    projector.apply([started])
    (row,) = projector.checkpoint()["sessions"]
    assert dict(zip(SESSIONS.column_names, row, strict=True)) == {
        "session_id": 6, "visitor_id": 9, "customer_id": 3, "started_at": 10, "ended_at": None,
        "is_returning": True, "channel": "email", "utm_source": "newsletter",
        "utm_medium": "email", "utm_campaign": None, "device": "mobile", "browser": "safari",
        "country": "FR", "landing_page": "landing", "page_views": 0, "order_id": None,
        "created_at": 10, "updated_at": 10,
    }  # fmt: skip


def test_rows_forgotten_once_written_are_written_but_not_packed():
    """Packing a row about to be dropped is work for nothing: the flush skips it."""
    rows: dict[int, Any] = {1: [1, "kept"], 2: [2, "gone"], 3: [3, "kept"]}
    written = projection._flush(rows, dict.fromkeys((3, 2, 1)), freeze=True, forgotten={2})
    assert written == [(3, "kept"), (2, "gone"), (1, "kept")]
    assert rows[2] == [2, "gone"]
    assert marshal.loads(rows[1]) == (1, "kept")  # noqa: S302 - bytes packed just above


def test_order_lifecycles_reach_every_status():
    """Cancellations, returns and refunds in plenty, carts that change."""
    scenario = small_scenario(
        end="2024-04-15",
        orders={"lifecycle": {"cancel_probability": 0.3, "return_probability": 0.5}},
        behaviour={"cart": {"remove_probability": 0.3, "change_quantity_probability": 0.3}},
    )
    checkpoints, _ = _fold_checkpoints(scenario)
    statuses = {row[4] for changed in checkpoints for row in changed.get("orders", ())}
    assert {"cancelled", "returned", "refunded", "delivered"} <= statuses


def _handled(kind: str, **columns: Any) -> tuple:
    event = list(_event(kind, 50, None))
    for position, value in columns.items():
        event[int(position.lstrip("c"))] = value
    return tuple(event)


@pytest.mark.parametrize(
    ("event", "error"),
    [
        (_handled(EventType.LOGGED_IN.value), AssertionError),  # no customer
        (_handled(EventType.LOGGED_IN.value, c6=404), KeyError),  # an unknown customer
        (_handled(EventType.SIGNED_UP.value, c6=5), KeyError),  # no properties
        (_handled(EventType.SIGNED_UP.value, c6=5, c12={"email": "e"}), KeyError),
        (_handled(EventType.ADDED_TO_CART.value, c12={"cart_id": 1}), KeyError),
        (_handled(EventType.CHECKOUT_STARTED.value, c4=404), KeyError),  # an unknown session
        (_handled(EventType.ORDER_SHIPPED.value, c11=404), KeyError),  # an unknown order
    ],
    ids=str,
)
def test_a_broken_event_fails_the_fold_with_a_plain_error(event, error):
    with pytest.raises(error):
        Projector().apply([event])


def test_the_named_event_positions_are_the_event_columns():
    """``fauxsim.events`` names each position once; the names follow ``EVENT_COLUMNS``."""
    from fauxsim import events  # noqa: PLC0415

    for position, column in enumerate(events.EVENT_COLUMNS):
        name = column.removeprefix("event_").upper()
        assert getattr(events, name) == position, column
