"""Where customers live: postal addresses of their country, from pools built once a run.

Faker (the project's source of locale data) fills, for each country of the audience,
seeded from the run's seed (``randomness.derive``): street lines with the house number
left open, house numbers, and places (a town, its region where the country's addresses
name one, a postal code). A customer's address is one place, one street of the same
locale and one house number, picked with 64 bits of their own (``Purpose.ADDRESS``): a
few divisions and a string replace, no Faker call per customer. 134 million
combinations a country keep two customers at one address rare, as in life (a household).

Pools depend on Faker's locale data: another Faker version may give other addresses
(hence the pin in ``pyproject.toml``). Where Faker has no address data of a locale's own
(fr_BE, it_CH, de_LU and lb_LU borrow en_US's), the country's other locales give its
addresses; Luxembourg, which has none, gets fr_FR's streets and towns (its streets are
French-named) and its own postal code shape, L-1234.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

from faker import Faker
from faker.providers.address import Provider as AddressProvider

from fauxsim.randomness import Purpose, derive, stable_hash
from fauxsim.simulation.identities import locale_shares, names

if TYPE_CHECKING:
    from collections.abc import Callable

# Street lines, house numbers and places drawn per country. Places repeat as towns do
# (512 a country); street lines are more, and each takes one of the house numbers.
STREETS = 1024
NUMBERS = 256
PLACES = 512
# Names drawn once per locale for the streets and towns Faker names after people
# ("Hodges Mountains", "Lake Brandystad"): Faker weighs ~7,000 names at each draw (40 µs).
_NAMES = 1024

# Where the house number goes in a pooled street line.
_NUMBER = "\x00"

# How many people live in each US state (2020 census, in hundred thousands): Faker draws
# states evenly, which would put as many customers in Wyoming as in California.
_US_PEOPLE: dict[str, int] = {
    "CA": 395, "TX": 291, "FL": 215, "NY": 202, "PA": 130, "IL": 128, "OH": 118, "GA": 107,
    "NC": 104, "MI": 101, "NJ": 93, "VA": 86, "WA": 77, "AZ": 72, "MA": 70, "TN": 69,
    "IN": 68, "MD": 62, "MO": 62, "WI": 59, "CO": 58, "MN": 57, "SC": 51, "AL": 50, "LA": 47,
    "KY": 45, "OR": 42, "OK": 40, "CT": 36, "UT": 33, "IA": 32, "NV": 31, "AR": 30, "MS": 30,
    "KS": 29, "NM": 21, "NE": 20, "ID": 18, "WV": 18, "HI": 15, "NH": 14, "ME": 14, "RI": 11,
    "MT": 11, "DE": 10, "SD": 9, "ND": 8, "AK": 7, "DC": 7, "VT": 6, "WY": 6,
}  # fmt: skip
_US_STATES: list[str] = list(_US_PEOPLE)
_US_WEIGHTS: list[int] = list(_US_PEOPLE.values())

# How a country's addresses name its region, as Faker's locale calls it; a country not
# listed writes none (most of Europe: the town and postal code say enough). The US: the
# states and DC as often as people live there (Faker's state_abbr would draw them evenly,
# with territories and the freely associated states).
_REGIONS: dict[str, Callable[[Faker], str]] = {
    "US": lambda fake: fake.random.choices(_US_STATES, _US_WEIGHTS)[0],
    "CA": lambda fake: fake.province_abbr(),
    "AU": lambda fake: fake.state_abbr(),
    "MX": lambda fake: fake.state(),
    "IT": lambda fake: fake.state_abbr(),
    "BR": lambda fake: fake.estado_sigla(),
    "IN": lambda fake: fake.state(),
    "JP": lambda fake: fake.prefecture(),
}
# The postal code in the region, where Faker knows the ranges (a Texas ZIP in TX).
_POSTCODE_IN_REGION: dict[str, str] = {
    "US": "postcode_in_state",
    "CA": "postcode_in_province",
}
# Countries whose addresses Faker's locales of the country do not make: whose to use.
# Luxembourg: de_LU and lb_LU have none of their own; its streets are French-named.
_BORROWED: dict[str, str] = {"LU": "fr_FR"}
_FALLBACK_LOCALE = "en_US"


def _postal_code(country: str, code: str, fake: Faker) -> str:
    """A postal code as the country writes it: Faker's, put in shape where it is not."""
    bare = code.replace(" ", "").upper()
    if country in {"CA", "IE"}:  # K1A 0B1; the Eircode D02 X285
        return f"{bare[:3]} {bare[3:]}"
    if country == "NL":  # 1234 AB
        return f"{bare[:4]} {bare[4:]}"
    if country == "MX":  # five digits (Faker's es_MX adds US-style +4 at times)
        return bare[:5]
    if country == "LU":  # L-1234, in a country Faker has no codes for
        return f"L-{fake.numerify('%###')}"
    return code


