"""The data dictionary tells the truth: a run that makes every event type matches it.

Every event's columns and properties have the shape ``fauxsim.event_shapes`` declares,
and every closed set of values a table column declares holds what the run wrote.
"""

from __future__ import annotations

from typing import Any

import pytest

from fauxsim.event_shapes import EVENT_SHAPES
from fauxsim.events import EVENT_COLUMNS, PAGE, PROPERTIES, TYPE, EventType
from fauxsim.scenario.model import PageState
from fauxsim.tables import ALL_TABLES, EVENTS, PAGES, QUIRKS
from tests.simulation.helpers import Output, collect, small_scenario

_ALWAYS = {"event_id", "event_type", "occurred_at", "received_at", "properties"}
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


def _constant(value: float) -> dict[str, Any]:
    return {"type": "constant", "value": value}


@pytest.fixture(scope="module")
def everything() -> Output:
    """Three days of a shop where every kind of event happens, quickly."""
    scenario = small_scenario(
        catalog={
            "generate": {"count": 25},
            "price_changes": [
                {"at": "2024-03-02", "until": "2024-03-03", "percent": -10},
                # Five-minute flash prices through a day: some land between an order's
                # checkout and its placing (order_placed's repriced property).
                *(
                    {
                        "at": f"2024-03-03T{hour:02d}:{minute:02d}",
                        "until": f"2024-03-03T{hour:02d}:{minute + 5:02d}",
                        "percent": -15,
                    }
                    for hour in range(8, 23)
                    for minute in range(0, 60, 10)
                ),
            ],
        },
        traffic={
            "sessions_per_day": 1500,
            "calendar": [
                {"name": "Sale", "date": "2024-03-02", "days": 0.5, "price_change_percent": -20}
            ],
        },
        behaviour={
            "cart": {"remove_probability": 0.5, "change_quantity_probability": 0.5},
            "accounts": {"early_signup_probability": 0.1},
        },
        orders={
            "payment_failure_probability": 0.3,
            "lifecycle": {
                "cancel_probability": 0.3,
                "cancel_delay_hours": _constant(0.1),
                "ship_delay_hours": _constant(3),  # orders of the last hours stay paid
                "deliver_delay_days": _constant(0.1),
                "return_probability": 0.5,
                "return_delay_days": _constant(0.1),
                "refund_delay_days": _constant(0.5),  # the last half day stays cancelled
            },
        },
        quirks={"keep_removed_cart_items": True},
    )
    return collect(scenario)


def _named(event: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(EVENT_COLUMNS, event, strict=True))


def test_the_run_makes_every_event_type(everything):
    seen = {event[TYPE] for event in everything.events}
    assert seen == {kind.value for kind in EventType}
    assert set(EVENT_SHAPES) == set(EventType)


def test_each_event_fills_only_the_columns_its_type_declares(everything):
    wrong = set()
    for event in everything.events:
        named = _named(event)
        filled = {column for column, value in named.items() if value is not None} - _ALWAYS
        extra = filled - set(EVENT_SHAPES[EventType(named["event_type"])].columns)
        wrong |= {(named["event_type"], column) for column in extra}
    assert wrong == set()


def _shape_problems(kind: EventType, properties: dict[str, Any] | None) -> set[str]:
    declared = EVENT_SHAPES[kind].properties
    if properties is None:
        return {"null"} if any(not p.optional for p in declared) else set()
    by_name = {p.name: p for p in declared}
    problems = {f"undeclared {key}" for key in properties if key not in by_name}
    problems |= {
        f"missing {p.name}" for p in declared if not p.optional and p.name not in properties
    }
    for key, value in properties.items():
        if key not in by_name or (value is None and by_name[key].nullable):
            continue
        expected = _JSON_TYPES[by_name[key].type]
        if not isinstance(value, expected) or (bool not in expected and isinstance(value, bool)):
            problems.add(f"{key} is {type(value).__name__}")
    return problems


def test_each_event_has_the_properties_its_type_declares(everything):
    problems = {
        (event[TYPE], problem)
        for event in everything.events
        for problem in _shape_problems(EventType(event[TYPE]), event[PROPERTIES])
    }
    assert problems == set()


def test_every_declared_property_is_seen_in_the_run(everything):
    """The shapes declare no key the run never writes."""
    seen: set[tuple[str, str, bool]] = set()
    for event in everything.events:
        for key, value in (event[PROPERTIES] or {}).items():
            seen.add((event[TYPE], key, value is None))
    for kind, shape in EVENT_SHAPES.items():
        for prop in shape.properties:
            assert (kind.value, prop.name, False) in seen, (kind.value, prop.name)


def test_closed_sets_of_values_hold_what_the_run_wrote(everything):
    for spec in (*ALL_TABLES,):
        if spec in (EVENTS, QUIRKS):
            continue
        rows = everything.final(spec.name).values()
        for column in spec.columns:
            if column.values:
                written = {row[column.name] for row in rows} - {None}
                assert written <= set(column.values), (spec.name, column.name, written)
    pages = {event[PAGE] for event in everything.events} - {None}
    assert pages <= set(PAGES)


def test_the_status_values_the_run_reaches(everything):
    orders = {row["status"] for row in everything.final("orders").values()}
    assert orders == {"paid", "shipped", "delivered", "cancelled", "refunded"} | (
        orders & {"placed", "returned"}
    )
    carts = {row["status"] for row in everything.final("carts").values()}
    assert carts == {"open", "converted"}


def test_the_pages_are_the_scenario_page_states():
    assert tuple(state.value for state in PageState) == PAGES
