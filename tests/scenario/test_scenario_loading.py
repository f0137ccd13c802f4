"""Loading scenario files: valid files load, broken ones of any kind end in a ScenarioError."""

from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fauxsim.errors import ScenarioError
from fauxsim.scenario.bundled import bundled_folder
from fauxsim.scenario.loading import load_scenario, load_scenario_text, scenario_digest
from fauxsim.scenario.model import PageState
from fauxsim.scenario.problems import InvalidScenarioError

FIXTURES = Path(__file__).parent / "fixtures"
WINDOW = "start: 2025-01-01\nend: 2025-01-08\n"


def test_the_minimal_fixture_loads_with_its_values_and_defaults_for_the_rest():
    scenario = load_scenario(FIXTURES / "minimal.yaml")
    assert scenario.name == "minimal"
    assert scenario.seed == 42
    assert scenario.timezone == "Europe/Berlin"
    assert (scenario.start, scenario.end) == (dt.date(2025, 1, 1), dt.date(2025, 1, 8))
    assert scenario.traffic.sessions_per_day == 100
    assert scenario.catalog.generate.count == 20
    assert scenario.currency == "USD"  # a default
    assert len(scenario.traffic.hourly_weights) == 24  # a default


def test_a_bare_name_loads_the_bundled_scenario_of_that_name(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no black_friday file here
    by_name = load_scenario(Path("black_friday"))
    with_suffix = load_scenario(Path("black_friday.yaml"))
    by_path = load_scenario(bundled_folder() / "black_friday.yaml")
    assert by_name == with_suffix == by_path


def test_a_local_file_wins_over_a_bundled_scenario_of_the_same_name(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    Path("black_friday.yaml").write_text(WINDOW + "name: mine\n", encoding="utf-8")
    assert load_scenario(Path("black_friday.yaml")).name == "mine"


@pytest.mark.parametrize(
    ("name", "hint"),
    [("nope.yaml", ""), ("blackfriday", "did you mean 'black_friday'? ")],
)
def test_a_missing_file_names_the_bundled_scenarios_and_the_closest_one(
    monkeypatch, tmp_path, name, hint
):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(Path(name))
    assert str(caught.value) == (
        f"no scenario file {name!r}; {hint}give a .yaml file or a bundled name: "
        "black_friday, flash_sale, live_shop, steady_state"
    )


def test_a_folder_is_refused_with_the_scenario_files_it_holds(tmp_path):
    (tmp_path / "shop.yaml").write_text(WINDOW, encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path)
    assert str(caught.value) == (
        f"{tmp_path} is a folder; give a scenario file inside it (.yaml files: shop.yaml)"
    )


def test_binary_junk_is_refused_as_not_text(tmp_path):
    junk = tmp_path / "junk.yaml"
    junk.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(junk)
    assert str(caught.value) == (
        f"{junk} is not a text file (byte 0x89 at offset 0 is not UTF-8); "
        "a scenario is a YAML text file"
    )


def test_control_characters_are_a_located_yaml_problem():
    with pytest.raises(InvalidScenarioError) as caught:
        load_scenario_text(WINDOW + "name: a\x00b\n", "ctl.yaml")
    assert [str(problem) for problem in caught.value.problems] == [
        (
            "ctl.yaml:3:8: invalid YAML: unacceptable character #x0000 "
            "(special characters are not allowed)"
        )
    ]


def test_deeply_nested_yaml_is_a_problem_not_a_crash():
    with pytest.raises(InvalidScenarioError):
        load_scenario_text("[" * 700 + "]" * 700, "deep.yaml")


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + WINDOW.encode())
    assert load_scenario(path).start == dt.date(2025, 1, 1)


def test_only_true_and_false_are_booleans_so_country_codes_stay_text():
    """YAML 1.1 would read NO (Norway) as false; scenarios use YAML 1.2 booleans."""
    scenario = load_scenario_text(
        WINDOW + "audience: {countries: {NO: 1, 'ON': 1}}\nquirks: {keep_removed_cart_items: true}",
        "countries.yaml",
    )
    assert set(scenario.audience.countries) == {"NO", "ON"}
    assert scenario.quirks.keep_removed_cart_items is True


def test_yaml_anchors_and_merge_keys_work_and_merged_keys_are_not_duplicates():
    text = (
        WINDOW
        + "behaviour:\n"
        + "  funnel:\n"
        + "    landing: &browse {category: 0.3, search: 0.2}\n"
        + "    category: {<<: *browse, product: 0.4, category: 0.1}\n"
    )
    funnel = load_scenario_text(text, "anchors.yaml").behaviour.funnel
    assert funnel[PageState.CATEGORY] == {
        PageState.CATEGORY: 0.1,
        PageState.SEARCH: 0.2,
        PageState.PRODUCT: 0.4,
    }


def test_an_impossible_date_is_reported_with_every_other_problem():
    with pytest.raises(InvalidScenarioError) as caught:
        load_scenario_text("start: 2025-02-30\nend: 2025-03-01\nseed: -1\n", "dates.yaml")
    assert [problem.path for problem in caught.value.problems] == ["start", "seed"]


def test_the_digest_is_a_sha256_that_ignores_formatting_comments_and_labels():
    plain = load_scenario_text(WINDOW + "seed: 3\n", "a.yaml")
    relabelled = load_scenario_text(
        "# a comment\nend: 2025-01-08\nstart: 2025-01-01\nseed: 3\nname: other\n"
        "description: changed\n",
        "b.yaml",
    )
    digest = scenario_digest(plain)
    assert len(digest) == 64
    assert int(digest, 16) >= 0
    assert scenario_digest(relabelled) == digest


def test_the_digest_changes_with_anything_that_shapes_the_data():
    base = scenario_digest(load_scenario_text(WINDOW, "a.yaml"))
    changed = [
        load_scenario_text(WINDOW + "seed: 2\n", "a.yaml"),
        load_scenario_text(WINDOW, "a.yaml", ["traffic.sessions_per_day=2001"]),
        load_scenario_text(WINDOW, "a.yaml", ["behaviour.funnel.cart.checkout=0.49"]),
    ]
    digests = {scenario_digest(scenario) for scenario in changed}
    assert base not in digests
    assert len(digests) == len(changed)


YAML_PIECES = st.sampled_from(
    [
        "start: 2025-01-01\n", "end: 2025-01-08\n", "traffic:\n", "  calendar:\n", "  - ",
        "name: x\n", "sessions_per_day: ", "-1", "1e999", "0.5", "[", "]", "{", "}", ": ",
        "&a ", "*a", "<<: ", "!!int ", "!!binary ", "?", "'", '"', "\t", "\x00", "\n", "   ",
        "2025-02-30", "no", "null", "funnel: ", "cart: ", "type: ", "lognormal", "---\n",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(YAML_PIECES, max_size=25).map("".join))
def test_any_text_loads_or_fails_with_a_scenario_error(text):
    """Whatever a user writes, the loader never lets another exception (a traceback) out."""
    with contextlib.suppress(ScenarioError):
        load_scenario_text(text, "fuzz.yaml", ["traffic.daily_noise=0.1"])


def test_pages_left_out_of_dwell_seconds_keep_their_default_dwell():
    """A scenario may give the dwell time of some pages only; the others keep the default."""
    text = (
        "start: 2025-01-01\nend: 2025-01-08\nbehaviour:\n  dwell_seconds:\n"
        "    landing: {type: constant, value: 5}\n"
    )
    dwell = load_scenario_text(text, "partial.yaml").behaviour.dwell_seconds
    defaults = load_scenario_text("start: 2025-01-01\nend: 2025-01-08\n", "bare.yaml")
    assert set(dwell) == set(PageState)
    assert dwell[PageState.LANDING].model_dump() == {"type": "constant", "value": 5.0}
    for state in PageState:
        if state is not PageState.LANDING:
            assert dwell[state] == defaults.behaviour.dwell_seconds[state], state


@pytest.mark.parametrize("added", list(PageState), ids=str)
def test_a_scenario_listing_the_dwell_of_todays_pages_stays_valid_when_a_page_is_added(added):
    """As if ``added`` were a page new to the defaults: a scenario written before it lists the
    dwell time of every other page, and still loads, the new page at its default."""
    lines = [f"    {state.value}: {{type: constant, value: 7}}" for state in PageState
             if state is not added]  # fmt: skip
    text = "start: 2025-01-01\nend: 2025-01-08\nbehaviour:\n  dwell_seconds:\n" + "\n".join(lines)
    scenario = load_scenario_text(text, "older.yaml")
    bare = load_scenario_text("start: 2025-01-01\nend: 2025-01-08\n", "bare.yaml")
    assert scenario.behaviour.dwell_seconds[added] == bare.behaviour.dwell_seconds[added]
    assert {scenario.behaviour.dwell_seconds[state].model_dump()["value"]
            for state in PageState if state is not added} == {7.0}  # fmt: skip
