"""Sinks are chosen by name; an unknown name lists the valid ones."""

from __future__ import annotations

import subprocess
import sys

import pytest

from fauxsim.errors import FauxError, UsageError
from fauxsim.sinks.base import Batch, open_sink, sink_names
from fauxsim.tables import ALL_TABLES


def test_the_file_formats_are_registered_by_name():
    assert sink_names() == ["csv", "jsonl", "parquet"]


def test_an_unknown_format_names_the_valid_ones(tmp_path):
    with pytest.raises(UsageError) as raised:
        open_sink("x", tmp_path)

    assert str(raised.value) == "unknown format 'x'. Valid values are: csv, jsonl, parquet"
    assert isinstance(raised.value, FauxError)  # the CLI prints it without a traceback


@pytest.mark.parametrize("name", ["csv", "jsonl", "parquet"])
def test_each_name_opens_a_sink_writing_files_of_that_format(name, tmp_path):
    sink = open_sink(name, tmp_path)
    sink.write(Batch(0, {}))
    sink.close()

    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        f"{spec.name}.{name}" for spec in ALL_TABLES
    )


def test_listing_the_formats_does_not_load_pyarrow():
    """`fauxsim --help` and option checks stay quick; pyarrow loads when a sink opens."""
    script = (
        "import sys; from fauxsim.sinks.base import sink_names; sink_names(); "
        "print('pyarrow' in sys.modules)"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "False"
