"""The one door for randomness.

Every random draw in the engine comes from a stream derived from
``(seed, purpose, entity)``. Streams are independent of the order in which they are
created, so a session draws the same numbers whatever happened before it, and a run
cut short draws exactly what a longer run drew up to that point.

Nothing else in the project may import :mod:`random` or use NumPy's global generator
(a ruff ``banned-api`` rule keeps it so), read the wall clock for data, or hash strings
with the salted built-in ``hash()``.
"""

from __future__ import annotations

import random
import zlib
from array import array
from collections.abc import Callable, Iterator, Sequence
from enum import IntEnum
from functools import cache
from itertools import chain
from typing import cast

import numpy as np

_MASK64 = (1 << 64) - 1

# The type of a scalar stream, for annotations elsewhere.
RandomStream = random.Random
# A source of uniform floats in [0, 1): a stream's ``random`` method, or a session's
# draws (see :func:`topped_up`). Everything drawn on the hot path is built on one.
Uniform = Callable[[], float]


class Purpose(IntEnum):
    """What a stream is for. Values are part of the output: never renumber them."""

    CATALOG = 1
    ARRIVALS = 2
    DAILY_NOISE = 3
    SESSION = 4
    VISITOR = 5
    ORDER = 6
    EXISTING_CUSTOMERS = 7
    QUIRKS = 8
    CUSTOMER = 9
    SESSION_DRAWS = 10
    NAMES = 11  # the name pools' Faker seeds (simulation/identities.py)
    TRACKING = 12  # tracking numbers (simulation/tracking.py)
    SHARD = 13  # a shard's seed, from (seed, shard), when a run has several (shards: K)
    ADDRESSES = 14  # the address pools' Faker seeds (simulation/addresses.py)
    ADDRESS = 15  # a customer's picks from the address pools, by customer id
    RETURNING = 16  # who comes back: gaps (entity 0: sample; 1, 3: returns), past visits (2)


