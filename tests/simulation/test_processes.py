"""Light processes (``Steps``) keep SimPy's ordering and free themselves."""

from __future__ import annotations

import gc
import math
import weakref

import pytest
import simpy
from hypothesis import given
from hypothesis import strategies as st

from fauxsim.simulation.processes import SimClock, Steps


@given(
    st.lists(st.lists(st.integers(min_value=0, max_value=30), max_size=6), max_size=12),
    st.sampled_from([None, 7, 40]),
    # Times that cross from one to two and from two to three of CPython's 30-bit digits.
    st.sampled_from([0, 2**30 - 15, 2**60 - 15]),
)
def test_steps_wake_in_the_order_plain_simpy_processes_would(delays, until, start):
    """Many bodies with ties in time: the order of their steps is SimPy's, to the tie."""

    def steps_body(name: int, waits: list[int], seen: list[tuple[int, int]]) -> Steps.Body:
        now = 0
        for wait in waits:
            now = yield wait
            seen.append((name, now))

    def simpy_body(
        env: simpy.Environment, name: int, waits: list[int], seen: list[tuple[int, int]]
    ):
        for wait in waits:
            yield env.timeout(wait)
            seen.append((name, env.now))

    ours: list[tuple[int, int]] = []
    theirs: list[tuple[int, int]] = []
    clock, plain = SimClock(initial_time=start), simpy.Environment(initial_time=start)
    for name, waits in enumerate(delays):
        Steps(clock, steps_body(name, waits, ours))
        plain.process(simpy_body(plain, name, waits, theirs))
    clock.run(until=None if until is None else start + until)
    plain.run(until=None if until is None else start + until)
    assert ours == theirs


def test_simpy_events_with_float_times_keep_their_place():
    """A SimPy timeout of a fractional delay sorts among the integer steps by its time."""
    env = SimClock(initial_time=0)
    seen: list[tuple[str, float]] = []

    def body() -> Steps.Body:
        for _ in range(3):
            now = yield 10
            seen.append(("steps", now))

    def simpy_process():
        yield env.timeout(10.5)
        seen.append(("simpy", env.now))
        yield env.timeout(9.5)
        seen.append(("simpy", env.now))

    Steps(env, body())
    env.process(simpy_process())
    env.run()
    assert seen == [("steps", 10), ("simpy", 10.5), ("steps", 20), ("simpy", 20.0), ("steps", 30)]


@pytest.mark.parametrize("until", [None, math.inf])
def test_an_event_at_time_inf_runs_as_in_plain_simpy(until):
    """``run()`` processes it; ``run(until=inf)`` stops before it, as SimPy does."""
    runs = []
    for env in (simpy.Environment(initial_time=0), SimClock(initial_time=0)):
        seen: list[float] = []
        env.timeout(math.inf).callbacks.append(lambda _, env=env, seen=seen: seen.append(env.now))
        env.run(until=until)
        runs.append(seen)
    assert runs[0] == runs[1] == ([math.inf] if until is None else [])


def test_an_error_in_a_body_stops_the_run_with_that_error():
    env = SimClock(initial_time=0)

    def body() -> Steps.Body:
        yield 5
        msg = "no such product"
        raise KeyError(msg)

    Steps(env, body())
    with pytest.raises(KeyError, match="no such product"):
        env.run(until=10)


def test_steps_interleave_with_simpy_timeouts_in_time_order():
    """A Steps body and a plain SimPy process wake in the order of their times."""
    env = SimClock(initial_time=0)
    seen: list[tuple[str, int]] = []

    def body(start: int) -> Steps.Body:
        seen.append(("steps", start))
        now = yield 10
        seen.append(("steps", now))
        now = yield 20
        seen.append(("steps", now))

    def simpy_process():
        for _ in range(3):
            yield env.timeout(15)
            seen.append(("simpy", env.now))

    Steps(env, body(0))
    env.process(simpy_process())
    env.run()
    assert seen == [
        ("steps", 0),
        ("steps", 10),
        ("simpy", 15),
        ("steps", 30),
        ("simpy", 30),
        ("simpy", 45),
    ]


