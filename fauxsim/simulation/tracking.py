"""Tracking numbers shaped as each carrier prints them, drawn from the order's own bits.

UPS: ``1Z`` + the shop's 6-character shipper account + a service code + 7 digits + a check
digit (18 characters); USPS: ``9400 1`` + 16 digits + a check digit (22 digits); FedEx:
12 digits; DHL (Express): 10 digits, the last the first nine mod 7; Royal Mail, An Post,
other posts: the UPU S10 form (``AB123456785GB``); PostNL: ``3S`` + 4 letters + 9 digits;
Canada Post: 16 digits. Another carrier: 12 digits. Carriers are matched by name,
ignoring case, spaces and punctuation ("FedEx", "fedex", "Royal Mail").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from fauxsim.randomness import Purpose, derive

_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ALNUM = "0123456789" + _LETTERS
# UPS service codes and how often a web shop ships with each: ground mostly.
_UPS_SERVICES = ("03", "03", "03", "03", "03", "03", "02", "01", "12", "13")
# S10 suffixes of the postal carriers known by name.
_POSTS = {"royalmail": "GB", "anpost": "IE", "laposte": "FR", "deutschepost": "DE",
          "correos": "ES", "postnord": "SE", "bpost": "BE", "australiapost": "AU"}  # fmt: skip
_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
# Bits set apart from an order id, for a second 64-bit draw of the same order.
_SECOND_DRAW = 1 << 48


def _digits(bits: int, count: int) -> str:
    return f"{bits % 10**count:0{count}d}"


def _usps_check(digits: str) -> int:
    """USPS mod 10: from the right, weights 3 and 1 in turn."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def _ups_check(characters: str) -> int:
    """The UPS check digit of the 15 characters after ``1Z``: letters read as digits
    ((code - 63) mod 10), odd positions once and even positions twice."""
    values = [int(c) if c.isdigit() else (ord(c) - 63) % 10 for c in characters]
    total = sum(values[0::2]) + 2 * sum(values[1::2])
    return (10 - total % 10) % 10


def _s10(serial: str, prefix: str, country: str) -> str:
    """A UPU S10 item number: 2 letters, 8 digits, a check digit, the country."""
    total = sum(int(d) * w for d, w in zip(serial, _S10_WEIGHTS, strict=True))
    check = 11 - total % 11
    check = 0 if check == 10 else 5 if check == 11 else check  # noqa: PLR2004 - S10's rule
    return f"{prefix}{serial}{check}{country}"


def _letters(bits: int, count: int) -> str:
    return "".join(_LETTERS[bits // 26**i % 26] for i in range(count))


# Each carrier's form, from the shop's UPS account and two 64-bit draws of the order.
def _ups(account: str, bits: int, more: int) -> str:
    body = f"{account}{_UPS_SERVICES[bits % 10]}{_digits(more, 7)}"
    return f"1Z{body}{_ups_check(body)}"


def _usps(_account: str, bits: int, _more: int) -> str:
    digits = f"94001{_digits(bits, 16)}"
    return f"{digits}{_usps_check(digits)}"


def _fedex(_account: str, bits: int, more: int) -> str:
    return f"{7 + bits % 3}{_digits(more, 11)}"  # express labels start 7, 8 or 9


def _dhl(_account: str, bits: int, _more: int) -> str:
    serial = 100_000_000 + bits % 900_000_000
    return f"{serial}{serial % 7}"


def _postnl(_account: str, bits: int, more: int) -> str:
    return f"3S{_letters(bits, 4)}{_digits(more, 9)}"


def _canada_post(_account: str, bits: int, _more: int) -> str:
    return _digits(bits, 16)


def _other(_account: str, bits: int, _more: int) -> str:
    return _digits(bits, 12)


Form = Callable[[str, int, int], str]
_FORMS: dict[str, Form] = {
    "ups": _ups, "usps": _usps, "fedex": _fedex, "dhl": _dhl, "dhlexpress": _dhl,
    "postnl": _postnl, "canadapost": _canada_post,
}  # fmt: skip


@lru_cache(maxsize=64)
def form_of(carrier: str) -> Form:
    """The form of ``carrier``'s numbers, by its name without case, spaces or punctuation."""
    key = re.sub(r"[^a-z]", "", carrier.lower())
    country = _POSTS.get(key)
    if country is None:
        return _FORMS.get(key, _other)

    def post(_account: str, bits: int, more: int) -> str:
        return _s10(_digits(more, 8), _letters(bits, 2), country)

    return post


class TrackingNumbers:
    """The tracking numbers of one run's shipments: ``number(carrier, order_id)``, drawn
    from the order's own bits (``randomness.derive``), so the same in every run."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        account = derive(seed, Purpose.TRACKING, 0)
        # The shop ships on one UPS account, as a shop does: the same 6 characters in each.
        self._ups_account = "".join(_ALNUM[(account >> (6 * i)) % 36] for i in range(6))

    def number(self, carrier: str, order_id: int) -> str:
        bits = derive(self._seed, Purpose.TRACKING, order_id)
        more = derive(self._seed, Purpose.TRACKING, order_id + _SECOND_DRAW)
        return form_of(carrier)(self._ups_account, bits, more)
