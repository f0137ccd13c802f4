"""Scenario distributions compiled into plain functions for the hot path.

A scenario's distributions are validated pydantic models; drawing from one through
its ``sample`` method costs a method call and several attribute reads per draw. The
simulation draws millions (dwell times above all), so it compiles each distribution
once into a closure over plain floats. A compiled sampler draws exactly what the
model's ``sample`` draws, from the same stream, with the same arithmetic.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from fauxsim.scenario.distributions import Constant, Exponential, LogNormal, Uniform

if TYPE_CHECKING:
    from fauxsim.randomness import RandomStream
    from fauxsim.scenario.distributions import Distribution

Sampler = Callable[["RandomStream"], float]
# Draws a whole number of units (e.g. microseconds), never below a minimum.
IntSampler = Callable[["RandomStream"], int]


def sampler(distribution: Distribution) -> Sampler:
    """A function drawing from ``distribution``, as ``distribution.sample`` would."""
    exp = math.exp
    match distribution:
        case LogNormal(median=median, sigma=sigma):
            cap = math.inf if distribution.max is None else distribution.max

            def lognormal(rng: RandomStream) -> float:
                value = median * exp(sigma * rng.gauss(0.0, 1.0))
                return value if value <= cap else cap  # noqa: FURB136 - see whole_sampler

            return lognormal
        case Constant(value=value):
            return lambda _: value
        case Uniform(low=low, high=high):
            return lambda rng: low + (high - low) * rng.random()
        case Exponential(mean_value=mean):
            return lambda rng: rng.expovariate(1.0 / mean)
    msg = f"no sampler for {distribution!r}"  # pragma: no cover - the union is closed
    raise TypeError(msg)


def whole_sampler(distribution: Distribution, unit: int, minimum: int) -> IntSampler:
    """Draws of ``distribution`` in whole ``unit``s (truncated), at least ``minimum``."""
    if isinstance(distribution, LogNormal):
        # The common case (dwell times) in one function rather than two calls per draw.
        exp, median, sigma = math.exp, distribution.median, distribution.sigma
        cap = math.inf if distribution.max is None else distribution.max

        # Conditional expressions rather than min() and max(): calls cost more, and this
        # runs at every page of every visit.
        def lognormal(rng: RandomStream) -> int:
            value = median * exp(sigma * rng.gauss(0.0, 1.0))
            whole = int((value if value <= cap else cap) * unit)  # noqa: FURB136
            return whole if whole > minimum else minimum  # noqa: FURB136

        return lognormal
    draw = sampler(distribution)

    def other(rng: RandomStream) -> int:
        whole = int(draw(rng) * unit)
        return max(whole, minimum)

    return other
