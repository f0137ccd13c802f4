"""A visit's walk (``fauxsim/simulation/session.py``): its events laid out as
``fauxsim.events.event`` lays them out, and its steps, one a page."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from fauxsim.events import (
    EVENT_COLUMNS,
    PAGE,
    PRODUCT_ID,
    PROPERTIES,
    SEQUENCE,
    SESSION_ID,
    TYPE,
    event,
)
from fauxsim.scenario.loading import load_scenario_text
from fauxsim.scenario.model import PageState
from fauxsim.scenario.problems import InvalidScenarioError
from fauxsim.simulation import session
from fauxsim.simulation.audience import Visitor
from fauxsim.simulation.catalog import search_queries
from fauxsim.simulation.engine import Simulation
from fauxsim.simulation.labels import LANDING, PAGE_VIEWED, PRODUCT, PRODUCT_VIEWED
from fauxsim.simulation.session import Visit
from fauxsim.tables import SESSIONS
from tests.simulation.helpers import collect, small_scenario

_SESSION = {column.name: at for at, column in enumerate(SESSIONS.columns)}


def _visit(simulation: Simulation) -> Visit:
    visitor = Visitor(3, 0, simulation.visitor_kinds)
    behaviour = simulation.behaviour.for_session(
        visitor.device, "direct", returning=False, active=()
    )
    return Visit(simulation, 11, visitor, iter([0.5] * 50).__next__, behaviour, 1_000)


def test_a_visit_lays_out_its_events_as_the_named_constructor_does():
    simulation = Simulation(small_scenario())
    simulation.events.clear()
    visit = _visit(simulation)
    visit.customer_id = 5
    visit.emit(PRODUCT_VIEWED, PRODUCT, 42, 2, {"k": 1})
    (emitted,) = simulation.events
    assert len(emitted) == len(EVENT_COLUMNS)
    assert emitted == event(
        emitted[0], PRODUCT_VIEWED, 1_000, session_id=11, visitor_id=3, customer_id=5,
        sequence=1, page=PRODUCT, product_id=42, quantity=2, properties={"k": 1},
    )  # fmt: skip


def test_every_page_but_the_confirmation_has_a_step_and_any_other_page_is_viewed():
    """The confirmation may wait (a retried payment): the walk takes it itself. A page
    with no step of its own (the landing page, reached again) emits its page view."""
    assert set(session.STEPS) | {LANDING, "confirmation"} == {page.value for page in PageState}
    simulation = Simulation(small_scenario())
    simulation.events.clear()
    visit = _visit(simulation)
    session.STEPS.get(LANDING, session._view_page)(visit, LANDING, PRODUCT)
    (viewed,) = simulation.events
    assert (viewed[1], viewed[8], viewed[7]) == (PAGE_VIEWED, LANDING, 1)


def _entry_scenario() -> Any:
    return small_scenario(
        end="2024-03-03",
        audience={
            "existing_customers": 40,
            "channels": {
                "ads": {"weight": 1, "entry_pages": {"product": 1}},
                "search_engine": {"weight": 1, "entry_pages": {"category": 0.5, "search": 0.5}},
                "typed": {"weight": 1},  # none given: the landing page
            },
        },
    )


def test_sessions_enter_on_the_pages_their_channel_configures():
    output = collect(_entry_scenario())
    by_session = {}
    entered: dict[str, Counter[str]] = {}
    for row in output.events:
        if row[TYPE] == "session_started":
            channel = row[PROPERTIES]["channel"]
            entered.setdefault(channel, Counter())[row[PAGE]] += 1
            by_session[row[SESSION_ID]] = row[PAGE]
    assert set(entered["ads"]) == {"product"}
    assert set(entered["typed"]) == {"landing"}
    assert set(entered["search_engine"]) == {"category", "search"}
    searching = entered["search_engine"]
    assert abs(searching["search"] / sum(searching.values()) - 0.5) < 0.08  # ~500 sessions
    # The entry page's own events come first, on that page: a product entry views a product.
    first_view = {}
    for row in output.events:
        if row[TYPE] in {"page_viewed", "searched"} and row[SESSION_ID] not in first_view:
            first_view[row[SESSION_ID]] = row
    for session_id, page in by_session.items():
        view = first_view[session_id]
        assert view[PAGE] == page
        assert view[SEQUENCE] == 2
        if page == "product":
            assert view[PRODUCT_ID] is not None
    # The sessions table keeps the entry page.
    sessions = output.versions["sessions"]
    assert {row[_SESSION["landing_page"]] for row in sessions} == {
        "product", "category", "search", "landing"
    }  # fmt: skip


def test_one_entry_page_draws_nothing_so_older_scenarios_keep_their_data():
    """A channel without entry pages (as every channel was written before them) starts every
    session on the landing page with no draw, as one with a single entry page does: the
    events are the same."""
    plain = small_scenario().audience.channels
    written_before = {
        name: channel.model_dump(exclude_none=True, exclude={"entry_pages"})
        for name, channel in plain.items()
    }
    one_page = {name: {**channel, "entry_pages": {"landing": 2}}
                for name, channel in written_before.items()}  # fmt: skip
    runs = [
        collect(small_scenario(audience={"existing_customers": 40, "channels": channels}))
        for channels in (written_before, one_page)
    ]
    assert runs[0].events == runs[1].events
    assert {row[PAGE] for row in runs[0].events if row[TYPE] == "session_started"} == {"landing"}


@pytest.mark.parametrize(
    ("pages", "message"),
    [
        ("{cart: 1}", "cannot start on cart: entry pages are landing, category, search, product"),
        ("{product: 0}", "at least one entry page must have a weight above 0"),
    ],
)
def test_entry_pages_a_session_cannot_start_on_are_refused_with_a_message(pages, message):
    text = (
        "name: x\nstart: 2024-03-01\nend: 2024-03-02\n"
        f"audience:\n  channels:\n    ads: {{weight: 1, entry_pages: {pages}}}\n"
    )
    with pytest.raises(InvalidScenarioError, match=message) as raised:
        load_scenario_text(text, "shop.yaml")
    assert "audience.channels.ads.entry_pages" in str(raised.value)


def test_a_channel_without_entry_pages_keeps_the_digest_it_had():
    """Its dump (what the digest hashes) has no entry_pages key, as before they existed."""
    text = (
        "name: x\nstart: 2024-03-01\nend: 2024-03-02\n"
        "audience:\n  channels:\n    ads: {weight: 1}\n"
    )
    dumped = load_scenario_text(text, "shop.yaml").model_dump(mode="json")
    assert dumped["audience"]["channels"]["ads"] == {
        "weight": 1.0, "utm_source": None, "utm_medium": None, "utm_campaign": None
    }  # fmt: skip
    given = load_scenario_text(
        text.replace("{weight: 1}", "{weight: 1, entry_pages: {search: 1}}"), "x"
    )
    assert given.model_dump(mode="json")["audience"]["channels"]["ads"]["entry_pages"] == {
        "search": 1.0
    }


def test_search_queries_read_like_searches_for_the_product():
    """What people type (#18 item 13): the thing, its name without brackets, or the thing
    with a word of intent; never a fragment of the name such as 'pack)'."""
    assert set(search_queries("Merino Crew Socks (3 pack)")) == {
        "socks", "merino crew socks", "socks sale", "best socks", "cheap socks", "socks gift"
    }  # fmt: skip
    assert "smart plug" in search_queries("Smart Plug (2 pack)")
    assert search_queries("Nordic Throw Blanket")[0] == "throw blanket"
    output = collect(_entry_scenario())
    queries = [row[PROPERTIES]["query"] for row in output.events if row[TYPE] == "searched"]
    assert len(set(queries)) > 10
    for query in queries:
        assert query == query.lower().strip()
        assert not set(query) & set("()[]{}!?,.;:"), query
