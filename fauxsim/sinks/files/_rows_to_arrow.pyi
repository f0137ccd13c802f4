# The compiled row converter (_rows_to_arrow.c); fauxsim.sinks.files.arrow_columns uses it.
from collections.abc import Callable
from typing import Any, TypeAlias

import pyarrow as pa

# Per column: its Arrow buffers (validity first, None without nulls) and its null count.
Gathered: TypeAlias = tuple[tuple[pa.Buffer | None, ...], int]

def gather(
    rows: list[tuple[Any, ...]],
    kinds: str,
    allocate: Callable[[int], pa.Buffer],
    dumps: Callable[[Any], bytes],
    start: int = ...,
    stop: int = ...,
    release: bool = ...,
) -> list[Gathered]: ...

# Rows appended a few at a time, handed over as Arrow buffers a chunk at a time.
class ColumnBuilder:
    def __init__(
        self,
        kinds: str,
        capacity: int,
        allocate: Callable[[int], pa.Buffer],
        dumps: Callable[[Any], bytes],
    ) -> None: ...
    @property
    def filled(self) -> int: ...
    @property
    def capacity(self) -> int: ...
    def append(
        self, rows: list[tuple[Any, ...]], start: int = ..., stop: int = ..., release: bool = ...
    ) -> None: ...
    def finish(self) -> list[Gathered]: ...
