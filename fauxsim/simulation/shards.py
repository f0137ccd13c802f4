"""Shards: the audience split K ways, each part simulated on its own.

A Poisson stream thinned K ways is K independent Poisson streams of a K-th of the rate,
so shard ``index`` of ``count`` simulates the visits of a K-th of the traffic, with
draws of its own (``randomness.shard_seed``), and a K-th of the existing customers.
What is not the audience is shared: every shard builds the same catalog, prices,
calendar and daily noise from the scenario's own seed; only shard 0 emits the catalog's
events (``product_created``, ``product_price_changed``).

Ids are strided: the n-th id a shard hands out (n = 1, 2, ...) of any kind is
``(n - 1) * count + index + 1``, so ids are unique across shards, never depend on the
number of workers, and one shard's ids are those of today's run (``count == 1``).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count as counter
from typing import TYPE_CHECKING

from fauxsim.randomness import shard_seed

if TYPE_CHECKING:
    from collections.abc import Callable

# The most shards a scenario may ask for (the scenario model's bound).
MAX_SHARDS = 4096


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard ``index`` (from 0) of ``count``; the default is the whole shop."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            msg = f"shard {self.index} of {self.count}: the index must be in [0, {self.count})"
            raise ValueError(msg)

    @property
    def stride(self) -> int:
        """What a shard adds to an id counter for the next id."""
        return self.count

    @property
    def before_first_id(self) -> int:
        """An id counter's start: the first id is this plus ``stride``."""
        return self.index + 1 - self.count

    @property
    def emits_catalog(self) -> bool:
        """Whether this shard emits the catalog's events (one shard does)."""
        return self.index == 0

    def seed(self, seed: int) -> int:
        """The seed of this shard's audience under the scenario's ``seed``."""
        return shard_seed(seed, self.index, self.count)

    def share(self, total: int) -> int:
        """This shard's part of ``total`` things split as evenly as can be."""
        return total // self.count + (1 if self.index < total % self.count else 0)

    def ids(self) -> Callable[[], int]:
        """A counter's ``__next__`` that hands out this shard's ids in turn."""
        return counter(self.index + 1, self.count).__next__


def all_shards(count: int) -> list[Shard]:
    return [Shard(index, count) for index in range(count)]
