"""Values that look real (#18 items 12-14): price endings, names and identifiers, and the
price an order line is charged. Each test fails on the data as it was before."""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from typing import Any

from faker import Faker
from faker.providers.person import Provider as PersonProvider

from fauxsim.events import PRODUCT_ID, PROPERTIES, TYPE, EventType
from fauxsim.scenario.model import Scenario
from fauxsim.simulation.catalog import build_catalog
from fauxsim.simulation.identities import Identities
from tests.simulation.helpers import Output, collect, small_scenario

# ----------------------------------------------------------------- price endings (item 12)


def test_generated_prices_end_in_a_realistic_mix_of_endings():
    """Not 95-99% .99: about four in ten end in .99, the rest spread over .95, .00, .49,
    .90 and more, at least eight endings in all."""
    scenario = small_scenario(catalog={"generate": {"count": 600}})
    prices = [p.price_cents for p in build_catalog(scenario).products if p.price_cents >= 100]
    endings = Counter(price % 100 for price in prices)
    assert 0.3 < endings[99] / len(prices) < 0.5, endings
    assert len(endings) >= 8, endings
    assert endings[0] + endings[95] + endings[49] > 0.2 * len(prices), endings


@cache
def repriced_run() -> Output:
    """A run with a category sale and a dearer product, both undone before the end."""
    return collect(
        small_scenario(
            catalog={
                "generate": {"count": 40},
                "categories": ["home", "toys"],
                "price_changes": [
                    {"at": "2024-03-02", "until": "2024-03-03", "percent": -15, "category": "home"},
                    {"at": "2024-03-02", "percent": 12.5, "category": "toys"},
                ],
            }
        )
    )


def test_price_changes_keep_each_products_ending():
    """A product priced $24.95 on sale is $21.95, not $21.21: every changed price ends as
    the product's list price did, and an undone change returns to the exact price."""
    run = repriced_run()
    first: dict[int, int] = {}
    changed = 0
    for event in run.events:
        props = event[PROPERTIES]
        if event[TYPE] == EventType.PRODUCT_CREATED:
            first[event[PRODUCT_ID]] = props["price_cents"]
        elif event[TYPE] == EventType.PRODUCT_PRICE_CHANGED:
            changed += 1
            original = first[event[PRODUCT_ID]]
            if props["price_cents"] >= 100 and original >= 100:
                assert props["price_cents"] % 100 == original % 100, (original, props)
            if props["reason"] == "price_change_end":
                assert props["price_cents"] == original
    assert changed > 40


def test_explicit_prices_are_kept_and_their_ending_survives_a_change():
    """A product the scenario prices at 24.90 lists at 24.90; 20% off, it is 19.90."""
    scenario = Scenario.model_validate(
        small_scenario().model_dump()
        | {"catalog": {"products": [{"name": "Mug", "category": "home", "price": 24.9}]}}
    )
    product = build_catalog(scenario).products[0]
    assert product.price_cents == 2490
    assert product.reprice(0.8) == 1990
    assert product.reprice(1 / 0.8) == 2490


# ----------------------------------------------------------------- customers (item 13)


@cache
def customers_run() -> Output:
    """A run with a thousand imported customers from three countries, three scripts of
    names and mail habits apart."""
    return collect(
        small_scenario(
            end="2024-03-02",
            audience={"existing_customers": 1500, "countries": {"US": 0.5, "DE": 0.3, "JP": 0.2}},
        )
    )


def customers() -> list[dict[str, Any]]:
    return list(customers_run().final("customers").values())


def test_emails_are_unique_and_not_one_template():
    """Not 98.6% first.last.<customer_id>: no address carries its customer's id, the most
    common shape (first.last) is about a third, and there are many shapes."""
    rows = customers()
    emails = [row["email"] for row in rows]
    assert len(set(emails)) == len(emails)
    assert not any(
        email.split("@")[0].endswith(str(row["customer_id"])) and row["customer_id"] > 99
        for email, row in zip(emails, rows, strict=True)
    )
    shapes = Counter(re.sub(r"[a-z]+", "w", email.split("@")[0]) for email in emails)
    assert 0.2 < shapes["w.w"] / len(emails) < 0.45, shapes
    assert shapes["w"] > 0.2 * len(emails), shapes
    assert sum(1 for shape in shapes if re.search(r"\d", shape)) >= 20, shapes
    domains = Counter(email.split("@")[1] for email in emails)
    assert all(domain.endswith(".example") for domain in domains)
    assert len(domains) >= 8
    assert domains["gmx.example"] > 0  # a German provider, for German customers only
    assert all(row["country"] == "DE" for row in rows if row["email"].endswith("@gmx.example"))


def test_names_follow_the_customers_country_and_are_many():
    """Hundreds of first names, not about a hundred: Japanese customers have Japanese
    names (no Latin letters), German ones names from Faker's de_DE lists."""
    rows = customers()
    by_country: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_country.setdefault(row["country"], []).append(row)
    assert all(not row["last_name"].isascii() for row in by_country["JP"])
    german = Faker("de_DE")["de_DE"]
    person = next(p for p in german.get_providers() if isinstance(p, PersonProvider))
    german_last = set(person.last_names)
    assert all(row["last_name"] in german_last for row in by_country["DE"])
    assert sum(row["last_name"] in german_last for row in by_country["US"]) < 0.2 * len(
        by_country["US"]
    )
    assert len({row["first_name"] for row in rows}) > 400
    assert len({row["last_name"] for row in rows}) > 500


def test_the_same_seed_names_the_same_customers_and_another_seed_others():
    """Pools come from Faker seeded by the scenario's seed: equal seeds, equal names."""
    identities = Identities(5)
    names = [identities.customer(n, n * 7919, "US").email for n in range(50)]
    again = [Identities(5).customer(n, n * 7919, "US").email for n in range(50)]
    other = [Identities(6).customer(n, n * 7919, "US").email for n in range(50)]
    assert names == again
    assert names != other
