"""On a large run (≥ 50,000 sessions) the data follows the scenario, measurably.

Tolerances are statistical: an observed share or rate must lie within five standard
errors of the configured value (a false alarm about once in three million checks),
plus a small allowance where the model itself deviates slightly (stated per test).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter, defaultdict

import pytest

from fauxsim.clock import to_datetime
from fauxsim.scenario.model import PageState, Scenario
from tests.simulation.helpers import Output, collect

pytestmark = pytest.mark.slow

BLACK_FRIDAY = dt.date(2024, 11, 29)


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario.model_validate(
        {
            "name": "realism",
            "seed": 2024,
            "timezone": "UTC",
            "start": "2024-11-18",
            "end": "2024-12-02",
            "traffic": {
                "sessions_per_day": 3600,
                "daily_noise": 0.0,
                "calendar": [
                    {
                        "name": "Black Friday",
                        "every_year": {
                            "month": 11,
                            "weekday": "thursday",
                            "nth": 4,
                            "offset_days": 1,
                        },
                        "traffic_multiplier": 3.0,
                    }
                ],
            },
            "audience": {"existing_customers": 3000},
        }
    )


@pytest.fixture(scope="module")
def output(scenario: Scenario) -> Output:
    return collect(scenario)


def within(observed: float, expected: float, n: int, allowance: float = 0.0) -> bool:
    error = math.sqrt(max(expected * (1 - expected), 1e-12) / n)
    return abs(observed - expected) <= 5 * error + allowance


def session_starts(output: Output) -> list[dt.datetime]:
    return [to_datetime(e[2]) for e in output.events if e[1] == "session_started"]


def test_run_is_large_enough(output: Output):
    assert len(session_starts(output)) >= 50_000


def test_session_starts_follow_hour_of_day_curve(scenario: Scenario, output: Output):
    """Each hour's share of session starts matches its configured weight."""
    starts = [s for s in session_starts(output) if s.date() != BLACK_FRIDAY]
    counts = Counter(s.hour for s in starts)
    weights = scenario.traffic.hourly_weights
    for hour in range(24):
        expected = weights[hour] / sum(weights)
        assert within(counts[hour] / len(starts), expected, len(starts)), hour


def test_session_starts_follow_weekday_curve(scenario: Scenario, output: Output):
    """Each weekday's share of starts matches weekday weights times the days in the window."""
    starts = [s for s in session_starts(output) if s.date() != BLACK_FRIDAY]
    counts = Counter(s.weekday() for s in starts)
    days = [scenario.start_utc.date() + dt.timedelta(days=n) for n in range(14)]
    exposure = Counter(day.weekday() for day in days if day != BLACK_FRIDAY)
    weights = scenario.traffic.weekday_weights
    total = sum(weights[w] * exposure[w] for w in range(7))
    for weekday in range(7):
        expected = weights[weekday] * exposure[weekday] / total
        assert within(counts[weekday] / len(starts), expected, len(starts)), weekday


def test_calendar_spike_shows(output: Output):
    """Black Friday gets about three times the traffic of the other days (weekday-adjusted)."""
    per_day = Counter(s.date() for s in session_starts(output))
    others = [count for day, count in per_day.items() if day != BLACK_FRIDAY]
    ratio = per_day[BLACK_FRIDAY] / (sum(others) / len(others))
    assert 2.6 < ratio < 3.6


