# The compiled scheduler loop (_run_steps.c); fauxsim.simulation.processes uses it.
from collections.abc import Callable
from typing import Any

def run_before(
    env: Any,  # noqa: ANN401 - a processes.SimClock (not imported: no cycle)
    queue: list[Any],
    at: float | None,
    resume_callbacks: object,
    resume_own: object,
    eid: Any,  # noqa: ANN401 - SimPy's event id counter (an itertools.count)
    normal: int,
    remove: Callable[[list[Any], Any], None],
) -> None: ...
