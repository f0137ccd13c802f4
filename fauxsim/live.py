"""Live mode: simulated time paced by the wall clock.

A live run is an ordinary run (:func:`fauxsim.runner.generate`) whose steps wait for the
wall clock. Simulated time is a line through one anchor, ``simulated = anchor + (wall -
anchor's wall) * speed`` (:class:`Pace`): at speed 1 on a scenario whose window holds
today the anchor is now itself, so rows carry today's timestamps; otherwise the moment
where the dataset stands is pinned to the moment the command starts.

While the simulation is behind the clock it catches up at full speed, checkpoint by
checkpoint, in full batches. Once it has caught up it steps every ``commit_every`` of
wall time to where the clock stands, and every step is a batch of its own, so an event
is committed within about ``commit_every`` of the wall moment its time maps to.

Stepping within an hour changes nothing in the data: what a live run committed equals
what a batch run ``--until`` its watermark writes (the quirks' draws are the hour's,
however the hour is cut; see :class:`fauxsim.quirks.QuirkInjector`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fauxsim import wall_clock
from fauxsim.clock import SECOND
from fauxsim.errors import UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

DEFAULT_COMMIT_EVERY = SECOND

# What ``--speed`` and ``--commit-every`` (seconds) accept. Faster than a million simulated
# seconds a second (11 days), a run without --live fits better; beyond these bounds the
# clock's arithmetic overflows (a pace of infinity, a sleep past what time_t holds).
SPEEDS = (0.001, 1_000_000.0)
COMMIT_INTERVALS = (0.01, 3600.0)


def check_pacing(option: str, value: float | None, bounds: tuple[float, float]) -> None:
    """Refuse a ``--speed`` or ``--commit-every`` outside ``bounds`` (or not a number)."""
    low, high = bounds
    if value is not None and not (math.isfinite(value) and low <= value <= high):
        raise UsageError(f"{option} must be a number from {low:g} to {high:g}, got {value:g}")


@dataclass(frozen=True, slots=True)
class Pace:
    """Where simulated time stands at each wall moment (both in microseconds since the epoch)."""

    anchor_simulated: int
    anchor_wall: int
    speed: float

    @property
    def real_time(self) -> bool:
        """Simulated time is the wall clock itself (rows carry today's timestamps)."""
        return self.speed == 1 and self.anchor_simulated == self.anchor_wall

    def simulated(self, wall: int) -> int:
        return self.anchor_simulated + math.floor((wall - self.anchor_wall) * self.speed)

    def wall(self, simulated: int) -> int:
        """The first wall moment at which simulated time has reached ``simulated``."""
        return self.anchor_wall + math.ceil((simulated - self.anchor_simulated) / self.speed)


def choose_pace(*, start: int, end: int, standing: int, speed: float, wall_now: int) -> Pace:
    """The pace of a live run of the window ``[start, end)`` whose dataset stands at ``standing``.

    At speed 1 with today inside the window, simulated time is real time; otherwise
    ``standing`` is pinned to ``wall_now`` and simulated time runs on from there.
    """
    if speed <= 0 or not math.isfinite(speed):
        msg = f"speed must be a positive number, got {speed}"
        raise ValueError(msg)
    if speed == 1 and start <= wall_now < end:
        return Pace(wall_now, wall_now, 1.0)
    return Pace(standing, wall_now, speed)


class LiveClock:
    """Decides where each step of a live run ends, and waits for the wall clock to get there."""

    def __init__(
        self,
        pace: Pace,
        *,
        commit_every: int = DEFAULT_COMMIT_EVERY,
        now: Callable[[], int] = wall_clock.now_micros,
        sleep: Callable[[int], None] = wall_clock.sleep_micros,
    ) -> None:
        if commit_every <= 0:
            msg = f"commit_every must be positive, got {commit_every} µs"
            raise ValueError(msg)
        self.pace = pace
        self.commit_every = commit_every
        self._now = now
        self._sleep = sleep
        self._next_step: int | None = None  # the wall moment of the next step once caught up

    def next_boundary(self, current: int, checkpoint: int) -> int:
        """Where the step from ``current`` ends: ``checkpoint`` if the clock is already past
        it (catching up), else where the clock stands, after waiting for the next step."""
        while True:
            wall = self._now()
            simulated = self.pace.simulated(wall)
            if simulated >= checkpoint or self._next_step is None:
                # Behind (or just started): the next step waits a whole interval.
                self._next_step = wall + self.commit_every
            if simulated >= checkpoint:
                return checkpoint
            if simulated > current and wall >= self._next_step:
                self._next_step = wall + self.commit_every
                return simulated
            wake = max(self._next_step, self.pace.wall(current + 1))
            self._sleep(wake - wall)

    def caught_up(self, boundary: int) -> bool:
        """Whether a step ending at ``boundary`` is as recent as the pace of steps allows."""
        return self.pace.wall(boundary) + self.commit_every >= self._now()

    def lag(self, boundary: int) -> int:
        """How far (wall microseconds) a run standing at ``boundary`` is behind the clock."""
        return max(0, self._now() - self.pace.wall(boundary))
