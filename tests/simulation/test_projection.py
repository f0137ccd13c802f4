"""The projector's compiled loops (``fauxsim/_projection.c``) against their Python twins."""

from __future__ import annotations

import functools
import marshal
import shutil
import sysconfig
from typing import Any

import pytest

from fauxsim import projection
from fauxsim.events import EventType
from fauxsim.projection import Projector
from fauxsim.runner import CHECKPOINT
from fauxsim.simulation.engine import Simulation
from fauxsim.tables import SESSIONS
from tests.simulation.helpers import collect, compiled_as, small_scenario, switch_compiled

BOTH = [pytest.param(False, id="python"), pytest.param(True, id="compiled")]


@pytest.fixture(params=BOTH)
def compiled(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Runs a test with the Python loops, then with the compiled ones where they are built."""
    switch_compiled(projection, request.param, monkeypatch, "the compiled projector")
    return bool(request.param)


def test_the_compiled_projector_is_built_where_there_is_a_c_compiler():
    """So that the compiled runs cannot skip unnoticed where they should run (CI has gcc)."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip(f"no C compiler ({compiler}): the Python loops are the ones in use")
    assert projection.COMPILED


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


def test_both_projectors_fold_the_same_rows_and_keep_the_same_state(monkeypatch):
    """Row for row at every checkpoint, and the live rows (frozen ones byte for byte)."""
    if projection._compiled_fold is None:
        pytest.skip("the compiled projector is not built in this install")
    scenario = small_scenario(quirks={"keep_removed_cart_items": True})
    monkeypatch.setattr(projection, "COMPILED", False)
    expected = _fold_checkpoints(scenario)
    monkeypatch.setattr(projection, "COMPILED", True)
    checkpoints, state = _fold_checkpoints(scenario)
    assert checkpoints == expected[0]
    assert state == expected[1]
    assert any(isinstance(row, bytes) for row in state["customers"].values())
    assert sum(len(changed["sessions"]) for changed in checkpoints) > 1000


def test_a_run_gives_the_same_output_with_either_projector(monkeypatch):
    if projection._compiled_fold is None:
        pytest.skip("the compiled projector is not built in this install")
    scenario = small_scenario(end="2024-03-02")
    monkeypatch.setattr(projection, "COMPILED", False)
    expected = collect(scenario)
    monkeypatch.setattr(projection, "COMPILED", True)
    assert collect(scenario) == expected


def _session_row(session_id: int, page_views: int = 0) -> list[Any]:
    row: list[Any] = [None] * len(SESSIONS.column_names)
    row[0], row[projection.S_PAGE_VIEWS] = session_id, page_views
    return row


def _event(kind: str, at: int, session_id: int | None, customer_id: int | None = None) -> tuple:
    return (1, kind, at, at, session_id, 9, customer_id, 1, "landing", None, None, None, None)


@pytest.mark.usefixtures("compiled")
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


@pytest.mark.usefixtures("compiled")
def test_an_event_of_an_unknown_session_fails_with_its_id():
    projector = Projector()
    with pytest.raises(KeyError, match="77"):
        projector.apply([_event(EventType.PAGE_VIEWED.value, 10, 77)])


@pytest.mark.usefixtures("compiled")
def test_a_failing_handler_stops_the_fold_with_its_error():
    projector = Projector()

    def broken(event: tuple) -> None:
        raise RuntimeError(f"cannot fold {event[1]}")

    projector._handlers[EventType.ADDED_TO_CART.value] = broken
    with pytest.raises(RuntimeError, match="cannot fold added_to_cart"):
        projector.apply([_event(EventType.ADDED_TO_CART.value, 10, 1)])


@pytest.mark.skipif(projection._compiled_fold is None, reason="the compiled projector is not built")
def test_the_compiled_fold_refuses_what_is_not_an_event():
    assert projection._compiled_fold is not None
    sessions = {5: _session_row(5)}
    arguments = (sessions, {}, [], {}, projection.PAGE_VIEWED, projection.SESSION_ENDED)
    columns = projection._FOLDED_COLUMNS
    started = (projection.SESSION_STARTED, projection._STARTED_SESSION)
    with pytest.raises(TypeError, match="tuples of 13 items"):
        projection._compiled_fold(
            [(1, projection.PAGE_VIEWED, 10, 10, 5)], *arguments, columns, *started
        )
    frozen = {5: tuple(sessions[5])}
    with pytest.raises(TypeError, match="is not a list"):
        projection._compiled_fold(
            [_event(projection.PAGE_VIEWED, 10, 5)], frozen, *arguments[1:], columns, *started
        )
    with pytest.raises(TypeError, match="columns must be"):
        projection._compiled_fold([], *arguments, (1, 2), *started)
    start = _event(projection.SESSION_STARTED, 10, 6)
    with pytest.raises(KeyError, match="is_returning"):  # no properties
        projection._compiled_fold([start], *arguments, columns, *started)
    with pytest.raises(ValueError, match="origin is 0, 1 or 2"):
        projection._compiled_fold([start], *arguments, columns, started[0], ((7, None),))
    with pytest.raises(IndexError, match="no such event column"):
        projection._compiled_fold([start], *arguments, columns, started[0], ((0, 13),))


@pytest.mark.usefixtures("compiled")
def test_a_started_session_row_takes_every_column_from_its_source():
    """The row of a new session, column by column (the compiled fold builds it from the
    same table of sources as the handler)."""
    projector = Projector()
    properties = {
        "channel": "email", "utm_source": "newsletter", "utm_medium": "email",
        "utm_campaign": None, "device": "mobile", "browser": "safari", "country": "FR",
        "is_returning": True, "calendar_events": [],
    }  # fmt: skip
    started = (1, projection.SESSION_STARTED, 10, 10, 6, 9, 3, 1, "landing", None, None, None,
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


# Found by a review under AddressSanitizer: each of these wrote or read out of bounds.


class _Clearing(int):
    """A page count whose addition empties the row holding it (Python code mid-fold)."""

    row: list[Any] = []  # noqa: RUF012 - set by the test

    def __add__(self, other: object) -> int:
        self.row.clear()
        return int(self) + int(other)  # type: ignore[call-overload]


@pytest.mark.usefixtures("compiled")
def test_a_row_emptied_by_python_code_mid_fold_fails_as_python_does():
    projector = Projector()
    row = _session_row(5, page_views=_Clearing(3))
    _Clearing.row = row
    projector.tables["sessions"].rows[5] = row
    with pytest.raises(IndexError):
        projector.apply([_event(EventType.PAGE_VIEWED.value, 10, 5)])


class _ClearingKey(int):
    """A row id whose hash empties the table's changed ids (Python code mid-flush)."""

    dirty: dict[int, None] = {}  # noqa: RUF012 - set by the test

    def __hash__(self) -> int:
        self.dirty.clear()
        return int.__hash__(self)


@pytest.mark.usefixtures("compiled")
def test_changed_ids_emptied_mid_flush_fail_as_python_does():
    table = projection._Table()
    key = _ClearingKey(4)
    table.rows[4] = [4, "a"]
    table.dirty[key] = None
    table.dirty[5] = None
    table.rows[5] = [5, "b"]
    _ClearingKey.dirty = table.dirty
    with pytest.raises(RuntimeError, match="changed size"):
        table.flush()


def test_rows_forgotten_once_written_are_written_but_not_packed():
    """Packing a row about to be dropped is work for nothing: both flushes skip it alike."""
    flushes: list[Any] = [functools.partial(projection._flush, freeze=True)]
    compiled = projection._compiled_flush
    if compiled is not None:
        flushes.append(lambda rows, dirty, forgotten: compiled(rows, dirty, True, forgotten))  # noqa: FBT003
    outcomes = []
    for flush in flushes:
        rows: dict[int, Any] = {1: [1, "kept"], 2: [2, "gone"], 3: [3, "kept"]}
        written = flush(rows, dict.fromkeys((3, 2, 1)), forgotten={2})
        outcomes.append((written, rows))
    for written, rows in outcomes:
        assert written == [(3, "kept"), (2, "gone"), (1, "kept")]
        assert rows[2] == [2, "gone"]
        assert marshal.loads(rows[1]) == (1, "kept")  # noqa: S302 - bytes packed just above
    assert outcomes[0] == outcomes[-1]


def test_the_compiled_handlers_are_twins_of_the_python_ones():
    """Each type handled in C names the Python handler it stands for, which handles it."""
    with compiled_as(projection, compiled=False):
        python = Projector()._handlers
    for kind, (_, twin) in projection._COMPILED_HANDLERS.items():
        assert python[kind].__name__ == twin, kind
    if projection._CompiledHandler is not None:
        compiled = Projector()._handlers
        assert {kind for kind, handler in compiled.items()
                if type(handler) is projection._CompiledHandler} == set(
            projection._COMPILED_HANDLERS)  # fmt: skip


def test_both_projectors_agree_through_every_order_lifecycle(monkeypatch):
    """Cancellations, returns and refunds in plenty, carts that change: row for row."""
    if projection._CompiledHandler is None:
        pytest.skip("the compiled projector is not built in this install")
    scenario = small_scenario(
        end="2024-04-15",
        orders={"lifecycle": {"cancel_probability": 0.3, "return_probability": 0.5}},
        behaviour={"cart": {"remove_probability": 0.3, "change_quantity_probability": 0.3}},
    )
    monkeypatch.setattr(projection, "COMPILED", False)
    expected = _fold_checkpoints(scenario)
    monkeypatch.setattr(projection, "COMPILED", True)
    assert _fold_checkpoints(scenario) == expected
    statuses = {row[4] for changed in expected[0] for row in changed["orders"]}
    assert {"cancelled", "returned", "refunded", "delivered"} <= statuses


def _handled(kind: str, **columns: Any) -> tuple:
    event = list(_event(kind, 50, None))
    for position, value in columns.items():
        event[int(position.lstrip("c"))] = value
    return tuple(event)


@pytest.mark.parametrize(
    "event",
    [
        _handled(EventType.LOGGED_IN.value),  # no customer
        _handled(EventType.LOGGED_IN.value, c6=404),  # an unknown customer
        _handled(EventType.SIGNED_UP.value, c6=5),  # no properties
        _handled(EventType.SIGNED_UP.value, c6=5, c12={"email": "e"}),  # some missing
        _handled(EventType.ADDED_TO_CART.value, c12={"cart_id": 1}),
        _handled(
            EventType.ADDED_TO_CART.value,
            c4=404,
            c12={  # an unknown session
                "cart_id": 1,
                "cart_item_id": 2,
                "unit_price_cents": 3,
                "line_quantity": 1,
            },
        ),
        _handled(EventType.CHECKOUT_STARTED.value, c4=404),
        _handled(EventType.ORDER_SHIPPED.value),  # no order
        _handled(EventType.ORDER_SHIPPED.value, c11=404),  # an unknown order
    ],
    ids=str,
)
def test_both_handlers_fail_alike_on_broken_events(event):
    """The same error, and the same rows changed before it."""
    outcomes = _outcomes([event])
    assert outcomes[0] == outcomes[-1]
    assert outcomes[0][0] is not None


def _outcomes(events: Any) -> list[Any]:
    """What folding ``events`` (a list, or a function making it afresh) does with the Python
    handlers, then the compiled ones: the error (or None) and the tables after it."""
    outcomes = []
    for compiled in [False, True] if projection._CompiledHandler is not None else [False]:
        with compiled_as(projection, compiled=compiled):
            projector = Projector()
            error: Any = None
            try:
                projector.apply(events() if callable(events) else events)
            except Exception as raised:  # noqa: BLE001 - compared below
                error = (type(raised), str(raised), raised.args)
            state = {name: (dict(table.rows), dict(table.dirty))
                     for name, table in projector.tables.items()}  # fmt: skip
            outcomes.append((error, state, dict(projector._items_of_cart)))
    return outcomes


class _TrueOnce(dict):  # type: ignore[type-arg]
    """Properties that are true the first time they are tested, and empty after."""

    tested = 0

    def __bool__(self) -> bool:
        self.tested += 1
        return self.tested == 1


def test_both_handlers_read_an_events_properties_as_often():
    """From the fourth review: `event[12] or {}` once per event, props["cart_id"] thrice."""

    def signed() -> list[tuple]:
        return [_handled(EventType.SIGNED_UP.value, c6=5, c12=_TrueOnce(
            email="e", first_name="f", last_name="l", country="c", source="s"))]  # fmt: skip

    reads: list[str] = []

    class Counting(dict):  # type: ignore[type-arg]
        def __getitem__(self, key: str) -> Any:
            reads.append(key)
            if key == "cart_id" and reads.count(key) == 3:
                raise LookupError(key)
            return super().__getitem__(key)

    def added() -> list[tuple]:
        reads.clear()
        return [_handled(EventType.ADDED_TO_CART.value, c10=1, c12=Counting(
            cart_id=3, cart_item_id=4, unit_price_cents=5, line_quantity=1))]  # fmt: skip

    outcomes = _outcomes(signed)
    assert outcomes[0] == outcomes[-1]
    assert outcomes[0][0] is None
    outcomes = _outcomes(added)
    assert outcomes[0] == outcomes[-1]
    assert outcomes[0][0][0] is LookupError  # the third read, in both


def test_both_handlers_keep_a_carts_items_alike_from_odd_ids():
    """An item id of None, then another item in the same cart (the twin tests `is None`)."""
    events = [_handled(EventType.ADDED_TO_CART.value, c12={
        "cart_id": 3, "cart_item_id": item, "unit_price_cents": 5, "line_quantity": 1})
        for item in (None, 7)]  # fmt: skip
    outcomes = _outcomes(events)
    assert outcomes[0] == outcomes[-1]
    assert outcomes[0][2] == {3: 7}


def test_both_handlers_name_a_missing_tuple_id_alike():
    """KeyError((1, 2)), as a dict raises it, not KeyError(1, 2)."""
    outcomes = _outcomes([_handled(EventType.LOGGED_IN.value, c6=(1, 2))])
    assert outcomes[0] == outcomes[-1]
    assert outcomes[0][0][2] == ((1, 2),)


def test_a_compiled_lifecycle_step_survives_its_table_emptied_mid_step():
    """From the fourth review: the step was read borrowed across code that could free it."""
    if projection._CompiledHandler is None:
        pytest.skip("the compiled projector is not built in this install")
    with compiled_as(projection, compiled=True):
        projector = Projector()
    state = projector._handler_state()
    steps = state[12]  # event type -> (column, status)
    steps[EventType.ORDER_SHIPPED.value] = (
        projection._ORDER["shipped_at"],
        "shipped_"[:-1],
    )

    class Emptying:
        def __del__(self) -> None:
            steps.clear()

    row: list[Any] = [None] * len(projection._ORDER)
    row[projection._ORDER["status"]], row[-1] = "paid", Emptying()
    projector._orders.rows[1] = row
    handler = projection._CompiledHandler(4, state)
    handler(_handled(EventType.ORDER_SHIPPED.value, c11=1))
    assert row[projection._ORDER["status"]] == "shipped"
    assert row[projection._ORDER["shipped_at"]] == row[-1] == 50
