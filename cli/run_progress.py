"""What ``fauxsim run`` shows while it works: a progress bar in a terminal, and for a
live run in a log (``fauxsim serve --live``, a container), a line now and then."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from cli.console import console, raise_if_stopped
from fauxsim.clock import SECOND, to_datetime

if TYPE_CHECKING:
    from fauxsim.live import LiveClock
    from fauxsim.runner import RunStats
    from fauxsim.scenario.model import Scenario

# A live run in a log says where it stands this often (wall time), and when it catches up.
LOG_EVERY_SECONDS = 60.0


def describe_lag(micros: int) -> str:
    """A wall-clock lag for people: "2 s", "5 min 3 s", "3 h 12 min", "41 d 2 h"."""
    seconds = micros // SECOND
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"


class RunProgress:
    """Called after each batch (``run_into(on_batch=...)``); quiet for quick runs."""

    def __init__(self, scenario: Scenario, start: int, end: int, live: LiveClock | None) -> None:
        self._scenario = scenario
        self._start = start
        self._live = live
        self._began = time.perf_counter()
        self._shown = False
        self._logged_at = 0.0
        self._was_caught_up = False
        columns = [
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[simulated]}"),
            TextColumn("{task.fields[state]}"),
            TimeElapsedColumn(),
        ]
        if live is None:
            columns.append(TimeRemainingColumn())
        # A live run at rest redraws its bar once a second: rich's default of ten a second
        # cost a live run ten times its own work (benchmarks/live.py).
        refreshes = 1 if live is not None else 10
        self._progress = Progress(
            *columns, console=console, transient=True, refresh_per_second=refreshes
        )
        self._task = self._progress.add_task(
            scenario.name, total=max(1, end - start), simulated="", state=""
        )

    def __call__(self, stats: RunStats) -> None:
        raise_if_stopped()  # a stop that code between batches swallowed
        elapsed = time.perf_counter() - self._began
        simulated = to_datetime(stats.watermark).astimezone(self._scenario.zone)
        state = self._state(stats, elapsed)
        if not console.is_terminal and self._live is not None:
            self._log(simulated.strftime("%Y-%m-%d %H:%M:%S %Z"), state, stats, elapsed)
            return
        if not self._shown and elapsed > 1.0:  # quick runs stay quiet
            self._progress.start()
            self._shown = True
        self._progress.update(
            self._task,
            completed=stats.watermark - self._start,
            simulated=simulated.strftime("%Y-%m-%d %H:%M"),
            state=state,
        )

    def stop(self) -> None:
        if self._shown:
            self._progress.stop()

    def _state(self, stats: RunStats, elapsed: float) -> str:
        rate = f"{stats.events / elapsed:,.0f} events/s" if elapsed else ""
        if self._live is None:
            return rate
        lag = self._live.lag(stats.watermark)
        if lag <= 2 * self._live.commit_every:
            return f"live (x{self._live.pace.speed:g}), {stats.events:,} events"
        return f"catching up, {describe_lag(lag)} behind the clock, {rate}"

    def _log(self, simulated: str, state: str, stats: RunStats, elapsed: float) -> None:
        """One line per minute, and one when the run has caught up with the clock."""
        caught_up = state.startswith("live")
        if caught_up == self._was_caught_up and elapsed - self._logged_at < LOG_EVERY_SECONDS:
            return
        self._was_caught_up, self._logged_at = caught_up, elapsed
        console.print(
            f"{self._scenario.name}: simulated {simulated}, {state}; "
            f"{stats.sessions:,} sessions and {stats.orders:,} orders written",
            highlight=False,
            soft_wrap=True,
        )
