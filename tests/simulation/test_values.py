"""Values that look real (#18 items 12-14): price endings, names and identifiers, and the
price an order line is charged. Each test fails on the data as it was before."""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from typing import Any

from faker import Faker
from faker.providers.person import Provider as PersonProvider

from fauxsim.clock import DAY, to_datetime, to_micros
from fauxsim.events import OCCURRED_AT, ORDER_ID, PRODUCT_ID, PROPERTIES, TYPE, EventType
from fauxsim.scenario.model import Scenario
from fauxsim.simulation.catalog import build_catalog
from fauxsim.simulation.identities import Identities
from fauxsim.simulation.product_names import category_words
from fauxsim.simulation.tracking import TrackingNumbers, _s10, _ups_check
from fauxsim.simulation.wordlists import ADJECTIVES
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
    """Not 98.6% first.last.<customer_id>: no address carries its customer's id but by
    chance, the most common shape (first.last) is about a third, and there are many shapes."""
    rows = customers()
    emails = [row["email"] for row in rows]
    assert len(set(emails)) == len(emails)
    # By chance only: digits drawn for an address may end like its id (osamu3238, 238).
    carrying = sum(
        email.split("@")[0].endswith(str(row["customer_id"])) and row["customer_id"] > 99
        for email, row in zip(emails, rows, strict=True)
    )
    assert carrying <= len(rows) // 200
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


# ----------------------------------------------------------------- identifiers (item 13)


@cache
def shipped_run() -> Output:
    """A run whose orders ship with four carriers, two of them named loosely."""
    return collect(
        small_scenario(
            end="2024-03-06",
            traffic={"sessions_per_day": 2000},
            orders={"lifecycle": {"carriers": {"UPS": 1, "usps": 1, "FedEx": 1, "DHL Express": 1}}},
        )
    )


def test_tracking_numbers_are_shaped_as_their_carriers_print_them():
    """Not the carrier's first letters and the zero-padded order id: UPS 1Z + the shop's
    one shipper account + 10 characters and a valid check digit; USPS 22 digits from
    94001; FedEx 12 digits; DHL 10 digits, the last the first nine mod 7."""
    shipped = [
        (event[ORDER_ID], event[PROPERTIES])
        for event in shipped_run().events
        if event[TYPE] == EventType.ORDER_SHIPPED
    ]
    by_carrier: dict[str, list[str]] = {}
    for order_id, props in shipped:
        number = props["tracking_number"]
        assert not number.endswith(f"{order_id:010d}")
        by_carrier.setdefault(props["carrier"], []).append(number)
    assert set(by_carrier) == {"UPS", "usps", "FedEx", "DHL Express"}
    assert all(len(numbers) > 20 for numbers in by_carrier.values())
    ups = by_carrier["UPS"]
    assert all(re.fullmatch(r"1Z[0-9A-Z]{16}", number) for number in ups)
    assert len({number[2:8] for number in ups}) == 1  # one shipper account
    assert all(_ups_check(number[2:17]) == int(number[17]) for number in ups)
    assert all(re.fullmatch(r"94001\d{17}", number) for number in by_carrier["usps"])
    assert all(re.fullmatch(r"\d{12}", number) for number in by_carrier["FedEx"])
    dhl = by_carrier["DHL Express"]
    assert all(re.fullmatch(r"\d{10}", n) and int(n[:9]) % 7 == int(n[9]) for n in dhl)
    every = [number for numbers in by_carrier.values() for number in numbers]
    assert len(set(every)) == len(every)


def test_postal_tracking_numbers_follow_upu_s10():
    """Royal Mail and other posts: two letters, eight digits, the S10 check digit, the
    country (the UPU's own example, RR473124829GB, checks)."""
    assert _s10("47312482", "RR", "GB") == "RR473124829GB"
    numbers = TrackingNumbers(3)
    for order_id in range(1, 200):
        number = numbers.number("Royal Mail", order_id)
        assert re.fullmatch(r"[A-Z]{2}\d{9}GB", number)
        assert _s10(number[2:10], number[:2], "GB") == number
    assert re.fullmatch(r"\d{12}", numbers.number("Acme Freight", 5))


def test_products_are_listed_at_spread_moments_before_the_start():
    """Not all at the start: products are listed over the two years before it, on
    weekdays in working hours (local time), their ids in listing order; event ids still
    follow time."""
    run = repriced_run()
    scenario = small_scenario()
    listed = {
        event[PRODUCT_ID]: event[OCCURRED_AT]
        for event in run.events
        if event[TYPE] == EventType.PRODUCT_CREATED
    }
    start = to_micros(scenario.start_utc)
    assert len(set(listed.values())) == len(listed) == 40
    assert all(start - 731 * DAY < moment < start for moment in listed.values())
    assert max(listed.values()) - min(listed.values()) > 300 * DAY
    assert [listed[i] for i in sorted(listed)] == sorted(listed.values())
    for moment in listed.values():
        local = to_datetime(moment).astimezone(scenario.zone)
        assert local.weekday() < 5, local
        assert 8 <= local.hour < 18, local
    moments = [event[OCCURRED_AT] for event in run.events]
    assert moments == sorted(moments)


