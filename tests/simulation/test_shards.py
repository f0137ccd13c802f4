"""Shards (#20): the audience split K ways, each shard simulated alone from (seed, shard).

One shard is today's run (the golden snapshots hold that); several keep the shop's
traffic and rates, hand out ids that never collide, and share the catalog.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from hashlib import blake2b
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import pytest

from fauxsim.events import ID, PROPERTIES, TYPE
from fauxsim.simulation import identities, sampling, session
from fauxsim.simulation.identities import Identities
from fauxsim.simulation.labels import ORDER_PLACED, PRODUCT_CREATED, SESSION_STARTED, SIGNED_UP
from fauxsim.simulation.shards import Shard, all_shards
from fauxsim.tables import ALL_TABLES, EVENTS, PRODUCTS
from tests.simulation.helpers import collect, small_scenario

if TYPE_CHECKING:
    from fauxsim.scenario.model import Scenario
    from tests.simulation.helpers import Output


def _shards(scenario: Scenario) -> list[Output]:
    return [collect(scenario, shard=shard) for shard in all_shards(scenario.shards)]


def _with_quirks(**changes: Any) -> Scenario:
    quirks = {"duplicate_events": 0.01, "late_arrivals": {"probability": 0.01}}
    return small_scenario(quirks=quirks, **changes)


def test_one_shard_is_the_whole_shop():
    scenario = small_scenario()
    assert collect(scenario, shard=Shard(0, 1)) == collect(scenario)


def test_the_shard_count_is_part_of_the_scenario_and_of_its_digest():
    one, four = small_scenario(), small_scenario(shards=4)
    # A scenario of one shard dumps as before shards existed: its digest did not change.
    assert "shards" not in one.model_dump()
    assert four.model_dump()["shards"] == 4
    assert one.model_dump_json() != four.model_dump_json()


def test_ids_are_unique_across_shards_and_strided_by_shard():
    scenario = _with_quirks(shards=3)
    outputs = _shards(scenario)
    seen_events: set[int] = set()
    for spec in ALL_TABLES:
        if spec in (PRODUCTS, EVENTS):
            continue  # the catalog is shared: shard 0 lists it; events below
        seen: set[int] = set()
        for index, output in enumerate(outputs):
            keys = set(output.final(spec.name))
            assert keys, f"shard {index} has no {spec.name}"
            assert {key % 3 for key in keys} == {(index + 1) % 3}, spec.name
            assert not keys & seen, f"{spec.name}: ids repeat across shards"
            seen |= keys
    for index, output in enumerate(outputs):
        # Event ids follow the stride too.
        ids = {event[ID] for event in output.events}
        assert {event_id % 3 for event_id in ids} == {(index + 1) % 3}
        assert not ids & seen_events
        seen_events |= ids


def test_email_addresses_are_unique_across_shards():
    """A shard gives the address a name makes only if its digest falls to it, else numbers of
    its own (identities.py)."""
    scenario = _with_quirks(shards=3)
    emails = [
        row["email"] for output in _shards(scenario) for row in output.final("customers").values()
    ]
    assert len(emails) > 100
    assert len(set(emails)) == len(emails)
    # The same names drawn in two shards (the worst case) still make different addresses.
    shards = [Identities(7, index, 2) for index in range(2)]
    given = [{shard.customer(n, n * 7919, "US").email for n in range(200)} for shard in shards]
    assert not given[0] & given[1]
    assert Identities(7).customer(1, 7919, "US").email in given[0] | given[1]


# An address as RFC 5322 allows it unquoted (a dot-atom local part), of what names make.
_ADDRESS = re.compile(r"[a-z0-9]+([._-][a-z0-9]+)*@[a-z0-9-]+(\.[a-z0-9-]+)+")


def _colliding_addresses(shard: Identities) -> list[str]:
    """A shard's addresses for customers whose names come up again and again: 7 draws of
    bits for 140 customers, and one address of every shape 30 times over."""
    drawn = [shard.customer(n, n % 7 * 7919, "US").email for n in range(140)]
    locals_ = ("anna.devries", "anna_devries", "anna_devries85", "adevries1990", "anna")
    return drawn + [shard._unique(local, "gmail.example") for local in locals_ for _ in range(30)]


@pytest.mark.parametrize("count", [2, 3, 64])
def test_no_two_shards_ever_give_the_same_address(count: int):
    """Every shard meets the same names again and again: each address is still given once,
    in one shard, and stays a plain dot-atom address."""
    given = [_colliding_addresses(Identities(7, index, count)) for index in range(count)]
    every = [email for emails in given for email in emails]
    assert len(set(every)) == len(every) == count * 290
    assert all(_ADDRESS.fullmatch(email) for email in every)


def _owner(email: str, shards: int) -> int:
    """The shard that may give ``email``, read from the address alone (identities.py): its
    stem's digest plus the value of the digits it ends with, mod K."""
    local, domain = email.split("@")
    stem = local.rstrip("0123456789")
    digits = local[len(stem) :]
    digest = blake2b(f"{stem}@{domain}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") + int(digits or 0)) % shards