def _mix(value: int) -> int:
    """SplitMix64 finaliser: spreads nearby integers over the whole 64-bit range."""
    value = (value + 0x9E3779B97F4A7C15) & _MASK64
    value = ((value ^ (value >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    value = ((value ^ (value >> 27)) * 0x94D049BB133111EB) & _MASK64
    return value ^ (value >> 31)


@cache
def _purpose_key(seed: int, purpose: int) -> int:
    return _mix(_mix(seed) ^ purpose)


def derive(seed: int, purpose: Purpose, entity: int = 0) -> int:
    """A 64-bit seed for the stream of ``purpose`` and ``entity`` under ``seed``."""
    return _mix(_purpose_key(seed, int(purpose)) ^ (entity & _MASK64))


def shard_seed(seed: int, shard: int, shards: int) -> int:
    """The seed of the audience of shard ``shard`` of ``shards`` (see ``simulation.shards``).

    One shard is the whole shop: its seed is the scenario's, so a run of one shard is the
    run of today. Of several, each has a seed of its own, derived from (seed, shard).
    """
    if shards == 1:
        return seed
    return derive(seed, Purpose.SHARD, shard)


def stream(seed: int, purpose: Purpose, entity: int = 0) -> random.Random:
    """A fresh ``random.Random`` for one purpose and entity."""
    return random.Random(derive(seed, purpose, entity))  # noqa: S311 - simulation, not crypto


def numpy_stream(seed: int, purpose: Purpose, entity: int = 0) -> np.random.Generator:
    """A NumPy generator for bulk draws (arrival counts and times)."""
    return np.random.Generator(np.random.PCG64(derive(seed, purpose, entity)))


def uniform_block(seed: int, purpose: Purpose, entity: int, size: int) -> Sequence[float]:
    """``size`` uniform floats in [0, 1) from the NumPy stream of ``purpose`` and ``entity``.

    Drawn in one call and kept in NumPy's compact buffer of doubles, seen through a
    ``memoryview``: a visit's slice of it copies nothing, and a Python float object is
    only made for a value when it is read. (Copying the buffer into an ``array`` and each
    visit's slice out of it cost 4% of an event's cache misses.)
    """
    return numpy_stream(seed, purpose, entity).random(size).data


class UniformRun:
    """The uniforms of the NumPy stream of ``purpose`` and ``entity``, read by position.

    ``read(start, stop)`` is what ``uniform_block(seed, purpose, entity, stop)[start:stop]``
    holds, without drawing or holding what comes before ``start``: the generator is moved
    on (``PCG64.advance``: each double is one step) and only read forward from there, so
    reads in order cost only their own draws, and a read out of order starts the stream
    again. A day of a big shop's visits draws in hourly parts of one stream this way.
    """

    __slots__ = ("_entity", "_next", "_purpose", "_rng", "_seed")

    def __init__(self, seed: int, purpose: Purpose, entity: int) -> None:
        self._seed, self._purpose, self._entity = seed, purpose, entity
        self._rng = numpy_stream(seed, purpose, entity)
        self._next = 0  # the position of the next uniform the generator gives

    def read(self, start: int, stop: int) -> Sequence[float]:
        """Uniforms ``start`` to ``stop`` (positions from 0), as ``uniform_block`` gives."""
        if start < self._next:
            self._rng, self._next = numpy_stream(self._seed, self._purpose, self._entity), 0
        if start > self._next:
            cast("np.random.PCG64", self._rng.bit_generator).advance(start - self._next)
        self._next = stop
        return self._rng.random(stop - start).data


def topped_up(
    block: Sequence[float], start: int, stop: int, then: Callable[[int], Uniform], entity: int
) -> Uniform:
    """Draws ``block[start:stop]`` in order, then continues with ``then(entity)``'s draws.

    Seeding a Mersenne Twister costs as much as a short visit's whole walk, so a visit
    draws from its slice of a block drawn for all the visits of its hour, and only the
    rare long one that uses it up makes a stream of its own (``then``: see
    :func:`entity_draws`). The result is a C-level callable: as cheap per draw as
    ``random.Random.random``. ``fauxsim.simulation._visit.Draws``, where it was built, is
    its twin as one object: no slice, chain or generator to make per visit, and a visit
    walked in C reads its draws without a float object for each. It copies its slice (512
    bytes) rather than hold the block's buffer: holding it cost 1.6% fewer cache misses,
    but tied the block's life to the collector and to the buffer's alignment.
    """
    return chain(block[start:stop], _then(then, entity)).__next__


def entity_draws(seed: int, purpose: Purpose) -> Callable[[int], Uniform]:
    """The draws of ``stream(seed, purpose, entity)``, for an entity given later."""

    def draws(entity: int) -> Uniform:
        return stream(seed, purpose, entity).random

    return draws


def _then(then: Callable[[int], Uniform], entity: int) -> Iterator[float]:
    """``then(entity)``'s draws; made only when first needed."""
    draw = then(entity)
    while True:
        yield draw()


def prefetched(seed: int, purpose: Purpose, entity: int, count: int) -> Uniform:
    """The draws of ``stream(seed, purpose, entity).random``, the first ``count`` made at once.

    For an entity that draws a few numbers over a long simulated time (an order's
    lifecycle lasts weeks): a few floats wait instead of a 2.5 kB generator state.
    """
    draw = stream(seed, purpose, entity).random
    first = array("d", [draw() for _ in range(count)])
    return chain(first, _after(seed, purpose, entity, count)).__next__


def _after(seed: int, purpose: Purpose, entity: int, skip: int) -> Iterator[float]:
    """The stream's draws after the first ``skip``; seeded only when first needed."""
    draw = stream(seed, purpose, entity).random
    for _ in range(skip):
        draw()
    while True:
        yield draw()


def stable_hash(text: str) -> int:
    """A hash of text that is the same in every process (unlike ``hash()``)."""
    return zlib.crc32(text.encode())
