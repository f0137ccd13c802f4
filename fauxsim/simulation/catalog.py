"""The product catalog: explicit and generated products, popularity, scheduled prices."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, NamedTuple

from fauxsim.clock import to_micros
from fauxsim.currency import (
    PRICE_ENDINGS,
    ending_of,
    ending_step,
    nearest_with_ending,
    to_minor,
    with_ending,
)
from fauxsim.randomness import Purpose, stream
from fauxsim.simulation.choice import WeightedChoice
from fauxsim.simulation.per_process import once_per_process
from fauxsim.simulation.product_names import ProductNamer
from fauxsim.simulation.wordlists import GENERIC_NOUNS, NOUNS_BY_CATEGORY, SEARCH_FORMS

if TYPE_CHECKING:
    from fauxsim.scenario.model import Scenario
    from fauxsim.simulation.calendar import Window


# Weight given to products with popularity 0, so that they can still be reached.
_TINY = 1e-9
# How far back the catalog's products were listed, and when in the day: by staff, on
# weekdays between 08:00 and 18:00 local time.
_CATALOG_AGE_DAYS = 730
_WORKDAY_START_HOUR = 8
_WORKDAY_SECONDS = 10 * 3600
_SATURDAY = 5

# The nouns of generated names, longest first: what a search for such a product names.
_KNOWN_NOUNS = sorted(
    {noun.lower() for nouns in NOUNS_BY_CATEGORY.values() for noun in nouns}
    | {noun.lower() for noun in GENERIC_NOUNS},
    key=lambda noun: (-len(noun), noun),
)
_BRACKETED = re.compile(r"[(\[{][^)\]}]*[)\]}]?")
_NOT_A_WORD = re.compile(r"[^\w'-]+")


@cache  # every shard a process runs builds the same catalog: each name is read once
def search_queries(name: str) -> tuple[str, ...]:
    """The searches that find a product named ``name``, one for each of ``SEARCH_FORMS``.

    What people type: the thing it is ("throw blanket", the noun of a generated name, else
    the last two words of the name), its name without what brackets add ("merino crew
    socks" for "Merino Crew Socks (3 pack)"), or the thing with a word of intent ("best
    mug", "hoodie sale"). Lower case, no punctuation.
    """
    words = _NOT_A_WORD.sub(" ", _BRACKETED.sub(" ", name).lower()).split()
    plain = " ".join(words) or name.lower().strip() or "gift"
    padded = f" {plain} "
    term = next((noun for noun in _KNOWN_NOUNS if f" {noun} " in padded), None)
    if term is None:
        term = " ".join(words[-2:]) if words else plain
    return tuple(form.format(term=term, name=plain) for form in SEARCH_FORMS)


class Product:
    """A product as the simulation sees it; ``price_cents`` changes over time."""

    __slots__ = (
        "base_price_cents",
        "cart_factor",
        "category",
        "ending",
        "ending_step",
        "listed_at",
        "name",
        "popularity",
        "price_cents",
        "price_factor",
        "product_id",
        "search_queries",
        "sku",
        "units_factor",
        "viewed",
    )

    def __init__(
        self,
        product_id: int,
        sku: str,
        name: str,
        category: str,
        price_cents: int,
        popularity: float,
        *,
        ending_step: int = 100,
    ) -> None:
        self.product_id = product_id
        self.sku = sku
        self.name = name
        self.category = category
        self.price_cents = price_cents
        self.base_price_cents = price_cents
        self.price_factor = 1.0
        # How the shop ends this product's price (99 for $24.99: see currency.with_ending);
        # a changed price keeps it.
        self.ending_step = ending_step
        self.ending = ending_of(price_cents, ending_step)
        self.popularity = popularity
        # How its price changes the chance it is added to a cart, and the units added at
        # once (``price_response``; 1 where price plays no part).
        self.cart_factor = 1.0
        self.units_factor = 1.0
        self.listed_at = 0  # when it was created (product_created), set by build_catalog
        self.search_queries = search_queries(name)  # what a visitor types to find it
        # The properties of its product_viewed events, shared until the price changes:
        # one dict per price rather than one per view (emitted properties never change).
        self.viewed = {"price_cents": price_cents}

    def reprice(self, factor: float) -> int:
        """Apply a price step (or its undoing) and return the new price in cents."""
        self.price_factor *= factor
        if abs(self.price_factor - 1.0) < _TINY:  # an undone change returns to the exact price
            self.price_factor = 1.0
        self.price_cents = (
            self.base_price_cents
            if self.price_factor == 1.0
            else nearest_with_ending(
                round(self.base_price_cents * self.price_factor), self.ending_step, self.ending
            )
        )
        self.viewed = {"price_cents": self.price_cents}
        return self.price_cents


@dataclass(frozen=True, slots=True)
class PriceStep:
    """At ``at``, multiply the listed price of ``products`` by ``factor`` (or undo it)."""

    at: int
    product_ids: tuple[int, ...]
    factor: float
    reason: str


class Catalog:
    """All products, with pickers by popularity overall and within a category."""

    def __init__(self, products: list[Product]) -> None:
        self.products = products
        self.by_id = {product.product_id: product for product in products}
        self.any_product = WeightedChoice(products, [p.popularity or _TINY for p in products])
        categories: dict[str, list[Product]] = {}
        for product in products:
            categories.setdefault(product.category, []).append(product)
        self.categories = WeightedChoice(
            list(categories),
            [sum(p.popularity for p in group) or _TINY for group in categories.values()],
        )
        self.in_category = {
            name: WeightedChoice(group, [p.popularity or _TINY for p in group])
            for name, group in categories.items()
        }


class Listing(NamedTuple):
    """A product as the catalog lists it at the start (what ``listings`` draws)."""

    product_id: int
    sku: str
    name: str
    category: str
    price_cents: int
    popularity: float
    ending_step: int
    listed_at: int


def build_catalog(scenario: Scenario) -> Catalog:
    """The scenario's products (``listings``, drawn once per process: every shard builds
    the same catalog, ~3 ms), as objects of this run's own (their prices change)."""
    depends = (scenario.seed, scenario.currency, scenario.start, str(scenario.zone),
               scenario.catalog.model_dump_json())  # fmt: skip
    products = []
    for listing in once_per_process(("listings", *depends), lambda: listings(scenario)):
        product = Product(
            product_id=listing.product_id,
            sku=listing.sku,
            name=listing.name,
            category=listing.category,
            price_cents=listing.price_cents,
            popularity=listing.popularity,
            ending_step=listing.ending_step,
        )
        product.listed_at = listing.listed_at
        products.append(product)
    return Catalog(products)


