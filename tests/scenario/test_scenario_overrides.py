"""``--set key.path=value`` overrides: values read as YAML, paths checked against the model."""

from __future__ import annotations

import datetime as dt

import pytest

from fauxsim.scenario.distributions import LogNormal
from fauxsim.scenario.loading import load_scenario_text
from fauxsim.scenario.model import Scenario
from fauxsim.scenario.problems import InvalidScenarioError

WINDOW = "start: 2025-01-01\nend: 2025-01-08\n"
WITH_EVENT = WINDOW + "traffic:\n  calendar:\n    - {name: Sale, date: 2025-01-03}\n"


def problems_of(overrides, text=WINDOW):
    with pytest.raises(InvalidScenarioError) as caught:
        load_scenario_text(text, "shop.yaml", overrides)
    return [str(problem) for problem in caught.value.problems]


def test_values_are_read_as_yaml_numbers_booleans_dates_and_lists():
    scenario = load_scenario_text(
        WINDOW,
        "shop.yaml",
        [
            "traffic.sessions_per_day=20000",
            "quirks.keep_removed_cart_items=true",
            "end=2025-02-01",
            "traffic.weekday_weights=[1, 1, 1, 1, 1, 2, 2]",
            "name=two words",
        ],
    )
    assert scenario.traffic.sessions_per_day == 20000
    assert scenario.quirks.keep_removed_cart_items is True
    assert scenario.end == dt.date(2025, 2, 1)
    assert scenario.traffic.weekday_weights == [1, 1, 1, 1, 1, 2, 2]
    assert scenario.name == "two words"


def test_an_override_replaces_the_value_written_in_the_file():
    text = WINDOW + "traffic: {sessions_per_day: 5}\n"
    scenario = load_scenario_text(text, "shop.yaml", ["traffic.sessions_per_day=7"])
    assert scenario.traffic.sessions_per_day == 7


def test_list_items_are_addressed_by_index():
    scenario = load_scenario_text(WITH_EVENT, "shop.yaml", ["traffic.calendar.0.days=3"])
    assert scenario.traffic.calendar[0].days == 3


def test_a_mapping_missing_from_the_file_starts_from_its_default():
    """Setting one funnel probability keeps the rest of the default funnel."""
    default_funnel = Scenario(start=dt.date(2025, 1, 1), end=dt.date(2025, 1, 8)).behaviour.funnel
    funnel = load_scenario_text(
        WINDOW, "shop.yaml", ["behaviour.funnel.cart.checkout=0.6"]
    ).behaviour.funnel
    assert funnel.keys() == default_funnel.keys()
    assert funnel["cart"]["checkout"] == 0.6
    assert funnel["landing"] == default_funnel["landing"]


def test_a_key_of_a_default_distribution_keeps_its_type_and_other_keys():
    price = load_scenario_text(
        WINDOW, "shop.yaml", ["catalog.generate.price.median=40"]
    ).catalog.generate.price
    assert price == LogNormal(median=40, sigma=0.7, max=2000.0)


def test_an_empty_file_can_be_completed_by_overrides():
    scenario = load_scenario_text("", "empty.yaml", ["start=2025-01-01", "end=2025-01-02"])
    assert scenario.end == dt.date(2025, 1, 2)


def test_an_unknown_path_is_refused_with_a_suggestion():
    assert problems_of(["traffic.sesions_per_day=5"]) == [
        (
            "--set traffic.sesions_per_day=5: traffic.sesions_per_day: unknown key "
            "'sesions_per_day'; did you mean 'sessions_per_day'? (allowed: sessions_per_day, "
            "hourly_weights, weekday_weights, growth_per_year, daily_noise, calendar)"
        )
    ]


def test_a_path_below_a_single_value_is_refused():
    assert problems_of(["seed.value=5"]) == [
        "--set seed.value=5: seed.value: seed has no key 'value': it is a single value"
    ]


def test_a_list_index_beyond_the_list_is_refused():
    assert problems_of(["traffic.calendar.2.days=3"], WITH_EVENT) == [
        (
            "--set traffic.calendar.2.days=3: traffic.calendar.2: traffic.calendar has 1 item, "
            "so there is no item 2"
        )
    ]


def test_an_override_without_equals_sign_shows_the_expected_form():
    assert problems_of(["traffic.sessions_per_day"]) == [
        (
            "--set traffic.sessions_per_day: write an override as key.path=value, "
            "e.g. traffic.sessions_per_day=20000"
        )
    ]


def test_an_invalid_value_is_reported_at_the_override_that_set_it():
    assert problems_of(["audience.returning_share=2"]) == [
        (
            "--set audience.returning_share=2: audience.returning_share: must be at most 1 "
            "(got 2; allowed: a number from 0 to 1)"
        )
    ]


