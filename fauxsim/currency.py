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


def charm_price(amount: float, currency: str) -> int:
    """A price in minor units, at least one, ending in 9s from five major units up, as shops
    like to price: $24.99 (cents end in 99), ¥879 (whole yen end in 9), 24.999 KWD."""
    decimals = exponent(currency)
    minor = max(1, to_minor(amount, currency))
    step = _POWERS_OF_TEN[max(decimals, 1)]  # without decimals, the last whole digit
    if minor < 5 * _POWERS_OF_TEN[decimals]:
        return minor
    return minor - minor % step + step - 1
