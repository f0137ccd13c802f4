"""Random distributions a scenario can name, as a discriminated union on ``type``.

Each model knows how to draw from an explicit ``random.Random`` stream; none keeps a
stream of its own (see ``fauxsim.randomness``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from fauxsim.randomness import RandomStream


class _Dist(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Constant(_Dist):
    """Always the same value."""

    type: Literal["constant"] = Field(
        default="constant", description="constant: every draw is `value`."
    )
    value: float = Field(ge=0, description="The value, in the unit of the key, e.g. 1.")

    def sample(self, rng: RandomStream) -> float:  # noqa: ARG002 - same signature as the others
        return self.value

    @property
    def mean(self) -> float:
        return self.value


class Uniform(_Dist):
    """Any value between ``low`` and ``high``, all equally likely."""

    type: Literal["uniform"] = Field(
        default="uniform", description="uniform: any value from `low` to `high`, equally likely."
    )
    low: float = Field(ge=0, description="The smallest value, in the unit of the key, e.g. 1.")
    high: float = Field(ge=0, description="The largest value, in the unit of the key, e.g. 3.")

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            msg = f"high ({self.high}) must not be below low ({self.low})"
            raise ValueError(msg)
        return self

    def sample(self, rng: RandomStream) -> float:
        return self.low + (self.high - self.low) * rng.random()

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2


class Exponential(_Dist):
    """Memoryless waiting time with the given mean."""

    type: Literal["exponential"] = Field(
        default="exponential", description="exponential: memoryless waits averaging `mean`."
    )
    mean_value: float = Field(
        gt=0, alias="mean", description="The average, in the unit of the key, e.g. 4."
    )

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def sample(self, rng: RandomStream) -> float:
        return rng.expovariate(1.0 / self.mean_value)

    @property
    def mean(self) -> float:
        return self.mean_value


class LogNormal(_Dist):
    """Right-skewed positive values (dwell times, prices): half fall below ``median``."""

    type: Literal["lognormal"] = Field(
        default="lognormal", description="lognormal: skewed positive values around `median`."
    )
    median: float = Field(
        gt=0, description="Half the values fall below it, in the unit of the key, e.g. 30."
    )
    sigma: float = Field(
        ge=0, le=5, description="Spread: 0 = always the median, 1 = wide, e.g. 0.7."
    )
    max: float | None = Field(
        default=None,
        gt=0,
        description="Values above are clipped to it, e.g. 2000; no cap if omitted.",
    )

    def sample(self, rng: RandomStream) -> float:
        value = self.median * math.exp(self.sigma * rng.gauss(0.0, 1.0))
        return value if self.max is None or value <= self.max else self.max

    @property
    def mean(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2)


Distribution = Annotated[Constant | Uniform | Exponential | LogNormal, Field(discriminator="type")]
