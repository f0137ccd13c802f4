"""The scenarios shipped with Faux Genie are valid, listed, and say what they promise."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

import fauxsim
from fauxsim.scenario.bundled import WHEEL_FOLDER, bundled_folder, bundled_scenarios, find_bundled
from fauxsim.scenario.loading import load_scenario
from fauxsim.simulation.calendar import resolve_windows

NAMES = ["black_friday", "flash_sale", "live_shop", "steady_state"]


def test_the_bundled_scenarios_are_listed_by_name_with_the_first_line_of_their_description():
    listed = bundled_scenarios()
    assert [scenario.name for scenario in listed] == NAMES
    for scenario in listed:
        first_line = load_scenario(scenario.path).description.splitlines()[0]
        assert scenario.summary == first_line


@pytest.mark.parametrize("name", NAMES)
def test_every_bundled_scenario_is_valid(name):
    scenario = load_scenario(bundled_folder() / f"{name}.yaml")
    assert scenario.name == name


def test_in_a_source_tree_the_bundled_folder_is_scenarios_beside_fauxsim():
    assert bundled_folder() == Path(fauxsim.__file__).parent.parent / "scenarios"


@pytest.mark.slow
def test_the_wheel_carries_the_scenarios_inside_fauxsim_and_finds_them(tmp_path):
    """No top-level `scenarios` package in site-packages: it would clash with others'."""
    project = Path(fauxsim.__file__).parent.parent
    built = subprocess.run(  # noqa: S603 - our own interpreter; the venv's hatchling, offline
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--quiet", "--wheel-dir", str(tmp_path), str(project)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("fauxgenie-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path / "site")
    assert {f"fauxsim/{WHEEL_FOLDER}/{name}.yaml" for name in NAMES} <= set(names)
    assert not [name for name in names if name.startswith("scenarios/")]
    # The compiled extensions travel too (this machine has a C compiler; see
    # tests/sinks/test_row_converters.py for a build without one).
    extension = sysconfig.get_config_var("EXT_SUFFIX")
    assert f"fauxsim/sinks/files/_rows_to_arrow{extension}" in names
    assert f"fauxsim/simulation/_visit{extension}" in names

    probe = (
        "from fauxsim.scenario.bundled import bundled_folder, bundled_scenarios\n"
        "print(bundled_folder())\n"
        "print(','.join(s.name for s in bundled_scenarios()))\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    listed = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", probe], cwd=tmp_path, env=environment,
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    folder, names_listed = listed.stdout.split()
    assert Path(folder) == tmp_path / "site" / "fauxsim" / WHEEL_FOLDER
    assert names_listed == ",".join(NAMES)


def test_only_bare_names_resolve_to_bundled_files():
    assert find_bundled("steady_state") == bundled_folder() / "steady_state.yaml"
    assert find_bundled("steady_state.yaml") == bundled_folder() / "steady_state.yaml"
    assert find_bundled("sub/steady_state") is None
    assert find_bundled("../scenarios/steady_state") is None
    assert find_bundled("no_such_scenario") is None


def test_black_friday_spikes_on_black_friday_and_cyber_monday_2024():
    scenario = load_scenario(bundled_folder() / "black_friday.yaml")
    assert (scenario.start, scenario.end) == (dt.date(2024, 11, 1), dt.date(2024, 12, 8))
    assert (scenario.timezone, scenario.currency) == ("America/New_York", "USD")
    assert scenario.traffic.sessions_per_day == 3000
    assert len(scenario.catalog.products) + scenario.catalog.generate.count == 150
    events = {window.event.name: window.first_day for window in resolve_windows(scenario)}
    assert events == {"Black Friday": dt.date(2024, 11, 29), "Cyber Monday": dt.date(2024, 12, 2)}
    black_friday = scenario.traffic.calendar[0]
    assert black_friday.traffic_multiplier > 1
    assert black_friday.price_change_percent is not None
    assert black_friday.price_change_percent < 0


def test_steady_state_is_a_growing_year_without_events():
    scenario = load_scenario(bundled_folder() / "steady_state.yaml")
    assert (scenario.start, scenario.end) == (dt.date(2025, 1, 1), dt.date(2026, 1, 1))
    assert scenario.traffic.sessions_per_day == 800
    assert scenario.traffic.growth_per_year > 0
    assert scenario.traffic.calendar == []
    assert len(set(scenario.traffic.weekday_weights)) > 1  # a weekly rhythm


def test_another_scenarios_module_on_the_path_does_not_hide_the_bundled_ones(tmp_path):
    """A ``scenarios.py`` of the user's (or a test helper module called so) first on
    sys.path, as under ``python -m`` in its folder, must not hide the bundled files."""
    (tmp_path / "scenarios.py").write_text("MINE = True\n")
    probe = (
        "import scenarios\n"  # the user's module, imported first
        "from fauxsim.scenario.bundled import bundled_scenarios\n"
        "print(','.join(s.name for s in bundled_scenarios()))\n"
    )
    listed = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == [",".join(NAMES)]
