"""Values shared by the shards a process runs (``fauxsim.simulation.per_process``)."""

from __future__ import annotations

from fauxsim.simulation import per_process
from fauxsim.simulation.per_process import once_per_process


def test_a_value_is_made_once_per_key_and_the_least_used_are_let_go():
    made: list[int] = []

    def make(number: int) -> list[int]:
        made.append(number)
        return [number]

    first = once_per_process(("test", 0), lambda: make(0))
    assert once_per_process(("test", 0), lambda: make(0)) is first
    assert made == [0]
    for number in range(1, per_process._MOST + 1):
        once_per_process(("test", number), lambda number=number: make(number))
    # Key 0 was the least recently used: let go, made again when asked for.
    assert once_per_process(("test", 0), lambda: make(0)) is not first
    assert made.count(0) == 2
