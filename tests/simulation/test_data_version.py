"""The data a version makes is pinned to that version: change the data, bump the version.

A dataset (a database or a file folder) records the fauxsim version that wrote it, and a
run refuses to extend one written by another version (``--replace`` takes it over). That
promise holds only if every change to the generated data comes with a new version: a
sharded dataset written by 0.2.2 and extended by a 0.2.2 that made other data was mixed
silently (files) or crashed on a duplicate key (Postgres) before 0.2.3 was bumped by hand.

So each version's data has a fingerprint here: the sha256 of every row of a small shop in
one shard and in three, with every quirk on. A change that alters the data fails this
test until the version in ``pyproject.toml`` is raised (and the package reinstalled) and
the new version's fingerprint added below; the golden snapshots show what changed.
"""

from __future__ import annotations

import hashlib
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

import fauxsim
from fauxsim.simulation.shards import all_shards
from tests.simulation.helpers import collect, small_scenario

if TYPE_CHECKING:
    from fauxsim.scenario.model import Scenario

# The fingerprint of each version's data (``_fingerprint``). Add the new version's when the
# data changes; keep the old ones, as a record.
FINGERPRINTS = {
    "0.2.3": "a2ab001fc3214847317d0f459b982bd36888c9022d30825794e8ed19707e45e3",
}


def _scenarios() -> list[Scenario]:
    quirks = {
        "duplicate_events": 0.02,
        "null_fields": 0.02,
        "late_arrivals": {"probability": 0.02},
        "keep_removed_cart_items": True,
    }
    changes = {"end": "2024-03-03", "quirks": quirks}
    return [small_scenario(**changes), small_scenario(shards=3, **changes)]


def _fingerprint() -> str:
    """The sha256 of every event and row version of ``_scenarios``, shard by shard."""
    digest = hashlib.sha256()
    for scenario in _scenarios():
        for shard in all_shards(scenario.shards):
            output = collect(scenario, shard=shard)
            digest.update(repr(output.events).encode())
            for name in sorted(output.versions):
                digest.update(f"{name}:{output.versions[name]!r}".encode())
    return digest.hexdigest()


def _project_version() -> str:
    pyproject = Path(__file__).parents[2] / "pyproject.toml"
    return str(tomllib.loads(pyproject.read_text())["project"]["version"])


def test_the_installed_version_is_the_projects():
    """Datasets record ``fauxsim.__version__``, the installed package's: after a bump in
    pyproject.toml, a stale editable install would still write the old one."""
    assert fauxsim.__version__ == _project_version(), (
        f"installed fauxgenie is {fauxsim.__version__}, pyproject.toml says"
        f" {_project_version()}: reinstall (pip install -e .)"
    )


def test_this_versions_data_has_the_fingerprint_it_was_released_with():
    version = _project_version()
    fingerprint = _fingerprint()
    assert version in FINGERPRINTS, (
        f"no fingerprint for version {version}: add {version!r}: {fingerprint!r} to"
        " FINGERPRINTS in this file"
    )
    assert fingerprint == FINGERPRINTS[version], (
        f"the generated data changed, but the version is still {version}: a dataset that"
        f" {version} wrote would be extended with other data. Raise the version in"
        f" pyproject.toml, reinstall, and add its fingerprint ({fingerprint!r}) here"
    )
