"""Postal addresses (#18 item 13): every customer lives at an address of their country,
drawn from pools built once a run, and every order ships to a copy of it taken when it
was placed. Each test fails on the data as it was before (no address at all)."""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from typing import Any

from faker.providers.address.en_US import Provider as UsAddresses

from fauxsim.events import CUSTOMER_ID, PROPERTIES, TYPE, EventType
from fauxsim.randomness import Purpose, derive
from fauxsim.simulation.addresses import Addresses, AddressPool
from tests.simulation.helpers import Output, collect, small_scenario

_COUNTRIES = ("US", "CA", "MX", "GB", "IE", "DE", "NL", "BE", "LU")

# Postal codes as each country prints them.
_POSTAL_CODES = {
    "US": r"\d{5}",
    "CA": r"[A-Z]\d[A-Z] \d[A-Z]\d",
    "MX": r"\d{5}",
    "GB": r"[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}",  # outward code, space, inward code
    "IE": r"[A-Z\d]{3} [A-Z\d]{4}",  # Eircode: routing key, unique identifier
    "DE": r"\d{5}",
    "NL": r"\d{4} [A-Z]{2}",
    "BE": r"\d{4}",
    "LU": r"L-[1-9]\d{3}",
}
_ADDRESS = ("street", "city", "region", "postal_code")


@cache
def address_run() -> Output:
    """Four days of a shop selling to nine countries, with customers imported at the start."""
    return collect(
        small_scenario(
            end="2024-03-05",
            traffic={"sessions_per_day": 900},
            audience={
                "existing_customers": 300,
                "countries": dict.fromkeys(_COUNTRIES, 1),
            },
        )
    )


def customers() -> list[dict[str, Any]]:
    return list(address_run().final("customers").values())


def test_every_customer_has_an_address_shaped_as_their_country_writes_it():
    """Imported and signed up alike: a street line, a town, and a postal code of the
    country's shape (US five digits, GB outward and inward codes, NL four digits and two
    letters ...); a region (state, province) only where the country's addresses name one."""
    rows = customers()
    assert {row["signup_source"] for row in rows} == {"import", "browse", "checkout"}
    assert {row["country"] for row in rows} == set(_COUNTRIES)
    for row in rows:
        assert row["street"], row
        assert row["city"], row
        assert "\n" not in row["street"], row
        assert re.fullmatch(_POSTAL_CODES[row["country"]], row["postal_code"]), row
        assert (row["region"] is not None) == (row["country"] in {"US", "CA", "MX"}), row


def test_us_zip_codes_fall_in_their_states_range():
    """A Texas customer has a Texas ZIP: the code is drawn within the state's range."""
    us = [row for row in customers() if row["country"] == "US"]
    ranges = UsAddresses.states_postcode
    assert len({row["region"] for row in us}) > 20
    for row in us:
        low, high = ranges[row["region"]]
        assert low <= int(row["postal_code"]) <= high, row


def test_us_customers_live_in_states_as_often_as_people_do():
    """Not Wyoming as often as California: a country's places (where its customers live)
    follow the states' populations, about 12% California, under 1% Wyoming."""
    places = Counter(region for _, region, _, _ in AddressPool("US", 7).places)
    total = sum(places.values())
    assert 0.07 < places["CA"] / total < 0.18, places
    assert places["TX"] > places["WY"] + places["VT"] + places["AK"], places
    assert places["WY"] / total < 0.01, places
    territories = {"PR", "GU", "VI", "AS", "MP", "FM", "MH", "PW"}
    assert set(places) <= set(UsAddresses.states_postcode) - territories


def test_addresses_are_many_and_a_street_line_seldom_repeats():
    """Not a template: nearly every customer has an address of their own (a household may
    share one), and a street line seldom repeats."""
    rows = customers()
    full = Counter(tuple(row[part] for part in (*_ADDRESS, "country")) for row in rows)
    streets = Counter(row["street"] for row in rows)
    assert len(full) > 0.99 * len(rows)
    assert len(streets) > 0.8 * len(rows), streets.most_common(5)
    assert not any(street[:1] == "0" for street in streets), "a house number with a leading 0"


def test_every_order_ships_to_its_customers_address_at_order_time():
    """orders.shipping_* equal the customer's address columns; in the events, each
    order_placed carries a shipping_address equal to the address its customer's
    signed_up gave."""
    run = address_run()
    people = run.final("customers")
    orders = list(run.final("orders").values())
    assert len(orders) > 50
    for order in orders:
        customer = people[order["customer_id"]]
        shipped = [order[f"shipping_{part}"] for part in (*_ADDRESS, "country")]
        assert shipped == [customer[part] for part in (*_ADDRESS, "country")]
    signed_up = {
        event[CUSTOMER_ID]: event[PROPERTIES]
        for event in run.events
        if event[TYPE] == EventType.SIGNED_UP.value
    }
    placed = [event for event in run.events if event[TYPE] == EventType.ORDER_PLACED.value]
    assert len(placed) == len(orders)
    for event in placed:
        properties, customer = event[PROPERTIES], signed_up[event[CUSTOMER_ID]]
        assert properties["shipping_address"] == {
            **{part: customer[part] for part in _ADDRESS},
            "country": customer["country"],
        }


def test_the_same_seed_gives_the_same_addresses_and_another_seed_others():
    """Pools come from Faker seeded by the scenario's seed (built afresh here, not the
    process's cached ones), picks from each customer's own bits."""
    bits = [derive(5, Purpose.ADDRESS, customer_id) for customer_id in range(1, 60)]
    first, again, other = AddressPool("NL", 5), AddressPool("NL", 5), AddressPool("NL", 6)
    assert [first.address(b) for b in bits] == [again.address(b) for b in bits]
    assert [first.address(b) for b in bits] != [other.address(b) for b in bits]
    assert Addresses(5).of(bits[0], "nl") == first.address(bits[0])
