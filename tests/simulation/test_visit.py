"""A visit's compiled parts (``fauxsim/simulation/_visit.c``) against their Python twins:
the arrivals and a visit's draws (``engine``, ``randomness``) and the lognormal whole
sampler (``sampling``)."""

from __future__ import annotations

import array
import gc
import math
import shutil
import sys
import sysconfig
from typing import Any, NamedTuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fauxsim.clock import DAY, SECOND
from fauxsim.events import OCCURRED_AT, PROPERTIES, TYPE
from fauxsim.scenario.distributions import LogNormal
from fauxsim.simulation import sampling, session
from fauxsim.simulation.engine import Simulation
from tests.simulation.helpers import collect, compiled_as, small_scenario

needs_compiled = pytest.mark.skipif(
    not (session.COMPILED and sampling.COMPILED),
    reason="_visit is not built in this install",
)


def test_the_compiled_visit_is_built_where_there_is_a_c_compiler():
    """So that the compiled runs cannot skip unnoticed where they should run (CI has gcc)."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip(f"no C compiler ({compiler}): the Python twins are the ones in use")
    assert session.COMPILED
    assert sampling.COMPILED


@needs_compiled
@pytest.mark.parametrize(
    ("arrivals", "sampler"), [(True, False), (False, True), (True, True)], ids=str
)
def test_a_run_gives_the_same_output_with_either_arrivals_and_sampler(
    monkeypatch, arrivals, sampler
):
    """The whole engine, a few days of a small shop, with quirks: event for event, row for row."""
    scenario = small_scenario(quirks={"keep_removed_cart_items": True, "null_fields": 0.01})
    monkeypatch.setattr(session, "COMPILED", False)
    monkeypatch.setattr(sampling, "COMPILED", False)
    expected = collect(scenario)
    monkeypatch.setattr(session, "COMPILED", arrivals)
    monkeypatch.setattr(sampling, "COMPILED", sampler)
    assert collect(scenario) == expected
    # Visits browsed and reached the cart and beyond.
    kinds = {event[TYPE] for event in expected.events}
    assert {"added_to_cart", "order_placed", "searched", "product_viewed"} <= kinds


@needs_compiled
def test_visits_finish_without_the_cyclic_collector():
    """A visit (a Steps around its walk, and its Visit) holds no reference cycle: once
    over, nothing is left for the collector to find."""
    simulation = Simulation(small_scenario(end="2024-03-02"))
    gc.collect()
    gc.disable()
    try:
        simulation.advance(simulation.end)
        unreachable = gc.collect()
    finally:
        gc.enable()
    assert unreachable == 0


def test_simpy_own_loop_resumes_visits_as_the_scheduler_does():
    """run(until=event) is SimPy's own loop: its step() resumes each Steps through its
    callbacks, to the same events."""
    scenario = small_scenario()
    by_scheduler = Simulation(scenario)
    expected = by_scheduler.advance(by_scheduler.start + DAY // 2)
    by_simpy = Simulation(scenario)
    env = by_simpy.env
    env.run(until=env.timeout(DAY // 2))
    assert len(expected) > 500
    assert by_simpy.events == expected


@needs_compiled
@given(
    median=st.floats(min_value=1e-6, max_value=1e12),
    sigma=st.floats(min_value=0, max_value=5),
    cap=st.one_of(st.none(), st.floats(min_value=1e-6, max_value=1e12)),
    unit=st.sampled_from([1, SECOND, DAY]),
    minimum=st.sampled_from([0, 1, SECOND]),
    draws=st.lists(st.floats(min_value=0, max_value=1, exclude_max=True), min_size=2, max_size=2),
)
def test_the_compiled_lognormal_draws_what_the_closure_draws(
    median, sigma, cap, unit, minimum, draws
):
    """Bit for bit, including the clip, the minimum, huge values and their errors."""
    distribution = LogNormal(median=median, sigma=sigma, max=cap)
    compiled = sampling.whole_sampler(distribution, unit, minimum)
    with compiled_as(sampling, compiled=False):
        in_python = sampling.whole_sampler(distribution, unit, minimum)
    assert type(compiled).__name__ == "WholeLogNormal"
    outcomes = []
    for sample in (compiled, in_python):
        try:
            outcomes.append(sample(iter(draws).__next__))
        except (OverflowError, ValueError) as error:
            outcomes.append(type(error))
    assert outcomes[0] == outcomes[1]
    assert type(outcomes[0]) is type(outcomes[1])


@needs_compiled
def test_the_compiled_lognormal_fails_as_python_does_at_the_edges():
    huge = sampling.whole_sampler(LogNormal(median=1e300, sigma=5), DAY, 1)
    with pytest.raises(OverflowError):
        huge(iter([0.999999, 0.0]).__next__)  # inf days
    big = sampling.whole_sampler(LogNormal(median=1e15, sigma=0), DAY, 1)
    assert big(iter([0.5, 0.5]).__next__) == int(1e15 * DAY)  # beyond 64 bits: a Python int
    assert big(iter([0.5, 0.5]).__next__) > 2**63
    with pytest.raises(TypeError, match="one argument"):
        big()
    assert math.isfinite(float(big(iter([0.1, 0.2]).__next__)))


@needs_compiled
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "python"])
def test_session_started_properties_keep_one_key_order(monkeypatch, compiled):
    """JSON keeps a dict's order: session_started's keys are STARTED_KEYS, visits started
    by the compiled arrivals or by their twin."""
    monkeypatch.setattr(session, "COMPILED", compiled)
    events = collect(small_scenario(end="2024-03-02")).events
    started = [event[PROPERTIES] for event in events if event[TYPE] == "session_started"]
    assert started
    assert {tuple(properties) for properties in started} == {session.STARTED_KEYS}


@needs_compiled
@pytest.mark.parametrize(
    "draws", [[math.nan, 0.5], [-3.0, 0.5], [-math.inf, 0.5], [0.5, math.inf], [0.5, -math.inf]]
)
def test_the_compiled_lognormal_meets_bad_draws_as_the_closure_does(draws):
    distribution = LogNormal(median=30, sigma=1, max=600)
    outcomes = []
    for compiled in (True, False):
        with compiled_as(sampling, compiled):
            sample = sampling.whole_sampler(distribution, SECOND, 1)
        try:
            outcomes.append(sample(iter(draws).__next__))
        except ValueError as error:
            outcomes.append(type(error))
    assert outcomes[0] == outcomes[1]


@needs_compiled
@given(
    size=st.integers(min_value=0, max_value=12),
    start=st.integers(min_value=-15, max_value=15),
    stop=st.integers(min_value=-15, max_value=15),
    count=st.integers(min_value=0, max_value=20),
)
def test_compiled_draws_draw_what_topped_up_draws(size, start, stop, count):
    """A block's slice as Python slices it (negative positions, out of range), then the stream."""
    from fauxsim.randomness import Purpose, entity_draws, topped_up, uniform_block  # noqa: PLC0415

    assert session.Draws is not None
    then = entity_draws(3, Purpose.SESSION)
    block = uniform_block(3, Purpose.SESSION_DRAWS, 1, size)
    compiled = session.Draws(block, start, stop, then, 41)
    in_python = topped_up(block, start, stop, then, 41)
    assert [compiled() for _ in range(count)] == [in_python() for _ in range(count)]


