"""ISO 4217 minor units: how many decimals each currency's amounts have.

Every amount in the data (``*_cents`` columns and properties) is an integer count of the
currency's minor unit: cents for USD or EUR, whole yen for JPY, fils (a thousandth) for
KWD. Amounts a scenario writes in major units (24.90, ¥880) become minor units here.
"""

from __future__ import annotations

from typing import Final

# ISO 4217 currencies whose minor unit is not a hundredth (the list's "E" column);
# every other code has two decimals.
_NO_DECIMALS = ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX",
                "UYI", "VND", "VUV", "XAF", "XOF", "XPF")  # fmt: skip
_EXPONENTS: Final[dict[str, int]] = {
    **dict.fromkeys(_NO_DECIMALS, 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}


_POWERS_OF_TEN = (1, 10, 100, 1_000, 10_000)  # 10**n for the exponents above, as ints


def exponent(currency: str) -> int:
    """Decimals of the currency's amounts: 2 for USD, 0 for JPY, 3 for KWD."""
    return _EXPONENTS.get(currency, 2)


def to_minor(amount: float, currency: str) -> int:
    """An amount in major units (5.99 dollars, 600 yen) as whole minor units, rounded."""
    return round(amount * _POWERS_OF_TEN[exponent(currency)])


# How shops end their prices (#18 item 12), in hundredths of the unit the ending is
# counted in (see ``ending_step``), with how common each ending is among list prices:
# charm prices (.99, .95) lead, round and half prices follow, a few others. Roughly the
# mix surveys of US and European online shops report (.99 most often, about four in ten).
PRICE_ENDINGS: Final[tuple[tuple[int, float], ...]] = (
    (99, 0.40), (95, 0.12), (0, 0.14), (49, 0.08), (90, 0.06), (50, 0.05), (98, 0.04),
    (97, 0.03), (79, 0.03), (29, 0.02), (80, 0.02), (45, 0.01),
)  # fmt: skip


def ending_step(currency: str) -> int:
    """The minor units an ending is counted in: a dollar (cents 00-99); for currencies
    without decimals, a hundred whole units (¥1,980, ¥2,500); with three, a unit
    (24.990 KWD, the last decimal 0)."""
    return _POWERS_OF_TEN[max(exponent(currency), 2)]


def ending_of(minor: int, step: int) -> int:
    """The ending of a price in minor units, in hundredths of ``step`` (``ending_step``),
    as ``with_ending`` takes it: 2499 cents -> 99, ¥1,280 -> 80, 24.950 KWD -> 95."""
    return minor % step * 100 // step


def with_ending(amount: float, currency: str, ending: int) -> int:
    """A price near ``amount`` (major units) in minor units, at least one, ending in
    ``ending`` (hundredths of ``ending_step``: 99 for $24.99, ¥1,299, 24.990 KWD), the
    nearest such price. Prices under one step (a dollar, ¥100) keep their amount."""
    return nearest_with_ending(max(1, to_minor(amount, currency)), ending_step(currency), ending)


def nearest_with_ending(minor: int, step: int, ending: int) -> int:
    """``with_ending`` in minor units: the price ending in ``ending`` nearest ``minor``
    (ties go down), at least ``step``; ``minor`` itself (at least 1) under one step."""
    if minor < step:
        return max(1, minor)
    tail = ending * step // 100
    below = minor - minor % step + tail
    if below > minor:
        below -= step
    above = below + step
    nearest = below if minor - below <= above - minor else above
    return nearest if nearest >= step else above