@pytest.mark.parametrize("count", [2, 4, 64])
def test_every_address_a_shard_gives_is_its_own(count: int):
    """The owner of an address is a function of the address: each shard gives only its own,
    so no two shards can give the same one."""
    for index in range(count):
        for email in _colliding_addresses(Identities(7, index, count)):
            assert _owner(email, count) == index, email


def test_a_base_goes_to_its_owner_and_the_others_number_it_from_their_residue():
    """One shard, the owner, gives ``anna.devries`` itself, once; every shard's numbers
    for it are its own residue, from 1 to K first, then K more each time."""
    bases = 0
    for index in range(4):
        shard = Identities(7, index, 4)
        emails = [shard._unique("anna.devries", "gmail.example") for _ in range(3)]
        numbers = [email.split("@")[0].removeprefix("anna.devries") for email in emails]
        if numbers[0] == "":
            bases += 1
            numbers = numbers[1:]
        values = [int(number) for number in numbers]
        assert 1 <= values[0] <= 4
        assert all(later - earlier == 4 for earlier, later in pairwise(values))
    assert bases == 1


def _digits_given(shard: Identities, local: str, stem: str, times: int) -> list[str]:
    return [shard._unique(local, "gmail.example").split("@")[0].removeprefix(stem)
            for _ in range(times)]  # fmt: skip


def test_sharded_addresses_read_as_peoples_do():
    """No ``_<n>`` of a shard's own; a year of birth stays one (1950-2005), nearest first,
    two digits stay two; where a shard owns no such year (K above 56) a number from 1."""
    for index in range(4):
        years = _digits_given(Identities(7, index, 4), "adevries1990", "adevries", 3)
        assert all(1990 - 12 <= int(year) <= 1990 + 12 and len(year) == 4 for year in years)
        two = _digits_given(Identities(7, index, 4), "anna.devries07", "anna.devries", 3)
        assert all(len(digits) == 2 for digits in two), two
    for index in range(64):
        for digits in _digits_given(Identities(7, index, 64), "adevries1990", "adevries", 2):
            year = len(digits) == 4 and 1950 <= int(digits) <= 2005
            assert year or (1 <= int(digits) <= 2 * 64 and not digits.startswith("0")), digits
        assert len(_digits_given(Identities(7, index, 64), "anna07", "anna", 1)[0]) == 2
    emails = [Identities(11, 3, 4).customer(n, n * 2_654_435_761, "US").email for n in range(3000)]
    assert not [email for email in emails if re.search(r"_\d+@", email)]
    with_digits = sum(1 for email in emails if re.search(r"\d@", email)) / len(emails)
    assert 0.75 < with_digits < 0.95  # (at K = 1, ~44%: see the class's docstring)


def test_a_customer_costs_one_digest_at_any_shard_count(monkeypatch: pytest.MonkeyPatch):
    """Not about K digests a customer (renumbering until an address fell to the shard)."""
    digested: list[bytes] = []

    def counted(data: bytes, *, digest_size: int) -> Any:
        digested.append(data)
        return blake2b(data, digest_size=digest_size)

    monkeypatch.setattr(identities, "blake2b", counted)
    for count in (2, 64):
        shard = Identities(7, count - 1, count)
        digested.clear()
        for n in range(500):
            shard.customer(n, n % 50 * 7919, "US")  # 50 names, each 10 times
        assert len(digested) == 500


def test_shard_zero_lists_the_catalog_and_every_shard_sells_from_it():
    scenario = small_scenario(shards=3)
    whole = collect(small_scenario())
    outputs = _shards(scenario)
    assert outputs[0].final(PRODUCTS.name) == whole.final(PRODUCTS.name)
    for output in outputs[1:]:
        assert not output.final(PRODUCTS.name)
        assert not any(event[TYPE] == PRODUCT_CREATED for event in output.events)
    products = set(whole.final(PRODUCTS.name))
    for output in outputs:
        sold = {line["product_id"] for line in output.final("order_line_items").values()}
        assert sold, "no order in a shard"
        assert sold <= products


def test_existing_customers_are_split_between_shards():
    scenario = small_scenario(shards=3, audience={"existing_customers": 40})
    imported = [
        sum(
            1
            for event in output.events
            if event[TYPE] == SIGNED_UP and event[PROPERTIES]["source"] == "import"
        )
        for output in _shards(scenario)
    ]
    assert imported == [14, 13, 13]


