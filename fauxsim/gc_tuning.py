"""The garbage collector, tuned while a run generates.

Kept apart from ``fauxsim.runner`` so that the Postgres loader process, which tunes it
too, does not import the simulation to do so.
"""

from __future__ import annotations

import gc
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

# The garbage collector's young generation while a run generates (CPython's default: 700).
# The engine makes no reference cycles; what it allocates either dies young (events,
# once written) or lives long (customers, carts). With the default, everything a batch
# holds outlives two young collections, reaches the old generation and sets off full
# collections over the whole heap, batch after batch: a quarter of a run's time.
YOUNG_GENERATION = 100_000


class _CollectorTuning:
    """Raises the young generation while at least one run is generating, then restores it."""

    def __init__(self) -> None:
        self._runs = 0
        self._saved = gc.get_threshold()

    @contextmanager
    def during_run(self) -> Iterator[None]:
        if self._runs == 0:
            self._saved = gc.get_threshold()
            young, *older = self._saved
            gc.set_threshold(max(young, YOUNG_GENERATION), *older)
        self._runs += 1
        try:
            yield
        finally:
            self._runs -= 1
            if self._runs == 0:
                gc.set_threshold(*self._saved)


_COLLECTOR = _CollectorTuning()


def tuned_collector() -> AbstractContextManager[None]:
    """Within: the garbage collector tuned for generating (nests; see YOUNG_GENERATION)."""
    return _COLLECTOR.during_run()