def _transitions(output: Output) -> tuple[Counter[tuple[str, str]], Counter[str]]:
    """Observed (page → next page) counts and visits per page, from the event stream.

    A payment page followed by an order or a payment failure counts as a move to
    confirmation (the confirmation page is only shown once the payment succeeds), and
    the jump from landing to a recovered cart is not a funnel move. Moves from a product
    page after the session's first add to cart follow cart.basket_factor: left out.
    """
    pages: dict[int, list[str]] = defaultdict(list)
    basket: dict[int, set[int]] = defaultdict(set)  # positions of product pages after an add
    added: set[int] = set()
    for e in output.events:
        session, kind = e[4], e[1]
        if kind == "added_to_cart":
            added.add(session)
        if kind == "page_viewed" and not (e[12] or {}).get("recovered_cart"):
            if e[8] == "product" and session in added:
                basket[session].add(len(pages[session]))
            pages[session].append(e[8])
        elif kind == "page_viewed":
            pages[session].append("recovered")
        elif kind in {"payment_failed", "order_placed"} and pages[session][-1] == "payment":
            pages[session].append("confirmation")
    moves: Counter[tuple[str, str]] = Counter()
    visits: Counter[str] = Counter()
    for session, walk in pages.items():
        for at, (here, there) in enumerate(zip(walk, [*walk[1:], "exit"], strict=True)):
            if "recovered" in (here, there) or here == "confirmation" or at in basket[session]:
                continue
            visits[here] += 1
            moves[here, there] += 1
    return moves, visits


def test_funnel_transition_rates_match_configuration(scenario: Scenario, output: Output):
    """Every configured transition is taken at its configured rate (exit included)."""
    moves, visits = _transitions(output)
    funnel = scenario.behaviour.funnel
    checked = 0
    for state, targets in funnel.items():
        if state == PageState.CONFIRMATION:
            continue
        n = visits[state.value]
        assert n > 500, state
        for target, probability in {**targets, "exit": 1 - sum(targets.values())}.items():
            name = target.value if isinstance(target, PageState) else target
            assert within(moves[state.value, name] / n, probability, n), (state, name)
            checked += 1
    assert checked >= 20


def test_events_in_a_session_are_ordered(output: Output):
    """Within a session, sequence numbers count up by one and time never goes back."""
    last: dict[int, tuple[int, int]] = {}
    for e in output.events:
        if e[4] is None:
            continue
        previous = last.get(e[4])
        if previous is not None:
            assert e[7] == previous[0] + 1
            assert e[2] >= previous[1]
        last[e[4]] = (e[7], e[2])


def test_event_ids_follow_time_from_the_first_event(output: Output):
    """Ids count up from 1 in time order, the imported customers' backdated sign-ups and the
    products' listings (both before the start) first."""
    ids = [e[0] for e in output.events]
    assert ids == list(range(1, len(ids) + 1))
    moments = [e[2] for e in output.events]
    assert moments == sorted(moments)
    assert output.events[0][1] in {"signed_up", "product_created"}  # backdated: before start