def test_a_shard_differs_from_the_whole_shop_and_from_its_siblings():
    shard_events = [output.events for output in _shards(small_scenario(shards=2))]
    assert shard_events[0] != shard_events[1]
    assert shard_events[0] != collect(small_scenario()).events


@pytest.mark.parametrize("compiled", [True, False])
def test_a_shard_is_the_same_with_compiled_visits_or_their_twins(monkeypatch, compiled):
    """A shard of several starts its visits in C (``_visit.Arrivals``, its session ids
    strided) or in the twin, alike."""
    scenario = _with_quirks(shards=2, end="2024-03-02")
    monkeypatch.setattr(session, "COMPILED", False)
    monkeypatch.setattr(sampling, "COMPILED", False)
    expected = collect(scenario, shard=Shard(1, 2))
    monkeypatch.setattr(session, "COMPILED", compiled)
    monkeypatch.setattr(sampling, "COMPILED", compiled)
    assert collect(scenario, shard=Shard(1, 2)) == expected


def _counts(outputs: list[Output]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for output in outputs:
        for event in output.events:
            if event[TYPE] in (SESSION_STARTED, ORDER_PLACED):
                counts[event[TYPE]] += 1
            elif event[TYPE] == SIGNED_UP and event[PROPERTIES]["source"] != "import":
                counts[SIGNED_UP] += 1
        counts["orders"] += len(output.final("orders"))
    return counts


def test_traffic_and_rates_stay_as_configured_across_shards():
    """Four shards make the traffic and orders of one shop, within Poisson noise: each
    total is within four standard deviations of the whole shop's (a difference of two
    independent counts of about n has a deviation of about sqrt(2 n))."""
    changes: dict[str, Any] = {
        "end": "2024-03-06",
        "traffic": {"sessions_per_day": 3000, "daily_noise": 0.0},
    }
    whole = _counts([collect(small_scenario(**changes))])
    split = _counts(_shards(small_scenario(shards=4, **changes)))
    assert whole[SESSION_STARTED] > 10_000
    assert whole[ORDER_PLACED] > 200
    for what in (SESSION_STARTED, ORDER_PLACED, SIGNED_UP):
        tolerance = 4 * math.sqrt(2 * whole[what])
        assert abs(split[what] - whole[what]) <= tolerance, (what, split[what], whole[what])
    conversion = (whole[ORDER_PLACED] / whole[SESSION_STARTED],
                  split[ORDER_PLACED] / split[SESSION_STARTED])  # fmt: skip
    assert conversion[1] == pytest.approx(conversion[0], rel=0.15)


def test_shards_of_a_process_share_the_listings_not_the_products():
    """The catalog's draws are made once per process; each run gets products of its own,
    whose prices its price changes move (a shard's sale is not another's)."""
    from fauxsim.simulation.catalog import build_catalog  # noqa: PLC0415

    scenario = small_scenario(shards=2)
    first, second = build_catalog(scenario), build_catalog(scenario)
    assert [vars_of(p) for p in first.products] == [vars_of(p) for p in second.products]
    first.products[0].reprice(0.5)
    assert second.products[0].price_cents == second.products[0].base_price_cents
    assert first.products[0].price_cents != second.products[0].price_cents


def vars_of(product: object) -> dict[str, object]:
    return {name: getattr(product, name) for name in type(product).__slots__}  # type: ignore[attr-defined]


def test_shards_of_a_process_share_their_kinds_of_session():
    """Sessions of a kind share a compiled behaviour and session_started properties, which
    the scenario alone defines: the shards a process runs share them (built per shard, at
    64 shards they cost as much as a visit), and a shard's output is the same either way."""
    from fauxsim.simulation import per_process  # noqa: PLC0415
    from fauxsim.simulation.engine import Simulation  # noqa: PLC0415

    scenario = small_scenario(shards=2)
    first, second = (Simulation(scenario, shard=shard) for shard in all_shards(2))
    assert first.behaviour is second.behaviour
    assert first.session_kinds is second.session_kinds
    other = Simulation(small_scenario(shards=2, seed=8), shard=all_shards(2)[1])
    assert other.session_kinds is not first.session_kinds
    per_process._kept.clear()  # a process that has run no shard yet
    alone = collect(scenario, shard=all_shards(2)[1])
    assert first.session_kinds is not Simulation(scenario, shard=all_shards(2)[1]).session_kinds
    collect(scenario, shard=all_shards(2)[0])
    assert collect(scenario, shard=all_shards(2)[1]).events == alone.events