@needs_compiled
def test_compiled_draws_refuse_what_is_not_a_block_of_doubles():
    from fauxsim.randomness import Purpose, entity_draws  # noqa: PLC0415

    assert session.Draws is not None
    then = entity_draws(3, Purpose.SESSION)
    with pytest.raises(TypeError, match="buffer of doubles"):
        session.Draws(array.array("f", [0.5]), 0, 1, then, 1)
    with pytest.raises(TypeError):
        session.Draws([0.5], 0, 1, then, 1)
    with pytest.raises(TypeError, match="Draws"):
        session.Draws(array.array("d", [0.5]), 0, 1, then)
    draw = session.Draws(array.array("d", [0.5]), 0, 1, then, 1)
    with pytest.raises(TypeError, match="no arguments"):
        draw(1)


@needs_compiled
def test_compiled_draws_refuse_a_stream_that_draws_from_them():
    """then(entity) drawing from the very draws it is making: an error, not a recursion."""
    assert session.Draws is not None
    holder: list[Any] = []

    def then(_entity: int) -> Any:
        return holder[0]()

    holder.append(session.Draws(array.array("d", []), 0, 0, then, 1))
    with pytest.raises(ValueError, match="drew from its own draws"):
        holder[0]()


@needs_compiled
def test_compiled_draws_copy_their_slice_and_hold_no_buffer(monkeypatch):
    """The block is free at once: resizable, collectable in a cycle without a BufferError
    (a held memoryview, cleared by the collector, raised one), read aligned or not."""
    from fauxsim.randomness import Purpose, entity_draws, uniform_block  # noqa: PLC0415

    assert session.Draws is not None
    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    block = uniform_block(3, Purpose.SESSION_DRAWS, 1, 8)  # older: the collector clears it first
    holder: list[Any] = []
    holder.append(session.Draws(block, 0, 8, holder.append, 1))
    first = list(block)[:2]
    del block, holder
    gc.collect()
    assert unraisable == []
    values = array.array("d", [0.25, 0.5])
    then = entity_draws(3, Purpose.SESSION)
    draw = session.Draws(values, 0, 2, then, 1)
    values.append(0.75)  # no buffer is held
    assert [draw(), draw()] == [0.25, 0.5]
    misaligned = memoryview(bytearray(1) + array.array("d", first).tobytes())[1:].cast("d")
    draw = session.Draws(misaligned, 0, 2, then, 1)
    assert [draw(), draw()] == first


