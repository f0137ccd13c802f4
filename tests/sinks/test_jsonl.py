"""The JSONL sink: one object per line, keys in column order, text timestamps, nested JSON."""

from __future__ import annotations

import tempfile
from functools import partial
from pathlib import Path

import orjson
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
from fauxsim.sinks.files.jsonl import JsonlTableWriter, open_jsonl
from fauxsim.tables import ALL_TABLES, Column, ColumnType, TableSpec

ROWS = rows_of_every_table(23)
# A tiny chunk so that chunk boundaries fall inside batches and across them.
open_small = partial(open_jsonl, chunk_rows=4)


def read_objects(path: Path) -> list[dict[str, object]]:
    content = path.read_bytes()
    assert content.endswith(b"\n")
    return [orjson.loads(line) for line in content[:-1].split(b"\n")]


def expected_object(spec: TableSpec, row: tuple[object, ...]) -> dict[str, object]:
    return {
        column.name: to_rfc3339(value)
        if column.type is ColumnType.TIMESTAMP and isinstance(value, int)
        else value
        for column, value in zip(spec.columns, row, strict=True)
    }


@pytest.mark.parametrize("spec", ALL_TABLES, ids=lambda spec: spec.name)
def test_every_row_reads_back_as_an_object_with_keys_in_column_order(spec, tmp_path):
    """Values survive: None, unicode, quotes and newlines, floats, nested JSON properties."""
    write_with(open_small, tmp_path, one_batch(ROWS))

    objects = read_objects(tmp_path / f"{spec.name}.jsonl")

    assert [list(obj) for obj in objects] == [list(spec.column_names)] * len(ROWS[spec.name])
    assert objects == [expected_object(spec, row) for row in ROWS[spec.name]]


def test_timestamps_are_fixed_width_rfc3339_utc_text(tmp_path):
    row = (1, "page_viewed", 1_732_838_400_000_000, 1_732_838_400_000_001) + (None,) * 9
    with open_jsonl(tmp_path) as sink:
        sink.write(Batch(0, {"events": [row]}))

    line = (tmp_path / "events.jsonl").read_text()

    assert line.startswith(
        '{"event_id":1,"event_type":"page_viewed",'
        '"occurred_at":"2024-11-29T00:00:00.000000Z",'
        '"received_at":"2024-11-29T00:00:00.000001Z","session_id":null,'
    )
    assert line.endswith('"properties":null}\n')


def test_a_table_without_rows_gets_an_empty_file(tmp_path):
    with open_jsonl(tmp_path) as sink:
        sink.write(Batch(0, {"events": ROWS["events"][:1]}))

    assert (tmp_path / "orders.jsonl").read_bytes() == b""


def test_rows_of_the_wrong_width_are_refused_and_leave_no_file(tmp_path):
    good = ROWS["events"][0]

    def write_all() -> None:
        with open_jsonl(tmp_path) as sink:
            sink.write(Batch(0, {"events": [good, (1, "page_viewed")]}))

    with pytest.raises(ValueError, match="events rows must have 13 values; got rows of 2, 13"):
        write_all()
    assert list(tmp_path.iterdir()) == []


def test_one_row_per_batch_writes_the_same_bytes_as_one_batch(tmp_path):
    whole = write_with(open_jsonl, tmp_path / "whole", one_batch(ROWS))
    single = write_with(open_jsonl, tmp_path / "single", one_row_per_batch(ROWS))

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


def test_tables_without_timestamps_and_odd_column_names_are_written_faithfully(tmp_path):
    """The per-table record builder quotes column names, whatever characters they hold."""
    odd = 'it\'s "odd" \\ {}'
    spec = TableSpec("plain", (Column("id", ColumnType.BIGINT), Column(odd, ColumnType.TEXT)), "id")
    writer = JsonlTableWriter(spec, tmp_path / "plain.jsonl")
    writer.add([(1, "a"), (2, None)], 0, 2)
    writer.write_chunk()
    writer.close()

    assert read_objects(tmp_path / "plain.jsonl") == [{"id": 1, odd: "a"}, {"id": 2, odd: None}]
