"""Scenario distributions compiled into plain functions of a uniform draw.

A scenario's distributions are validated pydantic models; drawing from one through
its ``sample`` method costs a method call and several attribute reads per draw. The
simulation draws millions (dwell times above all), so it compiles each distribution
once into a closure over plain floats, drawing from a ``fauxsim.randomness.Uniform``.

Normal deviates use the Box-Muller transform on two uniforms, one deviate per pair:
no state to keep between draws, and the same arithmetic as ``random.gauss`` (which
keeps the pair's second deviate for its next call).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from fauxsim.scenario.distributions import Constant, Exponential, LogNormal, Uniform

if TYPE_CHECKING:
    from fauxsim.randomness import Uniform as UniformDraw
    from fauxsim.scenario.distributions import Distribution

WholeLogNormal: Callable[..., Callable[[UniformDraw], int]] | None
try:  # the lognormal whole sampler in C (_visit.c), built at install
    from fauxsim.simulation._visit import WholeLogNormal
except ImportError:  # installed without a C compiler: the closure below does the same
    WholeLogNormal = None

# Whether whole_sampler's lognormal draws run in C; both draw the same integers (tests
# hold them equal).
COMPILED = WholeLogNormal is not None

Sampler = Callable[["UniformDraw"], float]
# Draws a whole number of units (e.g. microseconds), never below a minimum.
WholeSampler = Callable[["UniformDraw"], int]

_TWO_PI = 2.0 * math.pi


def sampler(distribution: Distribution) -> Sampler:
    """A function drawing from ``distribution`` with the uniform draws it is given."""
    exp, log = math.exp, math.log
    match distribution:
        case LogNormal(median=median, sigma=sigma):
            cap = math.inf if distribution.max is None else distribution.max
            sqrt, cos = math.sqrt, math.cos

            def lognormal(draw: UniformDraw) -> float:
                normal = sqrt(-2.0 * log(1.0 - draw())) * cos(_TWO_PI * draw())
                value = median * exp(sigma * normal)
                return value if value <= cap else cap  # noqa: FURB136 - see whole_sampler

            return lognormal
        case Constant(value=value):
            return lambda _: value
        case Uniform(low=low, high=high):
            return lambda draw: low + (high - low) * draw()
        case Exponential(mean_value=mean):
            return lambda draw: -log(1.0 - draw()) * mean
    msg = f"no sampler for {distribution!r}"  # pragma: no cover - the union is closed
    raise TypeError(msg)


def whole_sampler(
    distribution: Distribution, unit: int, minimum: int, *, compiled: bool | None = None
) -> WholeSampler:
    """Draws of ``distribution`` in whole ``unit``s (truncated), at least ``minimum``;
    lognormal ones in C where ``compiled`` (by default :data:`COMPILED` now)."""
    if isinstance(distribution, LogNormal):
        # The common case (dwell times) in one function rather than two calls per draw.
        exp, log, sqrt, cos = math.exp, math.log, math.sqrt, math.cos
        median, sigma = distribution.median, distribution.sigma
        cap = math.inf if distribution.max is None else distribution.max
        if (COMPILED if compiled is None else compiled) and WholeLogNormal is not None:
            return WholeLogNormal(median, sigma, cap, unit, minimum)

        # Conditional expressions rather than min() and max(): calls cost more, and this
        # runs at every page of every visit.
        def lognormal(draw: UniformDraw) -> int:
            normal = sqrt(-2.0 * log(1.0 - draw())) * cos(_TWO_PI * draw())
            value = median * exp(sigma * normal)
            whole = int((value if value <= cap else cap) * unit)  # noqa: FURB136
            return whole if whole > minimum else minimum  # noqa: FURB136

        return lognormal
    sample = sampler(distribution)

    def other(draw: UniformDraw) -> int:
        return max(int(sample(draw) * unit), minimum)

    return other