def listings(scenario: Scenario) -> list[Listing]:
    """Explicit products first, then generated ones; ids count from 1 in that order.

    An explicit product keeps the price the scenario gives it; a generated one's price is
    drawn, then given an ending drawn from the shop's mix (``currency.PRICE_ENDINGS``).
    """
    spec = scenario.catalog
    currency = scenario.currency
    step = ending_step(currency)
    endings = WeightedChoice.from_mapping(dict(PRICE_ENDINGS))
    products = [
        Product(
            product_id=number,
            sku=item.sku or f"SKU-{number:05d}",
            name=item.name,
            category=item.category,
            price_cents=to_minor(item.price, currency),
            popularity=item.popularity,
            ending_step=step,
        )
        for number, item in enumerate(spec.products, start=1)
    ]
    rng = stream(scenario.seed, Purpose.CATALOG)
    generated = spec.generate
    ranks = list(range(1, generated.count + 1))
    rng.shuffle(ranks)  # best-sellers are spread over categories and ids
    namer = ProductNamer(rng, taken=(product.name for product in products))
    for rank in ranks:
        number = len(products) + 1
        category = spec.categories[rng.randrange(len(spec.categories))]
        name = namer.name(category)
        price = max(0.5, generated.price.sample(rng))
        ending = endings.pick(rng.random)
        products.append(
            Product(
                product_id=number,
                sku=f"SKU-{number:05d}",
                name=name,
                category=category,
                price_cents=with_ending(price, currency, ending),
                popularity=1.0 / rank**generated.popularity_skew,
                ending_step=step,
            )
        )
    times = listing_times(scenario, len(products))
    return [
        Listing(p.product_id, p.sku, p.name, p.category, p.price_cents, p.popularity,
                p.ending_step, listed_at)
        for p, listed_at in zip(products, times, strict=True)
    ]  # fmt: skip


def listing_times(scenario: Scenario, count: int) -> list[int]:
    """When each of ``count`` products was listed, in id order (ids follow time): over the
    two years before the start, on weekdays in working hours, local time."""
    rng = stream(scenario.seed, Purpose.CATALOG, 1)
    start = scenario.start
    first_day = start.date() if isinstance(start, dt.datetime) else start
    moments = []
    for _ in range(count):
        day = first_day - dt.timedelta(days=1 + rng.randrange(_CATALOG_AGE_DAYS))
        while day.weekday() >= _SATURDAY:  # a weekend: the Friday before
            day -= dt.timedelta(days=1)
        seconds = _WORKDAY_START_HOUR * 3600 + rng.random() * _WORKDAY_SECONDS
        local = dt.datetime.combine(day, dt.time()) + dt.timedelta(seconds=seconds)
        moments.append(to_micros(scenario.to_utc(local)))
    return sorted(moments)


def price_schedule(scenario: Scenario, catalog: Catalog, windows: list[Window]) -> list[PriceStep]:
    """Every scheduled price change and its undoing, in time order."""
    steps: list[PriceStep] = []
    for change in scenario.catalog.price_changes:
        ids = tuple(
            p.product_id
            for p in catalog.products
            if (change.category is None or p.category == change.category)
            and (change.sku is None or p.sku == change.sku)
        )
        factor = 1.0 + change.percent / 100
        start = to_micros(scenario.to_utc(change.at))
        steps.append(PriceStep(start, ids, factor, "price_change"))
        if change.until is not None:
            steps.append(
                PriceStep(
                    to_micros(scenario.to_utc(change.until)), ids, 1 / factor, "price_change_end"
                )
            )
    for window in windows:
        percent = window.event.price_change_percent
        if percent is None:
            continue
        ids = tuple(p.product_id for p in catalog.products)
        factor = 1.0 + percent / 100
        steps.append(PriceStep(window.start, ids, factor, window.event.name))
        steps.append(PriceStep(window.end, ids, 1 / factor, f"{window.event.name} ended"))
    # Stable order: by time, then as declared. Steps before the start apply at the start.
    return sorted(steps, key=lambda step: step.at)
