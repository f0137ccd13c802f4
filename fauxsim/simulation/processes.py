"""Light SimPy processes: generators that yield delays and are sent back the time.

This module is the one door to SimPy: the only one that imports it (a ruff ``banned-api``
rule keeps it so) and that touches its private state: the environment's ``_queue``,
``_eid`` and ``_now``, an event's ``callbacks``, ``_ok`` and ``_value``. Those are SimPy
internals, so the ``simpy`` pin in ``pyproject.toml`` is the versions tested, and
``tests/simulation/test_simpy_door.py`` names the internal that changed when an upgrade
breaks one. No other module, in Python or in C, touches them or poses as a SimPy event.

``simpy.Process`` wraps each generator in an ``Initialize`` event, needs a new
``Timeout`` object for every wait and schedules a completion event at its end. For
millions of short visits that machinery costs more than the model itself. A
:class:`Steps` process runs on the same environment and event queue, so SimPy still
orders everything in time, but one reusable event object carries the process from
step to step:

    def visit(start: int) -> Steps.Body:
        now = start                # the first step runs at the moment it was started for
        now = yield 30 * SECOND    # wait 30 s; SimPy sends back the time it resumes at
        ...

A body yields non-negative integer delays (microseconds, ``fauxsim.clock``); it ends
by returning. It never sees SimPy events, and nothing can wait for it to end.
"""

from __future__ import annotations

from collections.abc import Generator
from heapq import heapify, heappop, heappush, heapreplace
from math import inf
from typing import Any, TypeAlias

import simpy
from simpy.core import StopSimulation
from simpy.events import NORMAL, URGENT

__all__ = ["NORMAL", "SimClock", "Steps"]


class SimClock(simpy.Environment):
    """A SimPy environment whose clock is integer microseconds (``fauxsim.clock``).

    Its ``run`` processes SimPy's own queue in SimPy's own order, but resumes
    :class:`Steps` processes inline, without a call to ``step`` and its callback loop
    for each: at millions of steps, that machinery costs as much as the model. Any
    other event is handed to ``step``, so SimPy events keep their full semantics
    (but for one detail: while a body runs, its own entry is still on top of the queue).

    A body's next step due at or after the end of the running ``run(until)`` waits in a
    queue of its own, :attr:`_later`, moved into SimPy's queue when a run reaches it (or
    anything steps or peeks). Most entries are order lifecycles waiting days; out of the
    way, SimPy's queue holds the next hour's, and each step sifts through a few levels of
    the heap instead of a dozen. Entries are unique (their ids are), so the order in which
    events run is the same.
    """

    _now: int  # only ever advanced by integer delays

    def __init__(self, initial_time: int = 0) -> None:
        super().__init__(initial_time)
        self._later: list[Any] = []  # a heapq of entries at or after the running horizon

    def _move_later(self, before: float | None) -> None:
        """Move the entries of :attr:`_later` due before ``before`` (None: all) into SimPy's
        queue."""
        later, queue = self._later, self._queue
        if before is None:
            for entry in later:
                heappush(queue, entry)
            later.clear()
            return
        while later and later[0][0] < before:
            heappush(queue, heappop(later))

    def step(self) -> None:
        """As ``simpy.Environment.step``, with every entry waiting in :attr:`_later`."""
        self._move_later(None)
        super().step()

    def peek(self) -> float:
        """As ``simpy.Environment.peek``, with every entry waiting in :attr:`_later`."""
        self._move_later(None)
        return super().peek()

    @property
    def now(self) -> int:
        return self._now

    def run(self, until: int | float | simpy.Event | None = None) -> Any:  # noqa: ANN401, PYI041 - SimPy's signature
        """As ``simpy.Environment.run``; a time ``until`` stops before events due then."""
        if isinstance(until, simpy.Event):
            self._move_later(None)
            return super().run(until)
        try:
            if until is None:
                self._run_before(None)  # everything, events at time inf included
                return None
            at = until if isinstance(until, int) else float(until)
            if at <= self._now:
                msg = f"until ({at}) must be greater than the current simulation time"
                raise ValueError(msg)
            # SimPy stops at an urgent event it schedules at ``at``, with the next id:
            # what was scheduled urgent at ``at`` before it runs too (none of ours is).
            stop = (at, URGENT, next(self._eid))
            self._run_before(at)
            # Urgent events due at ``at``: SimPy's own step, what waits in _later being due
            # later still (at or after ``at``, and never urgent).
            queue, step_simpy = self._queue, super().step
            while queue and queue[0][:3] < stop:
                step_simpy()
        except StopSimulation as stopped:  # an event passed to an earlier run(until=...)
            return stopped.args[0]
        self._now = at  # type: ignore[assignment]  # an int but for run(until=float)
        return None

    def _run_before(self, at: float | None) -> None:
        """Process every event due before ``at`` (every event: None), in SimPy's order."""
        queue, next_id, resume = self._queue, self._eid.__next__, _RESUME
        # Events at time inf run only when there is no ``at`` (SimPy's run() does so too).
        limit = inf if at is None else at
        self._move_later(at)
        later, step_simpy = self._later, super().step
        while queue:
            first = queue[0]
            now, _, _, event = first
            if now >= limit and (at is not None or now > limit):
                return
            callbacks = event.callbacks
            if callbacks is not resume:
                step_simpy()  # the first entry of all: whatever waits in _later is due later
                continue
            # A Steps process between steps: resume it here. Its entry stays on top of the
            # queue while its body runs, so the next step replaces it in one sift.
            self._now = now  # type: ignore[assignment]  # SimPy types its queue's times as floats
            send = event._send  # type: ignore[attr-defined]  # noqa: SLF001 - a Steps (its callbacks say so)
            try:
                delay = send(now)
            except StopIteration:
                event.callbacks = None  # type: ignore[assignment]  # processed, as SimPy leaves it
                if queue[0] is first:
                    heappop(queue)
                else:
                    _remove(queue, first)
                continue
            due = now + delay
            step = (due, NORMAL, next_id(), event)
            if due >= limit:  # beyond this run: out of SimPy's queue until a run reaches it
                if queue[0] is first:
                    heappop(queue)
                else:
                    _remove(queue, first)
                heappush(later, step)
            elif queue[0] is first:
                heapreplace(queue, step)
            else:
                _remove(queue, first)
                heappush(queue, step)


