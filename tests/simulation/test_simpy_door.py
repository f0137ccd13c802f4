"""SimPy's internals the engine relies on, each named, so that an upgrade that changes one
fails here with what changed (``fauxsim/simulation/processes.py`` is the one module that
touches them; the ``simpy`` pin in ``pyproject.toml`` is the versions this file passed on).
"""

from __future__ import annotations

import ast
import heapq
import itertools
from pathlib import Path

import simpy
from simpy.core import StopSimulation
from simpy.events import NORMAL, URGENT

from fauxsim.simulation.processes import SimClock

PACKAGE = Path(__file__).resolve().parents[2] / "fauxsim"


def test_the_environment_keeps_its_clock_queue_and_ids_where_the_door_reads_them():
    env = simpy.Environment(initial_time=5)
    assert env.__dict__.get("_now") == 5, "simpy.Environment._now: the clock, an attribute"
    queue = env.__dict__.get("_queue")
    assert isinstance(queue, list), "simpy.Environment._queue: a heapq list"
    assert isinstance(env.__dict__.get("_eid"), itertools.count), (
        "simpy.Environment._eid: an itertools.count of event ids"
    )
    event = env.event()
    env.schedule(event, NORMAL, 3)
    assert queue == [(8, NORMAL, 0, event)], (
        "simpy.Environment.schedule: pushes (time, priority, id, event) onto _queue"
    )
    assert (URGENT, NORMAL) == (0, 1), "simpy.events.URGENT and NORMAL: priorities 0 and 1"


def test_step_pops_the_first_entry_and_calls_its_callbacks_with_the_event():
    env = simpy.Environment()
    seen = []
    event = env.event()
    event._ok, event._value = True, "v"  # as succeed() leaves them
    event.callbacks = (seen.append,)  # a tuple: SimPy only iterates the callbacks
    heapq.heappush(env._queue, (2, NORMAL, next(env._eid), event))
    env.step()
    assert env._now == 2, "simpy.Environment.step: sets _now to the entry's time"
    assert seen == [event], "simpy.Environment.step: calls each of event.callbacks(event)"
    assert event.callbacks is None, "simpy.Environment.step: sets event.callbacks to None"
    assert env._queue == [], "simpy.Environment.step: heappops the entry from _queue"


def test_a_failed_event_nobody_defused_is_raised_by_step():
    """What Steps' ``_ok = True`` keeps SimPy from doing with a visit."""
    env = simpy.Environment()
    event = env.event()
    event._ok, event._value = False, ValueError("boom")  # and no _defused attribute
    event.callbacks = []
    heapq.heappush(env._queue, (0, NORMAL, next(env._eid), event))
    try:
        env.step()
    except ValueError:
        pass
    else:  # pragma: no cover - only if SimPy changed
        raise AssertionError("simpy.Environment.step: no longer reads event._ok, _value, _defused")


def test_run_until_an_event_stops_with_stop_simulation():
    """SimClock.run hands run(until=event) to SimPy and catches StopSimulation itself."""
    assert issubclass(StopSimulation, Exception), "simpy.core.StopSimulation"
    env = SimClock(initial_time=0)
    assert env.run(until=env.timeout(3, value="done")) == "done"


def test_no_other_module_imports_simpy():
    """The door is one module: the others reach SimPy through it (ruff's banned-api says so
    too; this holds where ruff is not run)."""
    importers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(name == "simpy" or name.startswith("simpy.") for name in names):
                importers.append(path.relative_to(PACKAGE.parent).as_posix())
    assert sorted(set(importers)) == ["fauxsim/simulation/processes.py"]
