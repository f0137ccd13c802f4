"""Every kind of broken scenario gets one exact, located message; one fixture file per kind."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from fauxsim.errors import ScenarioError
from fauxsim.scenario.loading import load_scenario, load_scenario_text
from fauxsim.scenario.problems import InvalidScenarioError

FIXTURES = Path(__file__).parent / "fixtures"

EXPECTED_PROBLEMS = {
    "yaml_syntax.yaml": [
        "yaml_syntax.yaml:5:18: invalid YAML: mapping values are not allowed here",
    ],
    "unknown_key.yaml": [
        (
            "unknown_key.yaml:4:3: traffic.sesions_per_day: unknown key 'sesions_per_day'; "
            "did you mean 'sessions_per_day'? (allowed: sessions_per_day, hourly_weights, "
            "weekday_weights, growth_per_year, daily_noise, calendar)"
        ),
    ],
    "wrong_type.yaml": [
        (
            "wrong_type.yaml:4:21: traffic.sessions_per_day: must be a number above 0 and at most "
            "50000000 (got 'lots')"
        ),
    ],
    "probability_out_of_range.yaml": [
        (
            "probability_out_of_range.yaml:4:20: audience.returning_share: must be at most 1 "
            "(got 1.5; allowed: a number from 0 to 1)"
        ),
    ],
    "funnel_sum_above_one.yaml": [
        (
            "funnel_sum_above_one.yaml:5:14: behaviour.funnel.landing: transitions from 'landing' "
            "sum to 1.2; they must sum to at most 1 (what is left over is the chance to leave the "
            "site)"
        ),
    ],
    "unknown_funnel_state.yaml": [
        (
            "unknown_funnel_state.yaml:5:27: behaviour.funnel.cart.exit: unknown key 'exit' "
            "(allowed: landing, category, search, product, cart, checkout, payment, "
            "confirmation)"
        ),
        (
            "unknown_funnel_state.yaml:6:5: behaviour.funnel.chekout: unknown key 'chekout'; "
            "did you mean 'checkout'? (allowed: landing, category, search, product, cart, "
            "checkout, payment, confirmation)"
        ),
    ],
    "end_before_start.yaml": [
        "end_before_start.yaml:2:6: end: must be after start, 2025-03-01 (got 2025-02-01)",
    ],
    "hours_closing_before_opening.yaml": [
        (
            "hours_closing_before_opening.yaml:5:40: orders.lifecycle.deliver_hours.closes: "
            "closes (9) must be after opens (18) (got 9; allowed: an hour after opens, up to 24)"
        ),
    ],
    "unknown_timezone.yaml": [
        (
            "unknown_timezone.yaml:1:11: timezone: unknown timezone; did you mean "
            "'America/New_York'? (got 'America/New_Yrok'; allowed: an IANA name such as "
            "'Europe/Berlin', 'America/New_York' or 'UTC')"
        ),
    ],
    "empty_catalog.yaml": [
        (
            "empty_catalog.yaml:3:1: catalog: the catalog is empty: list products or set "
            "generate.count above 0"
        ),
    ],
    "missing_start.yaml": [
        (
            "missing_start.yaml:1:1: start: required key is missing (allowed: a date such as "
            "2025-01-01 or a date-time such as 2025-01-01T09:00:00)"
        ),
    ],
    "number_as_date.yaml": [
        (
            "number_as_date.yaml:1:8: start: a date is written like 2025-01-01 (or "
            "2025-01-01T09:00); a number is not a date (got 2025)"
        ),
        (
            "number_as_date.yaml:2:6: end: a date is written like 2025-01-01 (or "
            "2025-01-01T09:00); a number is not a date (got 2026)"
        ),
    ],
    "invalid_date.yaml": [
        (
            "invalid_date.yaml:1:8: start: day value is outside expected range (got '2025-02-30'; "
            "allowed: a date such as 2025-01-01 or a date-time such as 2025-01-01T09:00:00)"
        ),
    ],
    "duplicate_key.yaml": [
        (
            "duplicate_key.yaml:5:1: traffic: key 'traffic' is written twice (first at line 3); "
            "YAML keeps only the last one, so remove or merge one of them"
        ),
    ],
    "unknown_segment_device.yaml": [
        (
            "unknown_segment_device.yaml:5:15: behaviour.segments.0.device: unknown device: a "
            "segment can only name one listed in audience.devices (got 'phone'; allowed: desktop, "
            "mobile, tablet)"
        ),
    ],
    "unknown_distribution_type.yaml": [
        (
            "unknown_distribution_type.yaml:5:19: catalog.generate.price.type: unknown type "
            "'normal'; did you mean 'lognormal'? (allowed: constant, uniform, exponential, "
            "lognormal)"
        ),
    ],
    "yearly_date_past_month_end.yaml": [
        (
            "yearly_date_past_month_end.yaml:6:35: traffic.calendar.0.every_year.day: must be at "
            "most 29 in February; an event on February 29 happens in leap years only (got 30)"
        ),
        (
            "yearly_date_past_month_end.yaml:8:35: traffic.calendar.1.every_year.day: must be at "
            "most 30 in April (got 31)"
        ),
    ],
    "yearly_date_with_weekday.yaml": [
        (
            "yearly_date_with_weekday.yaml:6:48: traffic.calendar.0.every_year.weekday: "
            "`weekday` belongs to a weekday rule (such as the fourth Thursday), not to a fixed "
            "`day`; keep `day` or `weekday` (got 'monday')"
        ),
    ],
    "yearly_date_without_day.yaml": [
        (
            "yearly_date_without_day.yaml:6:19: traffic.calendar.0.every_year: give `day` for a "
            "fixed date (month: 10, day: 1 is October 1) or `weekday` and `nth` for a weekday "
            "(month: 11, weekday: thursday, nth: 4)"
        ),
        (
            "yearly_date_without_day.yaml:8:7: traffic.calendar.1.every_year.nth: required with "
            "`weekday`: 1 = first, 4 = fourth, -1 = last"
        ),
    ],
    "several_errors.yaml": [
        (
            "several_errors.yaml:4:11: currency: is not in the expected form (got 'usd'; allowed: "
            "a three-letter currency code such as USD or EUR)"
        ),
        (
            "several_errors.yaml:6:21: traffic.sessions_per_day: must be above 0 (got -5; allowed: "
            "a number above 0 and at most 50000000)"
        ),
        (
            "several_errors.yaml:9:40: traffic.calendar.0.every_year.weekday: unknown value "
            "'thurday'; did you mean 'thursday'? (allowed: monday, tuesday, wednesday, thursday, "
            "friday, saturday, sunday)"
        ),
        (
            "several_errors.yaml:12:11: behaviour.funnel.cart: transitions from 'cart' sum to 1.2; "
            "they must sum to at most 1 (what is left over is the chance to leave the site)"
        ),
    ],
    "cross_section_beside_field_errors.yaml": [
        (
            "cross_section_beside_field_errors.yaml:4:6: end: must be after start, 2025-01-08 "
            "(got 2025-01-01)"
        ),
        (
            "cross_section_beside_field_errors.yaml:7:45: catalog.products.0.price: must be "
            "above 0 (got -3; allowed: a number above 0)"
        ),
        (
            "cross_section_beside_field_errors.yaml:10:15: behaviour.segments.0.device: unknown "
            "device: a segment can only name one listed in audience.devices (got 'fridge'; "
            "allowed: desktop, mobile, tablet)"
        ),
        (
            "cross_section_beside_field_errors.yaml:13:13: orders.tax_rate: must be at most 1 "
            "(got 1.5; allowed: a number from 0 to 1)"
        ),
    ],
    "cross_section_beside_errors_in_its_sections.yaml": [
        (
            "cross_section_beside_errors_in_its_sections.yaml:4:6: end: must be after start, "
            "2025-01-08 (got 2025-01-01)"
        ),
        (
            "cross_section_beside_errors_in_its_sections.yaml:5:11: timezone: unknown timezone; "
            "did you mean 'Europe/Berlin'? (got 'Europe/Berln'; allowed: an IANA name such as "
            "'Europe/Berlin', 'America/New_York' or 'UTC')"
        ),
        (
            "cross_section_beside_errors_in_its_sections.yaml:7:21: traffic.sessions_per_day: "
            "must be above 0 (got -5; allowed: a number above 0 and at most 50000000)"
        ),
        (
            "cross_section_beside_errors_in_its_sections.yaml:9:44: traffic.calendar.0.days: "
            "must be above 0 (got 0; allowed: a number above 0 and at most 366)"
        ),
        (
            "cross_section_beside_errors_in_its_sections.yaml:9:87: traffic.calendar.0.behaviour."
            "funnel.landing.payment: calendar event 'Sale' makes the funnel impossible: 'payment' "
            "cannot follow 'landing' (got 0.2; allowed: 'payment' only after checkout)"
        ),
        (
            "cross_section_beside_errors_in_its_sections.yaml:11:20: audience.returning_share: "
            "must be at most 1 (got 1.5; allowed: a number from 0 to 1)"
        ),
        (
            "cross_section_beside_errors_in_its_sections.yaml:12:21: audience.devices.mobile: "
            "must be at least 0 (got -1; allowed: a number at least 0)"
        ),
        (
            "cross_section_beside_errors_in_its_sections.yaml:14:28: "
            "behaviour.session_timeout_minutes: must be above 0 (got 0; allowed: a number above "
            "0 and at most 1440)"
        ),
        (
            "cross_section_beside_errors_in_its_sections.yaml:16:15: behaviour.segments.0.device: "
            "must be text (got a list of 1 item)"
        ),
        (
            "cross_section_beside_errors_in_its_sections.yaml:17:16: behaviour.segments.0.channel: "
            "unknown channel: a segment can only name one listed in audience.channels (got "
            "'radio'; allowed: direct, email, organic, paid_search, social)"
        ),
        (
            "cross_section_beside_errors_in_its_sections.yaml:18:39: behaviour.segments.0."
            "behaviour.coupon_probability: must be at most 1 (got 2; allowed: a number from 0 to 1)"
        ),
        (
            "cross_section_beside_errors_in_its_sections.yaml:19:15: behaviour.segments.1.device: "
            "unknown device: a segment can only name one listed in audience.devices (got 'fridge'; "
            "allowed: desktop, mobile)"
        ),
        (
            "cross_section_beside_errors_in_its_sections.yaml:20:43: behaviour.segments.1."
            "behaviour.funnel.search.cart: segment 1 makes the funnel impossible: 'cart' cannot "
            "follow 'search' (got 0.1; allowed: 'cart' only after checkout, payment, product)"
        ),
    ],
    "cross_section_waits_for_what_it_reads.yaml": [
        (
            "cross_section_waits_for_what_it_reads.yaml:6:11: timezone: unknown timezone; did you "
            "mean 'America/New_York'? (got 'America/New_Yrok'; allowed: an IANA name such as "
            "'Europe/Berlin', 'America/New_York' or 'UTC')"
        ),
        (
            "cross_section_waits_for_what_it_reads.yaml:8:12: audience.devices: must be a mapping "
            "of at least 1 entry from text to a number at least 0 (got a list of 3 items)"
        ),
        (
            "cross_section_waits_for_what_it_reads.yaml:11:11: behaviour.funnel.cart: transitions "
            "from 'cart' sum to 1.2; they must sum to at most 1 (what is left over is the chance "
            "to leave the site)"
        ),
    ],
    "all_weights_zero.yaml": [
        "all_weights_zero.yaml:4:20: orders.payment_methods: at least one weight must be above 0",
    ],
    "empty.yaml": [
        (
            "empty.yaml:1:1: the file holds no settings; a scenario needs at least start: "
            "2025-01-01 and end: 2025-02-01"
        ),
    ],
    "top_level_list.yaml": [
        (
            "top_level_list.yaml:1:1: the top level must be a mapping of keys such as start: "
            "2025-01-01 and end: 2025-02-01 (got a list of 2 items)"
        ),
    ],
}


def load_fixture(name: str, monkeypatch: pytest.MonkeyPatch) -> InvalidScenarioError:
    """Load a fixture by its bare file name, so messages name it as a user would see it."""
    monkeypatch.chdir(FIXTURES)
    with pytest.raises(InvalidScenarioError) as caught:
        load_scenario(Path(name))
    return caught.value


@pytest.mark.parametrize("name", sorted(EXPECTED_PROBLEMS))
def test_each_broken_fixture_reports_exactly_its_problems(name, monkeypatch):
    """Each problem line names file:line:column, the key path, the value and what is allowed."""
    error = load_fixture(name, monkeypatch)
    assert [str(problem) for problem in error.problems] == EXPECTED_PROBLEMS[name]


def test_every_fixture_file_has_an_expected_message():
    """A broken fixture added without its expected message would silently test nothing."""
    broken = {path.name for path in FIXTURES.glob("*.yaml")} - {"minimal.yaml"}
    assert broken == set(EXPECTED_PROBLEMS)


def test_a_check_that_waits_had_nothing_else_to_report():
    """Once the values it waited for are fixed, the waiting fixture is valid: had the window
    and the segment been judged against stand-ins, they would have been reported falsely."""
    text = (FIXTURES / "cross_section_waits_for_what_it_reads.yaml").read_text()
    for broken, fixed in (
        ("New_Yrok", "New_York"),
        ("[mobile, desktop, tv]", "{mobile: 1, desktop: 1, tv: 1}"),
        ("{checkout: 0.9, product: 0.3}", "{checkout: 0.3, product: 0.1}"),
    ):
        assert broken in text
        text = text.replace(broken, fixed)
    scenario = load_scenario_text(text, "fixed.yaml")
    assert scenario.end_utc - scenario.start_utc == dt.timedelta(hours=3)


def test_the_whole_message_counts_the_problems_and_lists_one_per_line(monkeypatch):
    error = load_fixture("several_errors.yaml", monkeypatch)
    lines = str(error).splitlines()
    assert lines[0] == "scenario several_errors.yaml has 4 problems:"
    assert lines[1:] == EXPECTED_PROBLEMS["several_errors.yaml"]


def test_a_single_problem_is_announced_in_the_singular(monkeypatch):
    error = load_fixture("end_before_start.yaml", monkeypatch)
    assert str(error).splitlines()[0] == "scenario end_before_start.yaml has 1 problem:"


def test_scenario_problems_are_user_errors_with_exit_code_2(monkeypatch):
    """The CLI prints ScenarioErrors without a traceback and exits with their code."""
    error = load_fixture("unknown_key.yaml", monkeypatch)
    assert isinstance(error, ScenarioError)
    assert error.exit_code == 2