def test_a_delayed_start_runs_the_first_step_at_that_time():
    """With a delay, nothing of the body runs before the delay has passed."""
    env = SimClock(initial_time=100)
    seen: list[int] = []

    def body() -> Steps.Body:
        seen.append(env.now)
        yield 0

    Steps(env, body(), delay=50)
    assert seen == []
    env.run()
    assert seen == [150]


def test_run_until_stops_before_steps_due_at_that_time():
    """A step due exactly at ``until`` runs in the next advance, as SimPy timeouts do."""
    env = SimClock(initial_time=0)
    seen: list[int] = []

    def body() -> Steps.Body:
        now = yield 10
        seen.append(now)

    Steps(env, body())
    env.run(until=10)
    assert seen == []
    env.run(until=11)
    assert seen == [10]


def test_finished_processes_are_freed_without_the_cyclic_collector():
    """A process whose body returned is freed by reference counting alone: no cycle."""

    def body() -> Steps.Body:
        yield 5

    env = SimClock(initial_time=0)
    gc.disable()
    try:
        process = weakref.ref(Steps(env, body()))
        env.run()
        assert process() is None
    finally:
        gc.enable()


def test_a_simpy_process_cannot_wait_for_steps():
    """Nothing can wait for a Steps process: trying fails at once rather than silently."""
    env = SimClock(initial_time=0)

    def body() -> Steps.Body:
        yield 10

    steps = Steps(env, body())

    def waiter():
        yield steps

    env.process(waiter())
    with pytest.raises(AttributeError):
        env.run()


def _urgent_at(env: simpy.Environment, delay: int, seen: list[str], name: str) -> None:
    event = simpy.Event(env)
    event._ok, event._value = True, None  # what Event.succeed sets
    event.callbacks.append(lambda _: seen.append(name))
    env.schedule(event, simpy.events.URGENT, delay)


def test_run_until_stops_where_simpy_stops():
    """Urgent events due at ``until`` run if scheduled before the call, as in plain SimPy."""
    runs = []
    for env in (simpy.Environment(initial_time=0), SimClock(initial_time=0)):
        seen: list[str] = []
        _urgent_at(env, 10, seen, "urgent before")
        env.timeout(10).callbacks.append(lambda _, seen=seen: seen.append("normal"))
        env.run(until=10)
        seen.append(f"stopped at {env.now}")
        _urgent_at(env, 0, seen, "urgent after")
        env.run(until=11)
        runs.append(seen)
    assert runs[0] == runs[1] == ["urgent before", "stopped at 10", "urgent after", "normal"]


def test_a_failed_simpy_event_crashes_the_run():
    """A SimPy process that raises stops ``run`` with its error, as in plain SimPy."""
    env = SimClock(initial_time=0)

    def failing():
        yield env.timeout(5)
        msg = "boom"
        raise ValueError(msg)

    env.process(failing())
    with pytest.raises(ValueError, match="boom"):
        env.run(until=10)


def test_run_until_an_event_returns_its_value():
    """``run(until=event)`` is SimPy's own: it returns the event's value."""
    env = SimClock(initial_time=0)
    assert env.run(until=env.timeout(5, value="done")) == "done"
    assert env.now == 5


@pytest.mark.parametrize("then", ["waits", "ends"])
def test_a_body_may_start_simpy_processes(then):
    """A SimPy process started by a Steps body starts at once, before other steps due then.
    The body's own entry is then no longer on top: it is found all the same, whether the
    body waits on or ends there."""
    env = SimClock(initial_time=0)
    seen: list[tuple[str, int]] = []

    def simpy_process():
        seen.append(("simpy", env.now))
        yield env.timeout(1)
        seen.append(("simpy", env.now))

    def starter() -> Steps.Body:
        yield 10
        env.process(simpy_process())  # its start is urgent, at 10, and sorts first
        if then == "waits":
            now = yield 5
            seen.append(("starter", now))

    def other() -> Steps.Body:
        now = yield 10
        seen.append(("other", now))
        now = yield 10
        seen.append(("other", now))

    Steps(env, starter())
    Steps(env, other())
    env.run()
    expected = [("simpy", 10), ("other", 10), ("simpy", 11), ("starter", 15), ("other", 20)]
    assert seen == [entry for entry in expected if then == "waits" or entry[0] != "starter"]
    assert env._queue == []  # nothing left behind, nothing lost
