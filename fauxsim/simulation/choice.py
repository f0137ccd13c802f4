"""Weighted choice from a fixed set, precomputed once and drawn many times."""

from __future__ import annotations

import math
from bisect import bisect_right
from itertools import accumulate
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from fauxsim.randomness import Uniform

T = TypeVar("T")


class WeightedChoice(Generic[T]):
    """Draw one of ``values`` with probability proportional to its weight.

    ``values``, ``cumulative`` (the running sums of the weights, the last one infinite) and
    ``total`` are public: a visit walked in C (``_visit.c``) draws from them as ``pick`` does.
    """

    __slots__ = ("cumulative", "total", "values")

    def __init__(self, values: Sequence[T], weights: Sequence[float]) -> None:
        if len(values) != len(weights) or not values:
            msg = "need as many weights as values, and at least one value"
            raise ValueError(msg)
        self.values = list(values)
        self.cumulative = list(accumulate(weights))
        self.total = self.cumulative[-1]
        if self.total <= 0:
            msg = "at least one weight must be above 0"
            raise ValueError(msg)
        # rng.random() < 1, but random() * total may round up to total: an infinite last
        # bound keeps every draw inside the list without a bounds check on the hot path.
        self.cumulative[-1] = math.inf

    @classmethod
    def from_mapping(cls, weights: Mapping[T, float]) -> WeightedChoice[T]:
        return cls(list(weights), list(weights.values()))

    def pick(self, draw: Uniform) -> T:
        return self.values[bisect_right(self.cumulative, draw() * self.total)]
