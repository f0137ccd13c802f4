"""The statistics of the audit: how far a measure may stray from its configured value by
chance, and the quantiles of the scenario's delay distributions.

Tolerances are four standard errors (a false alarm about once in 16,000 checks) plus a
small stated slack, so the audit passes on a correct engine and fails on a planted bug.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from fauxsim.scenario.distributions import Constant, Distribution, Exponential, LogNormal, Uniform

SIGMAS = 4.0
SHARE_SLACK = 0.005  # half a percentage point: rounding of weights, hours cut by DST
_NORMAL = NormalDist()


def share_tolerance(expected: float, n: int, slack: float = SHARE_SLACK) -> float:
    """How far an observed share of ``n`` trials may lie from ``expected`` (binomial).

    ``1 / n`` (one observation either way) keeps small samples and shares near 0 or 1,
    where the normal approximation is poor, from failing on a single event.
    """
    if n <= 0:
        return math.inf
    return SIGMAS * math.sqrt(expected * (1 - expected) / n) + slack + 1 / n


def median(distribution: Distribution) -> float:
    return quantile(distribution, 0.5)


def quantile(distribution: Distribution, q: float) -> float:
    """The value below which a share ``q`` of draws falls."""
    match distribution:
        case Constant():
            return distribution.value
        case Uniform():
            return distribution.low + q * (distribution.high - distribution.low)
        case Exponential():
            return -distribution.mean_value * math.log1p(-q)
        case LogNormal():
            value = distribution.median * math.exp(distribution.sigma * _NORMAL.inv_cdf(q))
            return value if distribution.max is None else min(value, distribution.max)


def cdf(distribution: Distribution, x: float) -> float:  # noqa: PLR0911 - a case per kind
    """The share of draws at or below ``x``."""
    match distribution:
        case Constant():
            return 1.0 if x >= distribution.value else 0.0
        case Uniform():
            width = distribution.high - distribution.low
            if width == 0:
                return 1.0 if x >= distribution.low else 0.0
            return min(1.0, max(0.0, (x - distribution.low) / width))
        case Exponential():
            return 0.0 if x <= 0 else 1 - math.exp(-x / distribution.mean_value)
        case LogNormal():
            if distribution.max is not None and x >= distribution.max:
                return 1.0
            if x <= 0:
                return 0.0
            if distribution.sigma == 0:
                return 1.0 if x >= distribution.median else 0.0
            return _NORMAL.cdf(math.log(x / distribution.median) / distribution.sigma)


def median_error(distribution: Distribution, n: int) -> float:
    """Standard error of the median of ``n`` draws: 1 / (2 f(median) sqrt(n))."""
    if n <= 0:
        return math.inf
    match distribution:
        case Constant():
            spread = 0.0
        case Uniform():
            spread = distribution.high - distribution.low
        case Exponential():
            spread = 2 * distribution.mean_value  # f(median) = 1 / (2 mean)
        case LogNormal():
            spread = distribution.median * distribution.sigma * math.sqrt(2 * math.pi)
    return spread / (2 * math.sqrt(n))


def chance_first(first: Distribution, second: Distribution, steps: int = 4000) -> float:
    """P(a draw of ``first`` < a draw of ``second``): F_first averaged over second's quantiles."""
    total = sum(cdf(first, quantile(second, (k + 0.5) / steps)) for k in range(steps))
    return total / steps
