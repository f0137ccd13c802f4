"""Who customers are: locale-aware names and email addresses, from pools built once a run.

Faker (the project's source of locale data) fills a pool of first and last names for each
country of the audience, seeded from the run's seed (``randomness.derive``): a few
thousand names a country, drawn as often as Faker's locale makes them common. A customer
then picks from their country's pools with 64 bits of their own, a few divisions: Faker
costs 2-40 µs a name, paid once per pool entry, never per customer.

Pools depend on Faker's word lists: another Faker version may give other names (hence
the pin in ``pyproject.toml``).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache, partial
from hashlib import blake2b
from operator import truediv
from typing import TYPE_CHECKING, TypeVar

from faker import Faker
from faker.config import AVAILABLE_LOCALES
from faker.providers.person import Provider as PersonProvider

from fauxsim.randomness import Purpose, derive, stable_hash
from fauxsim.simulation.choice import WeightedChoice

if TYPE_CHECKING:
    from collections.abc import Iterator

T = TypeVar("T")

# Names of each kind drawn per country: enough that a common name repeats as often as it
# does in life and rarer ones still appear (en_US: ~700 first and ~1,100 last names).
POOL_SIZE = 4000

# Countries whose people name themselves in more than one language, with the share of
# each locale's names in the pool; any other country takes every Faker locale of that
# country in equal shares (DE: de_DE; LU: de_LU and lb_LU), and a country Faker does not
# know takes en_US.
_LOCALE_SHARES: dict[str, tuple[tuple[str, int], ...]] = {
    "BE": (("nl_BE", 3), ("fr_BE", 2)),
    "CA": (("en_CA", 4), ("fr_CA", 1)),
    "CH": (("de_CH", 3), ("fr_CH", 1), ("it_CH", 1)),
    "IE": (("en_IE", 1),),
    "IN": (("en_IN", 1),),
    "LU": (("de_LU", 1), ("fr_FR", 1), ("pt_PT", 1)),  # Faker's lb_LU has no names of its own
    "US": (("en_US", 1),),
    "ES": (("es_ES", 1),),
    "MX": (("es_MX", 1),),
}
_FALLBACK_LOCALE = "en_US"

# Mail domains: the reserved ``.example`` top-level domain (RFC 2606), so that no generated
# address can reach a real mailbox, named after the providers people use, in about the
# shares they have; a country's own providers beside them.
_DOMAINS: tuple[tuple[str, float], ...] = (
    ("gmail.example", 0.42), ("outlook.example", 0.12), ("yahoo.example", 0.1),
    ("icloud.example", 0.09), ("hotmail.example", 0.08), ("aol.example", 0.02),
    ("proton.example", 0.02), ("mail.example", 0.03),
)  # fmt: skip
_LOCAL_DOMAINS: dict[str, tuple[tuple[str, float], ...]] = {
    "DE": (("gmx.example", 0.12), ("web.example", 0.1), ("t-online.example", 0.05)),
    "AT": (("gmx.example", 0.12), ("aon.example", 0.05)),
    "FR": (("orange.example", 0.1), ("free.example", 0.06), ("laposte.example", 0.04)),
    "NL": (("ziggo.example", 0.06), ("kpnmail.example", 0.05), ("home.example", 0.03)),
    "BE": (("telenet.example", 0.08), ("skynet.example", 0.04)),
    "GB": (("btinternet.example", 0.05), ("sky.example", 0.04)),
    "IE": (("eircom.example", 0.05),),
    "US": (("comcast.example", 0.03), ("att.example", 0.02)),
    "CA": (("rogers.example", 0.03), ("shaw.example", 0.02)),
    "NO": (("online.example", 0.05), ("telenor.example", 0.04)),
    "JP": (("docomo.example", 0.08), ("softbank.example", 0.04)),
}

# How people make an address from their name, and how often (f: first name "anna", l: last
# "devries", i and j their initials): the local part's shape, then whether digits follow.
_SHAPES: tuple[tuple[str, float], ...] = (
    ("{f}.{l}", 0.32), ("{f}{l}", 0.15), ("{f}_{l}", 0.05), ("{i}{l}", 0.1), ("{i}.{l}", 0.04),
    ("{f}.{j}", 0.03), ("{f}{j}", 0.03), ("{l}.{f}", 0.04), ("{l}{i}", 0.03), ("{f}", 0.1),
    ("{l}", 0.04), ("{f}-{l}", 0.02),
)  # fmt: skip
# A name written in another script (佐藤 裕美子) makes no address: such a customer gets a
# user name of their locale (Faker's, romanised: "ysato"), with the same digits rule.
# Digits after the name: none, a two-digit number (a birth year's end), a year of birth.
_NO_DIGITS, _TWO_DIGITS, _YEAR = 0, 1, 2
_FIRST_YEAR, _LAST_YEAR = 1950, 2005  # the years of birth addresses end with
# The resolution of a pick among shapes, digits or domains: 8 bits (shares to 0.4%).
_SHARE = 256
_DIGITS: tuple[tuple[int, float], ...] = ((_NO_DIGITS, 0.6), (_TWO_DIGITS, 0.25), (_YEAR, 0.15))
# Letters that become two when a name is written without accents (Müller: mueller).
_SPELLED_OUT = str.maketrans({
    "ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "ø": "oe", "å": "aa", "œ": "oe",
    "ł": "l", "đ": "d", "þ": "th",
})  # fmt: skip


def ascii_name(name: str) -> str:
    """A name as an address writes it: lower case ASCII letters and digits (Müller: mueller,
    O'Brien: obrien, de Vries: devries); empty for a name in another script (佐藤) and for
    one without a letter, which would make no name of an address either.

    So every name in an address has a letter. No name of Faker's pinned word lists, over
    all its locales, folds to digits alone; the rule keeps that true whatever the word lists.
    """
    spelled = unicodedata.normalize("NFKD", name.lower().translate(_SPELLED_OUT))
    folded = "".join(c for c in spelled if c.isascii() and c.isalnum())
    return folded if any(map(str.isalpha, folded)) else ""


class NamePool:
    """One country's names: first and last names as drawn, their ASCII forms for addresses,
    and romanised user names for the locales whose names are in another script."""

    __slots__ = ("ascii_first", "ascii_last", "domains", "first", "last", "user_names")

    def __init__(self, country: str, seed: int) -> None:
        country = country.upper()
        shares = locale_shares(country)
        total = sum(share for _, share in shares)
        self.first: list[str] = []
        self.last: list[str] = []
        self.user_names: list[str] = []
        for locale, share in shares:
            fake = Faker(locale)
            fake.seed_instance(derive(seed, Purpose.NAMES, stable_hash(f"{country}:{locale}")))
            size = POOL_SIZE * share // total
            first, last = names(fake, "first_name", size), names(fake, "last_name", size)
            self.first += first
            self.last += last
            if not all(map(ascii_name, set(first) | set(last))):  # names in another script
                self.user_names += (
                    ascii_name(fake.user_name()) or "user" for _ in range(size // 16)
                )
        folded = {name: ascii_name(name) for name in {*self.first, *self.last}}
        self.ascii_first = [folded[name] for name in self.first]
        self.ascii_last = [folded[name] for name in self.last]
        self.domains = _by_byte(dict(_DOMAINS) | dict(_LOCAL_DOMAINS.get(country, ())))


def locale_shares(country: str) -> tuple[tuple[str, int], ...]:
    """The Faker locales of ``country`` (upper case) and the share of each in its pools."""
    return _LOCALE_SHARES.get(country) or tuple((locale, 1) for locale in _locales_of(country))


def names(fake: Faker, kind: str, size: int) -> list[str]:
    """``size`` draws of ``fake.first_name()`` (``kind``) or ``last_name()``.

    Where the locale's names are weighted (en_US: a dict of ~7,000 names and their
    frequencies) and drawn as Faker's base provider draws them, in one call that weighs
    them once, not once a name (40 µs): the same names, a thousand times faster.
    """
    generator = fake[fake.locales[0]]
    provider = next(p for p in generator.get_providers() if isinstance(p, PersonProvider))
    words = getattr(provider, f"{kind}s")
    if isinstance(words, dict) and getattr(type(provider), kind) is getattr(PersonProvider, kind):
        return list(generator.random_elements(words, length=size, use_weighting=True))
    draw = getattr(fake, kind)
    return [draw() for _ in range(size)]


def _by_byte(weights: dict[T, float]) -> list[T]:
    """What a draw of one byte picks among ``weights`` (``WeightedChoice`` of byte / 256),
    looked up in a table of 256: one index per customer instead of a pick."""
    choice = WeightedChoice.from_mapping(weights)
    return [choice.pick(partial(truediv, byte, _SHARE)) for byte in range(_SHARE)]


def _locales_of(country: str) -> list[str]:
    return sorted(locale for locale in AVAILABLE_LOCALES if locale.endswith(f"_{country}")) or [
        _FALLBACK_LOCALE
    ]


@lru_cache(maxsize=64)
def name_pool(country: str, seed: int) -> NamePool:
    """The pool of ``country`` under ``seed``: built once, then shared by every run of this
    process with that seed (a pool never changes once built)."""
    return NamePool(country, seed)


class Customer:
    """Who signs up: what the ``signed_up`` event says. The simulation keeps only the id."""

    __slots__ = ("country", "customer_id", "email", "first_name", "last_name")

    def __init__(
        self, customer_id: int, first_name: str, last_name: str, email: str, country: str
    ) -> None:
        self.customer_id = customer_id
        self.first_name = first_name
        self.last_name = last_name
        self.email = email
        self.country = country


class Identities:
    """Names and unique addresses for the customers of one run, from per-country pools.

    A pool is built the first time a customer of its country signs up (0.02-0.05 s CPU),
    so a run pays only for the countries it meets, and once per process for a seed and
    country (``name_pool``). The address a customer's name makes (its base:
    ``anna.devries@gmail.example``) is theirs unless it was given: in a run of one shard,
    the digest of each address given is kept (8 bytes of it), and a base already given
    gets the first free number appended (``anna.devries2``); customers sign up in id
    order, so the same customers get the same addresses in every run.

    In a shard of several (``shard`` index of ``shards``: K), every address has one owner
    shard, read from the address alone: split its local part into a stem and the digits
    it ends with (``anna.devries`` and none, ``adevries`` and ``1990``), the owner is
    (the stem's digest + the digits' value) mod K. A shard gives only addresses it owns,
    so shards never give the same address without talking to each other. A customer whose
    address another shard owns gets the nearest digits this shard owns of the same kind (a
    year of birth stays one, 1950-2005: ``adevries1987``; two digits stay two:
    ``anna.devries82``); where there is none (K above the years' 56) or all are given,
    and for a stem without digits, the stem gets a number of the shard's from 1 to K, then
    K more each time (``anna.devries3``). That costs one digest a customer at any K (not
    the ~K of drawing until an address fell to the shard) and reads as people's addresses
    do; but (K - 1) / K of the addresses whose stem had no digits get some (at K = 4, ~86%
    of addresses carry digits against ~44%).
    """

    def __init__(self, seed: int, shard: int = 0, shards: int = 1) -> None:
        self._seed = seed
        self._shard, self._shards = shard, shards
        self._shapes = _by_byte(dict(_SHAPES))
        self._digits = _by_byte(dict(_DIGITS))
        self._given: set[bytes] = set()  # in one shard: the digest of each address given
        # In a shard of several: a key of each address given (``_unique_in_shard``).
        self._given_keys: set[int] = set()

    def pool(self, country: str) -> NamePool:
        return name_pool(country, self._seed)

    def customer(self, customer_id: int, bits: int, country: str) -> Customer:
        """The customer named by ``bits``, 64 random bits of their own (``randomness.derive``)."""
        pool = self.pool(country)
        # Picks from one 64-bit number, read as digits in mixed bases: far cheaper than
        # seeding a stream for a handful of draws, and as good (bases are small).
        bits, first = divmod(bits, len(pool.first))
        bits, last = divmod(bits, len(pool.last))
        bits, shape = divmod(bits, _SHARE)
        bits, digits = divmod(bits, _SHARE)
        bits, domain = divmod(bits, _SHARE)
        bits, user = divmod(bits, len(pool.user_names) or 1)
        # What is left for the digits: 64 - 2 x 12 (pools of 4,000) - 3 x 8 = 16 bits, or
        # 8 where there are user names (250, for names in another script).
        local = self._local_part(pool, first, last, user, shape, digits, bits)
        email = self._unique(local, pool.domains[domain])
        return Customer(customer_id, pool.first[first], pool.last[last], email, country)

    def _local_part(
        self, pool: NamePool, first: int, last: int, user: int, shape: int, digits: int,
        bits: int,
    ) -> str:  # fmt: skip
        f, l = pool.ascii_first[first], pool.ascii_last[last]  # noqa: E741 - as in the shapes
        template = self._shapes[shape]
        if not f or not l:  # a name in another script: a user name of the locale instead
            template, f = "{f}", pool.user_names[user]
        local = template.format(f=f, l=l, i=f[:1], j=l[:1])
        kind = self._digits[digits]
        if kind == _TWO_DIGITS or (kind == _NO_DIGITS and len(local) < 5):  # noqa: PLR2004
            local += f"{bits % 100:02d}"
        elif kind == _YEAR:
            local += str(_FIRST_YEAR + bits % (_LAST_YEAR - _FIRST_YEAR + 1))
        return local

    def _unique(self, local: str, domain: str) -> str:
        if self._shards > 1:
            return self._unique_in_shard(local, domain)
        email = f"{local}@{domain}"
        number = 1
        while (digest := blake2b(email.encode(), digest_size=8).digest()) in self._given:
            number += 1
            email = f"{local}{number}@{domain}"
        self._given.add(digest)
        return email

    def _unique_in_shard(self, local: str, domain: str) -> str:
        """``local`` if this shard owns it and has not given it, else the nearest of its
        numbers this shard owns and has not given (see the class): one digest."""
        stem = local.rstrip(_DIGIT_CHARACTERS)
        tail = local[len(stem) :]
        digest = blake2b(f"{stem}@{domain}".encode(), digest_size=8).digest()
        stem_key = int.from_bytes(digest, "big")
        for digits in _owned_numbers(tail, stem_key % self._shards, self._shard, self._shards):
            # What identifies the address in this shard: its stem and its digits as written
            # (a collision of keys only passes over an address: never gives one twice).
            written = "" if digits is None else str(digits[0]).zfill(digits[1])
            key = (stem_key + int(written or 0) * _VALUE_MIX + len(written) * _WIDTH_MIX) & _MASK64
            if key not in self._given_keys:
                self._given_keys.add(key)
                return f"{stem}{written}@{domain}"
        raise AssertionError("unreachable: the numbers from 1 never end")  # pragma: no cover


# What an address's local part may end with that counts towards its owner shard.
_DIGIT_CHARACTERS = "0123456789"
# An address's key in its shard mixes its digits' value and width into its stem's digest
# (odd constants, so nearby values spread over the 64 bits).
_VALUE_MIX, _WIDTH_MIX, _MASK64 = 0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, (1 << 64) - 1


def _owned_numbers(
    tail: str, stem_owner: int, shard: int, shards: int
) -> Iterator[tuple[int, int] | None]:
    """What a shard may end an address's stem with, best first, as (value, width: zeros
    it is padded to), None for nothing: the stem alone if it had no digits and the shard
    owns it; else the shard's values nearest the tail's of its kind (a year of birth, or
    as many digits), the tail itself first if the shard owns it; then numbers from 1, the
    shard's own, on and on. A stem with digits of value ``d`` is owned by
    (stem_owner + d) mod K."""
    if not tail and stem_owner == shard:
        yield None
    if tail:
        value = int(tail)
        width = len(tail)
        low, high = 0, 10**width - 1
        if width == len(str(_LAST_YEAR)) and _FIRST_YEAR <= value <= _LAST_YEAR:
            low, high = _FIRST_YEAR, _LAST_YEAR
        down = value - (stem_owner + value - shard) % shards  # the shard's, at or below
        up = value + (shard - stem_owner - value) % shards  # at or above
        if up == down:
            up += shards
        while down >= low or up <= high:  # nearest first, down first at equal distance
            if up > high or (down >= low and value - down <= up - value):
                yield down, width
                down -= shards
            else:
                yield up, width
                up += shards
    number = 1 + (shard - stem_owner - 1) % shards
    while True:
        yield number, 0
        number += shards