def test_a_rule_an_override_breaks_inside_a_written_value_names_that_override():
    """The file's funnel is fine; with the override its transitions sum above 1."""
    text = WINDOW + "behaviour:\n  funnel:\n    cart: {checkout: 0.5, product: 0.3}\n"
    assert problems_of(["behaviour.funnel.cart.checkout=0.9"], text) == [
        (
            "shop.yaml:5:11 (with --set behaviour.funnel.cart.checkout=0.9): behaviour.funnel."
            "cart: transitions from 'cart' sum to 1.2; they must sum to at most 1 (what is left "
            "over is the chance to leave the site)"
        )
    ]


def test_a_cross_section_rule_an_override_breaks_elsewhere_names_that_override():
    """The file's end is fine; the override of the start puts it before the start."""
    assert problems_of(["start=2030-01-01"]) == [
        (
            "shop.yaml:2:6 (with --set start=2030-01-01): end: must be after start, 2030-01-01 "
            "(got 2025-01-08)"
        )
    ]


def test_an_override_of_what_a_segment_is_checked_against_is_named():
    text = (
        WINDOW + "behaviour:\n"
        "  funnel:\n"
        "    cart: {checkout: 0.5}\n"
        "  segments:\n"
        "    - device: mobile\n"
        "      behaviour: {funnel: {cart: {product: 0.4}}}\n"
    )
    assert problems_of(
        ["audience.devices={tv: 1}", "behaviour.funnel.cart.checkout=0.7"], text
    ) == [
        (
            "shop.yaml:7:15 (with --set audience.devices={tv: 1}): behaviour.segments.0.device: "
            "unknown device: a segment can only name one listed in audience.devices (got "
            "'mobile'; allowed: tv)"
        ),
        (
            "shop.yaml:8:34 (with --set behaviour.funnel.cart.checkout=0.7): behaviour.segments."
            "0.behaviour.funnel.cart: segment 0 makes the funnel impossible: transitions from "
            "'cart' sum to 1.1; they must sum to at most 1 (what is left over is the chance to "
            "leave the site)"
        ),
    ]


def test_a_broken_rule_set_by_one_override_names_the_other_it_was_compared_with():
    assert problems_of(["start=2025-03-01", "end=2025-02-01"]) == [
        (
            "--set end=2025-02-01 (with --set start=2025-03-01): end: must be after start, "
            "2025-03-01 (got 2025-02-01)"
        )
    ]


def test_the_timezone_override_is_named_only_when_it_placed_one_end_and_not_the_other():
    """14:00 in Tokyo is 05:00 UTC, before a start at 12:00 UTC; with both ends in local time,
    any timezone orders them alike, so it is no cause."""
    text = "start: 2025-01-01T12:00:00Z\nend: 2025-01-01T14:00\n"
    assert problems_of(["timezone=Asia/Tokyo"], text) == [
        (
            "shop.yaml:2:6 (with --set timezone=Asia/Tokyo): end: must be after start, "
            "2025-01-01 12:00:00+00:00 (got '2025-01-01T14:00')"
        )
    ]
    assert problems_of(["timezone=Asia/Tokyo", "start=2025-02-01"]) == [
        (
            "shop.yaml:2:6 (with --set start=2025-02-01): end: must be after start, 2025-02-01 "
            "(got 2025-01-08)"
        )
    ]


def test_a_cross_section_rule_beside_field_errors_still_names_the_override():
    """Reported by the re-run checks rather than by the scenario's own validation."""
    text = WINDOW + "currency: usd\n"
    assert problems_of(["start=2030-01-01"], text) == [
        (
            "shop.yaml:2:6 (with --set start=2030-01-01): end: must be after start, 2030-01-01 "
            "(got 2025-01-08)"
        ),
        (
            "shop.yaml:3:11: currency: is not in the expected form (got 'usd'; allowed: a "
            "three-letter currency code such as USD or EUR)"
        ),
    ]


def test_a_mapping_an_override_created_is_blamed_on_that_override():
    assert problems_of(["catalog.generate.price.type=normal"]) == [
        (
            "--set catalog.generate.price.type=normal: catalog.generate.price.type: unknown type "
            "'normal'; did you mean 'lognormal'? (allowed: constant, uniform, exponential, "
            "lognormal)"
        )
    ]
    assert problems_of(["behaviour.segments=[{device: mobile}]"]) == [
        (
            "--set behaviour.segments=[{device: mobile}]: behaviour.segments.0.behaviour: required "
            "key is missing (allowed: a mapping with keys funnel, add_to_cart_quantity, "
            "coupon_probability)"
        )
    ]


def test_every_broken_override_is_reported_with_the_files_own_problems():
    text = WINDOW + "currency: usd\n"
    assert problems_of(["seed=-1", "nope=1"], text) == [
        (
            "shop.yaml:3:11: currency: is not in the expected form (got 'usd'; allowed: a "
            "three-letter currency code such as USD or EUR)"
        ),
        (
            "--set seed=-1: seed: must be at least 0 (got -1; allowed: a whole number at least 0 "
            "and below 9223372036854775808)"
        ),
        (
            "--set nope=1: nope: unknown key 'nope' (allowed: name, description, seed, shards, "
            "timezone, start, end, currency, catalog, traffic, audience, behaviour, orders, "
            "quirks)"
        ),
    ]
