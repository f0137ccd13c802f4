"""The Parquet sink: typed schema from the specs, fixed-size row groups, identical bytes."""

from __future__ import annotations

import tempfile
from functools import partial
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from sink_rows import (
    batch_cuts,
    one_batch,
    one_row_per_batch,
    rows_of_every_table,
    split_into_batches,
    table_rows,
    write_with,
)

from fauxsim.sinks.base import Batch
from fauxsim.sinks.files.parquet import open_parquet
from fauxsim.tables import ALL_TABLES, CART_ITEMS, EVENTS, ORDERS, ColumnType, TableSpec

ROWS = rows_of_every_table(23)
# Row groups of 10 rows fed in chunks of 4: groups are cut inside chunks.
open_small = partial(open_parquet, chunk_rows=4, row_group_rows=10)

ARROW_TYPES = {
    ColumnType.BIGINT: pa.int64(),
    ColumnType.INTEGER: pa.int32(),
    ColumnType.DOUBLE: pa.float64(),
    ColumnType.TEXT: pa.string(),
    ColumnType.BOOLEAN: pa.bool_(),
    ColumnType.TIMESTAMP: pa.timestamp("us", tz="UTC"),
    ColumnType.JSON: pa.string(),
}


def read_rows(spec: TableSpec, path: Path) -> list[tuple[object, ...]]:
    """The file's rows as the sink received them: micros for timestamps, dicts for JSON."""
    table = pq.read_table(path)
    columns = []
    for column in spec.columns:
        values = table.column(column.name)
        if column.type is ColumnType.TIMESTAMP:
            values = values.cast(pa.int64())
        as_python = values.to_pylist()
        if column.type is ColumnType.JSON:
            as_python = [None if v is None else orjson.loads(v) for v in as_python]
        columns.append(as_python)
    return list(zip(*columns, strict=True))


@pytest.mark.parametrize("spec", ALL_TABLES, ids=lambda spec: spec.name)
def test_the_schema_follows_the_table_spec(spec, tmp_path):
    write_with(open_small, tmp_path, one_batch(ROWS))

    schema = pq.read_schema(tmp_path / f"{spec.name}.parquet")

    assert schema.names == list(spec.column_names)
    for column in spec.columns:
        field = schema.field(column.name)
        assert (field.type, field.nullable) == (ARROW_TYPES[column.type], column.nullable)


@pytest.mark.parametrize("spec", ALL_TABLES, ids=lambda spec: spec.name)
def test_every_value_reads_back_unchanged(spec, tmp_path):
    """None, unicode, quotes and newlines, floats, timestamps and JSON properties."""
    write_with(open_small, tmp_path, one_batch(ROWS))

    assert read_rows(spec, tmp_path / f"{spec.name}.parquet") == ROWS[spec.name]


def test_row_groups_have_a_fixed_size_whatever_the_batches(tmp_path):
    write_with(open_small, tmp_path, one_row_per_batch(ROWS))

    metadata = pq.ParquetFile(tmp_path / "events.parquet").metadata

    sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    assert sizes == [10, 10, 6]  # 26 event rows
    assert metadata.row_group(0).column(0).compression == "ZSTD"


def test_a_table_without_rows_gets_its_schema_and_no_rows(tmp_path):
    with open_parquet(tmp_path) as sink:
        sink.write(Batch(0, {"events": ROWS["events"][:1]}))

    table = pq.read_table(tmp_path / "orders.parquet")

    assert table.num_rows == 0
    assert table.schema.names == list(ORDERS.column_names)
    assert pq.ParquetFile(tmp_path / "orders.parquet").metadata.num_row_groups == 0


def test_none_in_a_non_nullable_column_is_refused(tmp_path):
    row = (1, 2, 3, None, 100, False, 0, 0)  # cart_items.quantity is not nullable
    sink = open_parquet(tmp_path, chunk_rows=1)
    with pytest.raises(ValueError, match=r"cart_items\.quantity is not nullable"):
        sink.write(Batch(0, {CART_ITEMS.name: [row]}))
    sink.abort()


def test_chunk_size_does_not_change_the_bytes(tmp_path):
    """Only the row-group size shapes the file, not how rows were gathered on the way."""
    rows = {EVENTS.name: table_rows(EVENTS, 50)}
    by_three = partial(open_parquet, chunk_rows=3, row_group_rows=16)
    by_seven = partial(open_parquet, chunk_rows=7, row_group_rows=16)

    assert write_with(by_three, tmp_path / "3", one_batch(rows)) == write_with(
        by_seven, tmp_path / "7", one_batch(rows)
    )


def test_one_row_per_batch_writes_the_same_bytes_as_one_batch(tmp_path):
    """With the default chunk and row-group sizes too."""
    whole = write_with(open_parquet, tmp_path / "whole", one_batch(ROWS))
    single = write_with(open_parquet, tmp_path / "single", one_row_per_batch(ROWS))

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


def test_a_row_group_size_below_one_is_refused_before_any_file_is_made(tmp_path):
    with pytest.raises(ValueError, match="row_group_rows must be positive, got 0"):
        open_parquet(tmp_path, row_group_rows=0)

    assert list(tmp_path.iterdir()) == []
