"""The wall clock: the one module of the engine that reads real time.

Simulated time never comes from here (see :mod:`fauxsim.clock`); only live mode
(:mod:`fauxsim.live`) paces the simulation against the wall clock, through these two
functions, so that a test can replace them with a clock of its own. A ruff
``banned-api`` rule keeps ``time.time`` out of every other module.
"""

from __future__ import annotations

import time

from fauxsim.clock import SECOND


def now_micros() -> int:
    """The wall clock as microseconds since the epoch, UTC (the simulation's unit)."""
    return time.time_ns() // 1_000


def sleep_micros(duration: int) -> None:
    """Wait ``duration`` microseconds of wall time (a signal handler may cut it short)."""
    if duration > 0:
        time.sleep(duration / SECOND)