@needs_compiled
def test_compiled_draws_refuse_a_stream_that_draws_from_itself():
    """A stream whose draw draws from the Draws it serves: an error, not a stack overflow."""
    assert session.Draws is not None
    holder: list[Any] = []
    holder.append(session.Draws(array.array("d", []), 0, 0, lambda _entity: holder[0], 1))
    with pytest.raises(ValueError, match="drew from its own draws"):
        holder[0]()


@needs_compiled
def test_compiled_arrivals_start_what_the_python_ones_start_in_a_window_cut_mid_hour():
    """Sessions of the first and last hours fall partly outside the window: skipped alike."""
    scenario = small_scenario(start="2024-03-01T10:30:00", end="2024-03-02T07:15:00")
    with compiled_as(session, compiled=False):
        expected = collect(scenario)
    output = collect(scenario)
    assert output == expected
    starts = [event[OCCURRED_AT] for event in expected.events if event[TYPE] == "session_started"]
    simulation = Simulation(scenario)
    assert simulation.start <= min(starts)
    assert max(starts) < simulation.end


def _arrivals_arguments(
    simulation: Simulation, plan: Any = None, shared: Any = None
) -> dict[str, Any]:
    from fauxsim.clock import HOUR  # noqa: PLC0415
    from fauxsim.randomness import Purpose, entity_draws  # noqa: PLC0415

    return {
        "shared": simulation.visit_shared if shared is None else shared,
        "plan": plan or simulation._hour_plan, "start": simulation.start,
        "end": simulation.start + 2 * HOUR, "hour_start": simulation.start, "hour": HOUR,
        "returning_share": 0.5, "width": 64, "then": entity_draws(1, Purpose.SESSION),
        "take": simulation.take_returning, "new_visitor": simulation.new_visitor,
        "session_id": 0, "stride": 1,
    }  # fmt: skip


def _arrivals(simulation: Simulation, plan: Any = None, shared: Any = None) -> Any:
    assert session.Arrivals is not None
    return session.Arrivals(**_arrivals_arguments(simulation, plan, shared))


@needs_compiled
def test_compiled_arrivals_take_every_argument_by_name():
    """The boundary names its arguments: a positional call or one left out is refused."""
    simulation = Simulation(small_scenario())
    assert session.Arrivals is not None
    with pytest.raises(TypeError, match="positional"):
        session.Arrivals(simulation.visit_shared)
    arguments = _arrivals_arguments(simulation)
    del arguments["stride"]
    with pytest.raises(TypeError, match="every argument is required, by keyword"):
        session.Arrivals(**arguments)
    with pytest.raises(ValueError, match="stride > 0"):
        session.Arrivals(**{**_arrivals_arguments(simulation), "stride": 0})


