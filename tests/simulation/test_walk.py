"""A visit's walk (``fauxsim/simulation/session.py``): its events laid out as
``fauxsim.events.event`` lays them out, and its steps, one a page."""

from __future__ import annotations

from fauxsim.events import EVENT_COLUMNS, event
from fauxsim.scenario.model import PageState
from fauxsim.simulation import session
from fauxsim.simulation.audience import Visitor
from fauxsim.simulation.engine import Simulation
from fauxsim.simulation.labels import LANDING, PAGE_VIEWED, PRODUCT, PRODUCT_VIEWED
from fauxsim.simulation.session import Visit
from tests.simulation.helpers import small_scenario


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