def test_product_names_fit_their_category_and_do_not_repeat():
    """No "Rugged Candle": a home product's words are home words; 600 products in six
    categories (the bundled ones' kind) have 600 names; a category without words of its
    own reads "<style> <Category> <noun>"."""
    scenario = small_scenario(
        catalog={
            "generate": {"count": 600},
            "categories": ["home", "apparel", "electronics", "kitchen", "tents", "widgets"],
        }
    )
    products = build_catalog(scenario).products
    names = [product.name for product in products]
    assert len(set(names)) == len(names)
    for product in products:
        styles, _, nouns = category_words(product.category)
        assert any(product.name.endswith(noun) for noun in nouns), product.name
        assert product.name.split()[0] in {style.split()[0] for style in styles}, product.name
    home_words = {word for part in category_words("home") for w in part for word in w.split()}
    assert "Rugged" not in home_words
    assert any(name.startswith(tuple(ADJECTIVES)) and "Widgets" in name for name in names)


# ----------------------------------------------------------------- price at checkout (item 14)


@cache
def checkout_run() -> Output:
    """Carts that wait (returning visitors recover them) across price changes: a week-long
    sale on home, a dearer toys category, and five-minute flash prices through a day."""
    flash = [
        {
            "at": f"2024-03-04T{hour:02d}:{minute:02d}",
            "until": f"2024-03-04T{hour:02d}:{minute + 5:02d}",
            "percent": -20,
        }
        for hour in range(8, 23)
        for minute in range(0, 60, 10)
    ]
    return collect(
        small_scenario(
            end="2024-03-08",
            traffic={"sessions_per_day": 700},
            audience={"returning_share": 0.5, "existing_customers": 200},
            catalog={
                "generate": {"count": 30},
                "categories": ["home", "toys"],
                "price_changes": [
                    {"at": "2024-03-02", "until": "2024-03-06", "percent": -25, "category": "home"},
                    {"at": "2024-03-03", "percent": 15, "category": "toys"},
                    *flash,
                ],
            },
            behaviour={"cart": {"recover_probability": 0.8}},
        )
    )


def test_every_order_line_is_at_the_list_price_when_the_order_was_placed():
    """A shop charges the current price at checkout: every order line's unit price is its
    product's list price at the moment of order_placed (prices followed event by event),
    including lines added to the cart before a price change (some are, in this run)."""
    price: dict[int, int] = {}
    lines_checked = repriced_orders = 0
    for event in checkout_run().events:
        props = event[PROPERTIES]
        if event[TYPE] in {EventType.PRODUCT_CREATED, EventType.PRODUCT_PRICE_CHANGED}:
            price[event[PRODUCT_ID]] = props["price_cents"]
        elif event[TYPE] == EventType.ORDER_PLACED:
            for line in props["lines"]:
                assert line["unit_price_cents"] == price[line["product_id"]], (event, line)
                lines_checked += 1
            repriced_orders += "repriced" in props
    assert lines_checked > 200
    assert repriced_orders > 0


def test_checkout_moves_the_cart_to_current_prices_and_the_tables_follow():
    """checkout_started says which lines moved to the current price; cart_items follow
    it, each cart's subtotal stays the sum of its lines, and a converted cart's lines
    carry the prices its order charged."""
    run = checkout_run()
    repriced_at_checkout = [
        event
        for event in run.events
        if event[TYPE] == EventType.CHECKOUT_STARTED and "repriced" in (event[PROPERTIES] or {})
    ]
    assert len(repriced_at_checkout) > 5
    items = run.final("cart_items")
    for event in repriced_at_checkout:
        for change in event[PROPERTIES]["repriced"]:
            assert change["unit_price_cents"] != change["previous_unit_price_cents"]
    by_cart: dict[int, int] = Counter()
    for item in items.values():
        if not item["removed"]:
            by_cart[item["cart_id"]] += item["quantity"] * item["unit_price_cents"]
    carts = run.final("carts")
    for cart_id, cart in carts.items():
        assert cart["subtotal_cents"] == by_cart[cart_id], cart
    lines = run.final("order_line_items")
    orders = run.final("orders")
    charged = {
        (orders[line["order_id"]]["cart_id"], line["product_id"]): line["unit_price_cents"]
        for line in lines.values()
    }
    for item in items.values():
        key = (item["cart_id"], item["product_id"])
        if key in charged and not item["removed"]:
            assert item["unit_price_cents"] == charged[key], item