@needs_compiled
def test_compiled_arrivals_run_and_end_as_a_generator_does():
    simulation = Simulation(small_scenario())
    arrivals = _arrivals(simulation)
    with pytest.raises(TypeError, match="just-started"):
        arrivals.send(5)
    now, delays = simulation.start, []
    delay = arrivals.send(None)
    while True:
        delays.append(delay)
        now += delay
        try:
            delay = arrivals.send(now)
        except StopIteration:
            break
    assert all(delay >= 0 for delay in delays)
    assert sum(delays) == 2 * 3600 * 10**6  # to the end of the second hour
    assert len(delays) > 10  # one wait per session, about
    with pytest.raises(StopIteration):
        arrivals.send(now)
    closed = _arrivals(simulation)
    closed.send(None)
    closed.close()
    with pytest.raises(StopIteration):
        next(closed)
    thrown = _arrivals(simulation)
    thrown.send(None)
    with pytest.raises(KeyError, match="stop"):
        thrown.throw(KeyError("stop"))
    with pytest.raises(StopIteration):
        next(thrown)


@needs_compiled
def test_compiled_arrivals_refuse_to_be_resumed_from_their_own_plan():
    simulation = Simulation(small_scenario())
    holder: list[Any] = []

    def plan(hour_start: int) -> Any:
        return holder[0].send(hour_start)

    holder.append(_arrivals(simulation, plan))
    with pytest.raises(ValueError, match="already executing"):
        holder[0].send(None)
    with pytest.raises(StopIteration):  # it ended with the error
        holder[0].send(0)


@needs_compiled
def test_compiled_arrivals_refuse_a_plan_of_another_shape():
    simulation = Simulation(small_scenario())
    with pytest.raises(TypeError, match="moments, block"):
        _arrivals(simulation, lambda _hour: ((1, 2), None)).send(None)


@needs_compiled
def test_a_throw_a_generator_refuses_leaves_the_body_as_it_was():
    """From the fourth review: throw(5) ended the arrivals (and a walk) before refusing it."""
    simulation = Simulation(small_scenario())
    arrivals = _arrivals(simulation)
    delay = arrivals.send(None)
    for refused in ((5,), (KeyError, None, 5), (KeyError("x"), "value")):
        with pytest.raises(TypeError):
            arrivals.throw(*refused)
    assert arrivals.send(simulation.start + delay) >= 0  # still arriving
    arrivals.close()
    stop = StopIteration()
    with pytest.raises(StopIteration) as raised:  # once ended, raised as it is
        arrivals.throw(stop)
    assert raised.value is stop


@needs_compiled
def test_a_run_keeps_the_parts_it_was_built_with_when_a_flag_changes(monkeypatch):
    """The compiled parts are chosen once, when the Simulation is built: a flag turned off
    mid-run gives no hybrid (its visits still arrive from C, its events are the same)."""
    from fauxsim.simulation.compiled_parts import CompiledParts  # noqa: PLC0415

    scenario = small_scenario(end="2024-03-02")
    expected = Simulation(scenario)
    assert expected.parts == CompiledParts(visits=True, sampler=True)
    middle = expected.start + DAY // 2
    expected_events = [*expected.advance(middle), *expected.advance(expected.end)]

    simulation = Simulation(scenario)
    events = list(simulation.advance(middle))
    for module in (session, sampling):
        monkeypatch.setattr(module, "COMPILED", False)
    waiting = [*simulation.env._queue, *simulation.env._later]
    bodies = [getattr(getattr(entry[-1], "_send", None), "__self__", None) for entry in waiting]
    assert any(isinstance(body, session.Arrivals) for body in bodies)
    events += simulation.advance(simulation.end)
    assert events == expected_events
    assert Simulation(scenario).parts == CompiledParts(visits=False, sampler=False)


@needs_compiled
def test_the_shared_interface_is_declared_once_by_name():
    """session.VisitShared names every item _visit.c reads, in its order; Arrivals refuses a
    plain tuple, or one whose fields are not _visit.SHARED_FIELDS (a renamed item)."""
    from fauxsim.simulation import _visit  # noqa: PLC0415
    from fauxsim.simulation.session import VisitShared  # noqa: PLC0415

    assert VisitShared._fields == _visit.SHARED_FIELDS
    simulation = Simulation(small_scenario())
    renamed = ["start" + name for name in VisitShared._fields]
    Renamed = NamedTuple("Renamed", [(name, Any) for name in renamed])
    for shared in (tuple(simulation.visit_shared), Renamed(*simulation.visit_shared)):
        with pytest.raises(TypeError, match="SHARED_FIELDS"):
            _arrivals(simulation, shared=shared)
