"""Golden output: a small scenario's full dataset, every table, as stored snapshots.

Any change to the generated data shows up here as a snapshot diff. When a change is
intended, review the diff and refresh with `pytest --snapshot-update`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from fauxsim.runner import run_into
from fauxsim.sinks.base import open_sink
from fauxsim.tables import ALL_TABLES
from tests.simulation.helpers import small_scenario

if TYPE_CHECKING:
    from pathlib import Path


def tiny():
    return small_scenario(
        name="golden",
        end="2024-03-02",
        traffic={"sessions_per_day": 60},
        audience={"existing_customers": 5},
        catalog={"generate": {"count": 6}},
        quirks={"duplicate_events": 0.01, "null_fields": 0.01,
                "late_arrivals": {"probability": 0.01}},
    )  # fmt: skip


@pytest.fixture(scope="module")
def jsonl_output(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("golden")
    run_into(open_sink("jsonl", folder), tiny())
    return folder


@pytest.mark.parametrize("table", [spec.name for spec in ALL_TABLES])
def test_every_table_matches_its_snapshot(jsonl_output: Path, table: str, snapshot):
    """The JSONL file of each table is exactly the stored one."""
    assert (jsonl_output / f"{table}.jsonl").read_text() == snapshot


@pytest.mark.parametrize("file_format", ["jsonl", "csv", "parquet"])
def test_files_are_byte_identical_whatever_the_batch_size(tmp_path: Path, file_format: str):
    """Same scenario and seed give the same bytes, in one batch or in hundreds."""
    whole, pieces = tmp_path / "whole", tmp_path / "pieces"
    run_into(open_sink(file_format, whole), tiny(), batch_rows=1_000_000)
    run_into(open_sink(file_format, pieces), tiny(), batch_rows=7)
    names = sorted(path.name for path in whole.iterdir())
    assert names == sorted(path.name for path in pieces.iterdir())
    assert len(names) == len(ALL_TABLES)
    for name in names:
        assert (whole / name).read_bytes() == (pieces / name).read_bytes(), name