def test_sessions_end_at_their_last_activity(scenario: Scenario, output: Output):
    """session_ended comes at the visit's last activity, not a session timeout later."""
    last_activity: dict[int, int] = {}
    ended = 0
    for e in output.events:
        if e[4] is None:
            continue
        if e[1] == "session_ended":
            assert e[2] == last_activity[e[4]]
            ended += 1
        else:
            last_activity[e[4]] = e[2]
    assert ended > 1000
    sessions = output.final("sessions").values()
    durations = [s["ended_at"] - s["started_at"] for s in sessions if s["ended_at"] is not None]
    timeout = scenario.behaviour.session_timeout_minutes * 60 * 1_000_000
    assert min(durations) == 0  # a visit of one page lasts no time
    assert sorted(durations)[len(durations) // 2] < timeout


def test_a_visitor_comes_back_no_sooner_than_the_session_timeout(
    scenario: Scenario, output: Output
):
    """A later visit of the same visitor starts at least the timeout after the last ended."""
    timeout = scenario.behaviour.session_timeout_minutes * 60 * 1_000_000
    by_visitor: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for s in output.final("sessions").values():
        if s["ended_at"] is not None:
            by_visitor[s["visitor_id"]].append((s["started_at"], s["ended_at"]))
    gaps = [
        later[0] - earlier[1]
        for visits in by_visitor.values()
        for earlier, later in zip(sorted(visits), sorted(visits)[1:], strict=False)
    ]
    assert len(gaps) > 100
    assert min(gaps) >= timeout


def test_order_totals_add_up(output: Output):
    """Total = lines - discount + shipping + tax, and lines are quantity * unit price."""
    orders, lines = output.final("orders"), output.final("order_line_items")
    by_order: dict[int, int] = defaultdict(int)
    for line in lines.values():
        assert line["total_cents"] == line["quantity"] * line["unit_price_cents"]
        by_order[line["order_id"]] += line["total_cents"]
    assert len(orders) > 1000
    for order in orders.values():
        assert order["subtotal_cents"] == by_order[order["order_id"]]
        assert order["total_cents"] == (
            order["subtotal_cents"]
            - order["discount_cents"]
            + order["shipping_cents"]
            + order["tax_cents"]
        )


def test_order_lines_are_the_cart_at_checkout(output: Output):
    """An order's lines are its cart's live items at checkout, removed ones excluded."""
    items = output.final("cart_items")
    live: dict[int, set[tuple[int, int]]] = defaultdict(set)
    for item in items.values():
        if not item["removed"]:
            live[item["cart_id"]].add((item["product_id"], item["quantity"]))
    lines: dict[int, set[tuple[int, int]]] = defaultdict(set)
    for line in output.final("order_line_items").values():
        lines[line["order_id"]].add((line["product_id"], line["quantity"]))
    for order in output.final("orders").values():
        assert lines[order["order_id"]] == live[order["cart_id"]]


def test_lifecycle_comes_after_purchase_in_order(output: Output):
    """Paid, shipped, delivered, returned and refunded follow the purchase, in that order."""
    steps = ("placed_at", "paid_at", "shipped_at", "delivered_at", "returned_at", "refunded_at")
    statuses = Counter()
    for order in output.final("orders").values():
        statuses[order["status"]] += 1
        moments = [order[step] for step in steps if order[step] is not None]
        assert moments == sorted(moments)
        if order["cancelled_at"] is not None:
            assert order["shipped_at"] is None
            assert order["cancelled_at"] >= order["paid_at"]
    assert {"paid", "shipped", "delivered", "cancelled", "refunded"} <= set(statuses)


def test_customers_exist_before_their_orders(output: Output):
    """A customer's created_at is the sign-up moment, never after their first order."""
    customers = output.final("customers")
    for order in output.final("orders").values():
        assert customers[order["customer_id"]]["created_at"] <= order["placed_at"]


def test_repeat_customers_and_recovered_carts_exist(output: Output):
    """Customers come back and order again; abandoned carts are recovered in later visits."""
    customers = output.final("customers").values()
    repeat = sum(1 for c in customers if c["orders_count"] >= 2)
    assert repeat >= 25  # emergent, not configured directly: a floor, not a rate
    recovered = sum(1 for e in output.events if e[1] == "order_placed" and e[12]["recovered_cart"])
    assert recovered >= 20


def test_returning_share_matches_configuration(scenario: Scenario, output: Output):
    """The share of sessions by returning visitors is close to the configured share, with
    no allowance: visitors of the weeks before the start come back from the first day."""
    flags = [e[12]["is_returning"] for e in output.events if e[1] == "session_started"]
    share = sum(flags) / len(flags)
    assert within(share, scenario.audience.returning_share, len(flags))


def test_references_resolve(output: Output):
    """Every foreign id in every table points at an existing row."""
    customers, sessions = output.final("customers"), output.final("sessions")
    carts, orders, products = (
        output.final("carts"),
        output.final("orders"),
        output.final("products"),
    )
    for order in orders.values():
        assert order["customer_id"] in customers
        assert order["session_id"] in sessions
        assert order["cart_id"] in carts
    for line in output.final("order_line_items").values():
        assert line["order_id"] in orders
        assert line["product_id"] in products
    for item in output.final("cart_items").values():
        assert item["cart_id"] in carts
        assert item["product_id"] in products
    for session in sessions.values():
        assert session["customer_id"] is None or session["customer_id"] in customers
        assert session["order_id"] is None or session["order_id"] in orders


def test_updated_at_only_moves_forward(output: Output):
    """Each later version of a row has an updated_at at least as late as the one before."""
    for table, versions in output.versions.items():
        last: dict[int, int] = {}
        for row in versions:
            row_id, updated = row[0], row[-1]
            assert updated >= last.get(row_id, updated), table
            assert row[-2] <= updated  # created_at <= updated_at
            last[row_id] = updated
