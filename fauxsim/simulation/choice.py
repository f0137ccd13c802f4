"""Weighted choice from a fixed set, precomputed once and drawn many times."""

from __future__ import annotations

from bisect import bisect_right
from itertools import accumulate
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from fauxsim.randomness import RandomStream

T = TypeVar("T")


class WeightedChoice(Generic[T]):
    """Draw one of ``values`` with probability proportional to its weight."""

    __slots__ = ("_cumulative", "_total", "values")

    def __init__(self, values: Sequence[T], weights: Sequence[float]) -> None:
        if len(values) != len(weights) or not values:
            msg = "need as many weights as values, and at least one value"
            raise ValueError(msg)
        self.values = list(values)
        self._cumulative = list(accumulate(weights))
        self._total = self._cumulative[-1]
        if self._total <= 0:
            msg = "at least one weight must be above 0"
            raise ValueError(msg)

    @classmethod
    def from_mapping(cls, weights: Mapping[T, float]) -> WeightedChoice[T]:
        return cls(list(weights), list(weights.values()))

    def pick(self, rng: RandomStream) -> T:
        index = bisect_right(self._cumulative, rng.random() * self._total)
        # rng.random() < 1, but floating point may land exactly on the total.
        return self.values[min(index, len(self.values) - 1)]


class Transitions(Generic[T]):
    """Where to go next from one state: each target with its probability, else ``None``.

    Unlike :class:`WeightedChoice` the probabilities are absolute: what they leave over
    up to 1 is the chance of leaving (``None``).
    """

    __slots__ = ("_cumulative", "_targets")

    def __init__(self, probabilities: Mapping[T, float]) -> None:
        self._targets = list(probabilities)
        self._cumulative = list(accumulate(probabilities.values()))

    def pick(self, rng: RandomStream) -> T | None:
        draw = rng.random()
        index = bisect_right(self._cumulative, draw)
        return self._targets[index] if index < len(self._targets) else None