def _house_number(number: str) -> str:
    """Faker's building number without the leading zeros no house number has (08063: 8063;
    0: 1)."""
    digits = len(number) - len(number.lstrip("0123456789"))
    if digits and number[0] == "0":
        value = str(int(number[:digits]) or 1)
        number = value + number[digits:]
    return number


class Address(NamedTuple):
    """A postal address, as the customers and orders columns name its parts."""

    street: str
    city: str
    region: str | None
    postal_code: str
    country: str


class AddressPool:
    """One country's places, and for each of its locales street lines and house numbers."""

    __slots__ = ("country", "numbers", "places", "streets")

    def __init__(self, country: str, seed: int) -> None:
        self.country = country
        # (city, region, postal code, its locale's index in streets and numbers)
        self.places: list[tuple[str, str | None, str, int]] = []
        self.streets: list[list[str]] = []
        self.numbers: list[list[str]] = []
        fakes = _address_fakers(country)
        total = sum(share for _, share in fakes)
        for index, (fake, share) in enumerate(fakes):
            locale = fake.locales[0]
            fake.seed_instance(derive(seed, Purpose.ADDRESSES, stable_hash(f"{country}:{locale}")))
            _draw_names_once(fake)
            self.numbers.append([_house_number(fake.building_number()) for _ in range(NUMBERS)])
            self.streets.append(_street_lines(fake, STREETS * share // total))
            self.places += (
                (*self._place(fake), index) for _ in range(max(1, PLACES * share // total))
            )

    def _place(self, fake: Faker) -> tuple[str, str | None, str]:
        region_of = _REGIONS.get(self.country)
        region = region_of(fake) if region_of is not None else None
        in_region = _POSTCODE_IN_REGION.get(self.country)
        code = (
            getattr(fake, in_region)(region)
            if in_region and region and hasattr(fake, in_region)
            else fake.postcode()
        )
        return fake.city(), region, _postal_code(self.country, code, fake)

    def address(self, bits: int) -> Address:
        """The address named by ``bits``: a place, a street of its locale, a house number."""
        bits, place = divmod(bits, len(self.places))
        city, region, postal_code, locale = self.places[place]
        streets, numbers = self.streets[locale], self.numbers[locale]
        bits, street = divmod(bits, len(streets))
        street_line = streets[street].replace(_NUMBER, numbers[bits % len(numbers)])
        return Address(street_line, city, region, postal_code, self.country)


def _address_fakers(country: str) -> list[tuple[Faker, int]]:
    """A Faker for each locale whose addresses are the country's, and its share: the
    country's locales that have address data of their own (not en_US's, lent to them)."""
    if country in _BORROWED:
        return [(Faker(_BORROWED[country]), 1)]
    fakers = []
    for locale, share in locale_shares(country):
        fake = Faker(locale)
        generator = fake[fake.locales[0]]
        provider = next(p for p in generator.get_providers() if isinstance(p, AddressProvider))
        if share and type(provider).__module__.rsplit(".", 1)[-1] == locale:
            fakers.append((fake, share))
    return fakers or [(Faker(_FALLBACK_LOCALE), 1)]


def _draw_names_once(fake: Faker) -> None:
    """Make the locale's people names, in streets and towns, picks from a list drawn once."""
    generator = fake[fake.locales[0]]
    pick = generator.random.choice
    for kind in ("first_name", "last_name"):
        drawn = names(fake, kind, _NAMES)
        generator.set_formatter(kind, _picker(pick, drawn))


def _picker(pick: Callable[[list[str]], str], drawn: list[str]) -> Callable[[], str]:
    return lambda: pick(drawn)


def _street_lines(fake: Faker, size: int) -> list[str]:
    """``size`` street lines of the locale, on one line each, the house number left open."""
    generator = fake[fake.locales[0]]
    number = fake.building_number
    generator.set_formatter("building_number", lambda: _NUMBER)
    try:
        lines = [fake.street_address() for _ in range(max(1, size))]
    finally:
        generator.set_formatter("building_number", number)
    return [" ".join(line.replace("\n", ", ").replace(" ,", ",").split()) for line in lines]


@lru_cache(maxsize=64)
def address_pool(country: str, seed: int) -> AddressPool:
    """The pool of ``country`` under ``seed``: built once, then shared by every run of this
    process with that seed (a pool never changes once built)."""
    return AddressPool(country, seed)


class Addresses:
    """The customers' addresses of one run, from per-country pools built when first needed
    (0.03-0.07 s CPU a country, once per process for a seed and country)."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._pools: dict[str, AddressPool] = {}

    def of(self, bits: int, country: str) -> Address:
        """The address of ``country`` named by ``bits``, 64 random bits of a customer's own
        (``derive(seed, Purpose.ADDRESS, customer_id)``): the same in every call."""
        pool = self._pools.get(country)
        if pool is None:
            pool = self._pools[country] = address_pool(country.upper(), self._seed)
        return pool.address(bits)
