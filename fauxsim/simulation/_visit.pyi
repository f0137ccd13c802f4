# A visit's compiled parts (_visit.c): session, engine, sampling and audience use them.
from collections.abc import Callable, Generator
from typing import Any

# The fields of the shared tuple, in _visit.c's order: session.VisitShared declares the same.
SHARED_FIELDS: tuple[str, ...]

class WholeLogNormal:
    def __init__(
        self, median: float, sigma: float, cap: float, unit: float, minimum: int
    ) -> None: ...
    def __call__(self, draw: Callable[[], float], /) -> int: ...

class Draws:
    def __init__(
        self,
        block: Any,  # noqa: ANN401 - a buffer of doubles (a memoryview of a NumPy array)
        start: int,
        stop: int,
        then: Callable[[int], Callable[[], float]],
        entity: int,
        /,
    ) -> None: ...
    def __call__(self) -> float: ...

class Arrivals(Generator[int, int]):
    def __init__(
        self,
        *,
        shared: tuple[Any, ...],
        plan: Callable[[int], tuple[list[int], Any]],
        start: int,
        end: int,
        hour_start: int,
        hour: int,
        returning_share: float,
        width: int,
        then: Callable[[int], Callable[[], float]],
        take: Callable[[int], Any],
        new_visitor: Callable[[Callable[[], float]], Any],
        session_id: int,
        stride: int,
    ) -> None: ...
    def send(self, value: int | None, /) -> int: ...
    def throw(self, *args: object) -> int: ...

class DueQueue:
    def __len__(self) -> int: ...
    def push(self, due: int, visitor_id: int, customer: int, kind: int, /) -> None: ...
    def take(
        self, now: int, patience: int, forget: Callable[[int, int], None], /
    ) -> tuple[int, int, int] | None: ...
