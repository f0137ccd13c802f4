"""The CSV sink: header row, RFC 4180 quoting, None apart from "", text timestamps and JSON."""

from __future__ import annotations

import csv
import tempfile
from functools import partial
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest
from hypothesis import HealthCheck, given, settings
from sink_rows import (
    batch_cuts,
    one_batch,
    one_row_per_batch,
    rows_of_every_table,
    split_into_batches,
    write_with,
)

from fauxsim.clock import to_rfc3339
from fauxsim.sinks.base import Batch
from fauxsim.sinks.files.csv import open_csv
from fauxsim.tables import ALL_TABLES, EVENTS, ColumnType, TableSpec

ROWS = rows_of_every_table(23)
open_small = partial(open_csv, chunk_rows=4)


def as_text(column_type: ColumnType, value: object) -> str | None:
    """How a value must read back from the CSV, as text (None for a null field)."""
    if value is None:
        return None
    match column_type:
        case ColumnType.TIMESTAMP:
            assert isinstance(value, int)
            return to_rfc3339(value)
        case ColumnType.JSON:
            return orjson.dumps(value).decode()
        case ColumnType.BOOLEAN:
            return "true" if value else "false"
    return str(value)


def expected_records(spec: TableSpec) -> list[list[str | None]]:
    return [
        [as_text(column.type, v) for column, v in zip(spec.columns, row, strict=True)]
        for row in ROWS[spec.name]
    ]


def with_numbers(spec: TableSpec, records: list[list[str | None]]) -> list[list[object]]:
    """Doubles compared as numbers: 0.0 may be written "0", 1e21 "1e+21"."""
    return [
        [
            float(v) if column.type is ColumnType.DOUBLE and v else v
            for column, v in zip(spec.columns, record, strict=True)
        ]
        for record in records
    ]


@pytest.mark.parametrize("spec", ALL_TABLES, ids=lambda spec: spec.name)
def test_rows_read_back_with_an_rfc4180_reader(spec, tmp_path):
    """Python's csv module reads quotes, commas and CR/LF inside values back intact."""
    write_with(open_small, tmp_path, one_batch(ROWS))

    with (tmp_path / f"{spec.name}.csv").open(newline="", encoding="utf-8") as file:
        header, *records = list(csv.reader(file))

    assert header == list(spec.column_names)
    expected = [[v or "" for v in record] for record in expected_records(spec)]
    assert with_numbers(spec, records) == with_numbers(spec, expected)


@pytest.mark.parametrize("spec", ALL_TABLES, ids=lambda spec: spec.name)
def test_none_and_the_empty_string_read_back_apart(spec, tmp_path):
    """A reader that treats a quoted "" as text (Postgres COPY, pyarrow) sees None as null."""
    write_with(open_small, tmp_path, one_batch(ROWS))
    options = pa_csv.ConvertOptions(
        column_types=dict.fromkeys(spec.column_names, pa.string()),
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
    )
    table = pa_csv.read_csv(
        tmp_path / f"{spec.name}.csv",
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=options,
    )

    records = [list(row.values()) for row in table.to_pylist()]
    assert with_numbers(spec, records) == with_numbers(spec, expected_records(spec))


def test_a_row_is_written_as_documented(tmp_path):
    row = (7, "searched", 1_732_838_400_000_000, 1_732_838_400_123_456, 1, 2, None, 0, "")
    row += (None, 3, None, {"q": 'red "shoes", size 9\n'})
    with open_csv(tmp_path) as sink:
        sink.write(Batch(0, {"events": [row]}))

    header, line = (tmp_path / "events.csv").read_text().split("\n", 1)

    assert header == ",".join(f'"{name}"' for name in EVENTS.column_names)
    assert line == (
        '7,"searched","2024-11-29T00:00:00.000000Z","2024-11-29T00:00:00.123456Z",1,2,,0,"",,3,,'
        '"{""q"":""red \\""shoes\\"", size 9\\n""}"\n'
    )


def test_booleans_are_lowercase_words(tmp_path):
    rows = [(1, 2, 3, 1, 100, flag, 0, 0) for flag in (True, False)]
    with open_csv(tmp_path) as sink:
        sink.write(Batch(0, {"cart_items": rows}))

    lines = (tmp_path / "cart_items.csv").read_text().splitlines()

    assert [line.split(",")[5] for line in lines[1:]] == ["true", "false"]


def test_a_table_without_rows_gets_a_header_only(tmp_path):
    with open_csv(tmp_path) as sink:
        sink.write(Batch(0, {"events": ROWS["events"][:1]}))

    content = (tmp_path / "products.csv").read_text()
    assert content == (
        '"product_id","sku","name","category","price_cents","currency",'
        '"popularity","created_at","updated_at"\n'
    )


def test_one_row_per_batch_writes_the_same_bytes_as_one_batch(tmp_path):
    whole = write_with(open_csv, tmp_path / "whole", one_batch(ROWS))
    single = write_with(open_csv, tmp_path / "single", one_row_per_batch(ROWS))

    assert single == whole


@pytest.fixture(scope="module")
def reference_bytes(tmp_path_factory):
    return write_with(open_small, tmp_path_factory.mktemp("reference"), one_batch(ROWS))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cuts=batch_cuts(ROWS))
def test_any_split_into_batches_writes_the_same_bytes(reference_bytes, cuts):
    with tempfile.TemporaryDirectory() as folder:
        written = write_with(open_small, Path(folder), split_into_batches(ROWS, cuts))

    assert written == reference_bytes