def _remove(queue: list[Any], first: Any) -> None:  # noqa: ANN401 - a SimPy queue entry
    """Remove ``first`` from the heap ``queue``: the top entry unless the body went before it."""
    if queue[0] is first:
        heappop(queue)
    else:  # the body scheduled a SimPy event urgent at this very moment: it sorts first
        queue.remove(first)
        heapify(queue)


class Steps(simpy.Event):
    """Runs ``body``, resuming it after each delay it yields.

    With a ``delay`` the first step runs that long from now, as its own SimPy event;
    without, it runs at once, inside the step that starts the process (as an urgent
    ``simpy.Process`` start would, but with no event to schedule).
    """

    # A process body: yields delays in micros, is sent the simulated time it resumes at.
    Body: TypeAlias = Generator[int, int, None]

    # What SimPy reads when it processes an event: the same for every Steps, so kept on
    # the class rather than set on each of millions of processes.
    _ok = True
    _value = None

    def __init__(self, env: SimClock, body: Body, delay: int | None = None) -> None:
        # What simpy.Event.__init__ does (env, callbacks); the first step is the callback.
        self.env = self._clock = env
        send = self._send = body.send
        if delay is not None:
            self.callbacks = _START
            env.schedule(self, NORMAL, delay)
            return
        # The first step, at once: what _start does, without a call (a visit starts so).
        try:
            delay = send(None)  # type: ignore[arg-type]  # a new generator must be sent None
        except StopIteration:
            return
        self.callbacks = _RESUME
        heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), self))  # noqa: SLF001

    def _start(self) -> None:
        env = self._clock
        try:
            delay = self._send(None)  # type: ignore[arg-type]  # a new generator must be sent None
        except StopIteration:
            return
        self.callbacks = _RESUME
        heappush(env._queue, (env._now + delay, NORMAL, next(env._eid), self))  # noqa: SLF001

    def _resume(self) -> None:
        """One step, when SimPy's ``step`` processes it (the scheduler loop does its own)."""
        env = self._clock
        now = env._now  # noqa: SLF001 - the public `now` is a slower property
        try:
            delay = self._send(now)
        except StopIteration:
            return
        # SimPy clears an event's callbacks when it processes it: set them again.
        self.callbacks = _RESUME
        # What env.schedule(self, NORMAL, delay) does, without a call.
        heappush(env._queue, (now + delay, NORMAL, next(env._eid), self))  # noqa: SLF001


# The callbacks of every Steps event. Plain functions, not bound methods: SimPy passes
# the event (the Steps object) to its callbacks, and a bound method kept on the object
# would make a reference cycle that only the garbage collector could free, for every
# visit. Shared, and tuples: SimPy only iterates them, and a SimPy process that tried to
# wait for a Steps (appending to its callbacks) fails at once instead of corrupting them.
_START: Any = (Steps._start,)  # noqa: SLF001 - this module's own class
_RESUME: Any = (Steps._resume,)  # noqa: SLF001
