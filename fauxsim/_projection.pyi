# The projector's compiled loops (_projection.c); fauxsim.projection uses them.
from collections.abc import Callable
from typing import Any

def fold(
    events: list[tuple[Any, ...]],
    sessions: dict[int, list[Any]],
    dirty: dict[int, None],
    ended: list[int],
    handlers: dict[str, Callable[[tuple[Any, ...]], None]],
    page_viewed: str,
    session_ended: str,
    columns: tuple[int, int, int, int],
    session_started: str,
    started_row: tuple[tuple[int, Any], ...],
) -> None: ...
def flush(
    rows: dict[int, list[Any] | bytes],
    dirty: dict[int, None],
    freeze: bool,
    forgotten: set[int] | frozenset[int],
) -> list[tuple[Any, ...]]: ...

# A projector handler in C: kind 0-4 (see projection._COMPILED_HANDLERS).
class Handler:
    def __init__(self, kind: int, state: tuple[Any, ...]) -> None: ...
    def __call__(self, event: tuple[Any, ...], /) -> None: ...
