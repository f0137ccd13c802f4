"""The compiled row converter (_rows_to_arrow.c) and the Python one give the same output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fauxsim
from fauxsim.sinks.files import arrow_columns
from fauxsim.sinks.files.arrow_columns import (
    arrow_schema,
    compiled_arrays,
    python_arrays,
    record_batch,
)
from fauxsim.sinks.files.csv import open_csv
from fauxsim.sinks.files.parquet import open_parquet
from fauxsim.tables import ALL_TABLES, Column, ColumnType, TableSpec
from tests.simulation.helpers import collect, small_scenario
from tests.sinks.sink_rows import one_batch, rows_of_every_table, table_rows, write_with

if TYPE_CHECKING:
    from collections.abc import Sequence

needs_compiled = pytest.mark.skipif(
    not arrow_columns.COMPILED, reason="the compiled converter is not built in this install"
)


def test_the_compiled_converter_is_built_where_there_is_a_c_compiler():
    """So that the tests below cannot skip unnoticed where they should run (CI has gcc)."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip(f"no C compiler ({compiler}): the Python converter is the one in use")
    assert arrow_columns.COMPILED


def assert_same_arrays(spec: TableSpec, rows: Sequence[Any], *, as_text: bool = False) -> None:
    schema = arrow_schema(spec, timestamps_as_text=as_text)
    compiled = compiled_arrays(spec, rows, schema)
    expected = python_arrays(spec, rows, schema)
    for column, got, want in zip(spec.columns, compiled, expected, strict=True):
        got.validate(full=True)
        assert got.type == want.type, column.name
        assert got.null_count == want.null_count, column.name
        assert got.equals(want), column.name


@needs_compiled
@pytest.mark.parametrize("as_text", [False, True], ids=["parquet", "csv"])
@pytest.mark.parametrize("spec", ALL_TABLES, ids=lambda spec: spec.name)
def test_every_table_converts_the_same_with_tricky_values(spec, as_text):
    """Nulls, empty and non-ASCII text, nested JSON, floats, edge timestamps (sink_rows)."""
    assert_same_arrays(spec, table_rows(spec, 61), as_text=as_text)


@needs_compiled
def test_a_quirky_engine_run_converts_the_same_in_every_table():
    quirks = {
        "duplicate_events": 0.02,
        "late_arrivals": {"probability": 0.02},
        "null_fields": 0.05,
        "keep_removed_cart_items": True,
    }
    output = collect(small_scenario(quirks=quirks))
    tables = {**output.versions, "events": output.events}
    for spec in ALL_TABLES:
        assert tables[spec.name], spec.name
        assert_same_arrays(spec, tables[spec.name])


EVERY_TYPE = TableSpec(
    name="every_type",
    columns=tuple(
        Column(f"{kind}_{nullable}", kind, nullable)
        for kind in ColumnType
        for nullable in (False, True)
    ),
    primary_key="bigint_False",
)
INT64 = st.integers(-(2**63), 2**63 - 1)
INT32 = st.integers(-(2**31), 2**31 - 1)
SHARED = [{"shared": 1}, {"list": [1, "é", None]}]
VALUES: dict[ColumnType, st.SearchStrategy[Any]] = {
    ColumnType.BIGINT: INT64,
    ColumnType.TIMESTAMP: st.integers(-(2**62), 2**62),
    ColumnType.INTEGER: INT32,
    ColumnType.DOUBLE: st.floats(allow_nan=False) | INT32,
    ColumnType.BOOLEAN: st.booleans(),
    ColumnType.TEXT: st.text(),
    ColumnType.JSON: st.sampled_from(SHARED)
    | st.dictionaries(st.text(max_size=3), INT64 | st.text(max_size=3), max_size=3),
}


def _row() -> st.SearchStrategy[tuple[Any, ...]]:
    cells = [
        (VALUES[column.type] | st.none()) if column.nullable else VALUES[column.type]
        for column in EVERY_TYPE.columns
    ]
    return st.tuples(*cells)


@needs_compiled
@given(st.lists(_row(), min_size=1, max_size=40))
def test_any_rows_of_every_type_convert_the_same(rows):
    assert_same_arrays(EVERY_TYPE, rows)


# Where CPython's ints change from one 30-bit digit to two and from two to three: the
# compiled converter reads ints of up to two digits itself (fauxsim/_small_int.h).
DIGIT_EDGES = sorted(
    {sign * (2**bits + offset) for bits in (30, 60) for offset in (-1, 0, 1) for sign in (1, -1)}
    | {0, 1, -1, 2**62, -(2**62), 2**63 - 1, -(2**63)}
)


@needs_compiled
def test_ints_at_every_digit_edge_convert_as_pyarrow_does():
    spec = TableSpec("t", (Column("n", ColumnType.BIGINT),), primary_key="n")
    assert_same_arrays(spec, [(n,) for n in DIGIT_EDGES])


@needs_compiled
def test_rows_need_not_be_a_list():
    rows = table_rows(EVERY_TYPE, 9)
    assert_same_arrays(EVERY_TYPE, tuple(rows))


@needs_compiled
@pytest.mark.parametrize(
    ("cell", "error", "message"),
    [
        ("7", TypeError, "row 1, column 0: expected int, got str"),
        (True, TypeError, "row 1, column 0: expected int, got bool"),
        (2**63, OverflowError, "row 1, column 0: 9223372036854775808 does not fit 64 bits"),
        (1.0, TypeError, "row 1, column 0: expected int, got float"),
    ],
)
def test_a_wrong_value_is_refused_with_its_row_and_column(cell, error, message):
    spec = TableSpec("t", (Column("id", ColumnType.BIGINT),), primary_key="id")
    with pytest.raises(error, match=f"^{message}$"):
        compiled_arrays(spec, [(1,), (cell,)], arrow_schema(spec))


@needs_compiled
def test_an_int_beyond_32_bits_is_refused_in_an_integer_column():
    spec = TableSpec("t", (Column("n", ColumnType.INTEGER),), primary_key="n")
    with pytest.raises(OverflowError, match=r"^row 0, column 0: 2147483648 does not fit 32 bits$"):
        compiled_arrays(spec, [(2**31,)], arrow_schema(spec))


@needs_compiled
def test_a_row_of_the_wrong_width_or_not_a_tuple_is_refused():
    spec = TableSpec("t", (Column("id", ColumnType.BIGINT),), primary_key="id")
    with pytest.raises(ValueError, match=r"^row 1 has 2 values, not 1$"):
        compiled_arrays(spec, [(1,), (1, 2)], arrow_schema(spec))
    with pytest.raises(TypeError, match=r"^row 0: expected a tuple, got list$"):
        compiled_arrays(spec, [[1]], arrow_schema(spec))


@needs_compiled
def test_an_unknown_column_kind_is_refused():
    from fauxsim.sinks.files._rows_to_arrow import gather  # noqa: PLC0415

    with pytest.raises(ValueError, match=r"^kinds\[1\]: unknown column kind \(byte 120\)$"):
        gather([(1, 2)], "qx", arrow_columns._allocate, bytes)


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "python"])
def test_none_in_a_non_nullable_column_is_refused_by_either(compiled, monkeypatch):
    if compiled and not arrow_columns.COMPILED:
        pytest.skip("the compiled converter is not built in this install")
    monkeypatch.setattr(arrow_columns, "COMPILED", compiled)
    spec = TableSpec("t", (Column("id", ColumnType.BIGINT),), primary_key="id")
    with pytest.raises(ValueError, match=r"^t\.id is not nullable, but a row holds None$"):
        record_batch(spec, [(1,), (None,)], arrow_schema(spec))


@needs_compiled
@pytest.mark.parametrize("open_sink", [open_parquet, open_csv], ids=["parquet", "csv"])
def test_either_converter_writes_the_same_bytes(open_sink, tmp_path: Path, monkeypatch):
    rows = rows_of_every_table(300)
    compiled = write_with(open_sink, tmp_path / "compiled", one_batch(rows))
    monkeypatch.setattr(arrow_columns, "COMPILED", False)
    in_python = write_with(open_sink, tmp_path / "python", one_batch(rows))

    assert compiled == in_python


def test_compiled_arrays_says_so_when_the_extension_is_missing(monkeypatch):
    monkeypatch.setattr(arrow_columns, "gather", None)
    spec = TableSpec("t", (Column("id", ColumnType.BIGINT),), primary_key="id")
    with pytest.raises(RuntimeError, match="not built in this install"):
        compiled_arrays(spec, [(1,)], pa.schema([pa.field("id", pa.int64())]))


@pytest.mark.slow
def test_without_a_c_compiler_the_build_goes_on_and_python_does_the_work(tmp_path: Path):
    """Every C extension falls back to its Python twin: rows, the scheduler loop, the
    projector, a visit's walk and its sampler."""
    project = Path(fauxsim.__file__).parent.parent
    source = tmp_path / "source"
    shutil.copytree(
        project,
        source,
        ignore=shutil.ignore_patterns(
            ".*", "*.so", "*.pyd", "__pycache__", "tests", "build", "dist", "data", "out"
        ),
    )
    environment = {**os.environ, "CC": "/bin/false"}  # a compiler that always fails
    built = subprocess.run(  # noqa: S603 - our own interpreter; the venv's hatchling, offline
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--quiet", "--wheel-dir", str(tmp_path), str(source)],
        env=environment, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("fauxgenie-*.whl")
    assert wheel.name.endswith("-py3-none-any.whl")  # pure Python: no platform tag
    with zipfile.ZipFile(wheel) as archive:
        compiled = [name for name in archive.namelist()
                    if name.endswith((".c", ".pyi", ".so", ".pyd"))]  # fmt: skip
        assert sorted(compiled) == [
            "fauxsim/simulation/_visit.c",
            "fauxsim/simulation/_visit.pyi",
            "fauxsim/sinks/files/_rows_to_arrow.c",
            "fauxsim/sinks/files/_rows_to_arrow.pyi",
        ]
        archive.extractall(tmp_path / "site")

    probe = (
        "from fauxsim.sinks.files import arrow_columns as a\n"
        "from fauxsim.simulation import sampling as d, session as s\n"
        "print(a.COMPILED, s.COMPILED, d.COMPILED, a.__file__)"
    )
    listed = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", probe], cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path / "site")},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    module = tmp_path / "site" / "fauxsim" / "sinks" / "files" / "arrow_columns.py"
    assert listed.stdout.split() == [*["False"] * 3, str(module)]


@needs_compiled
def test_three_json_columns_of_distinct_dicts_do_not_overfill_the_memo():
    """The memo had 2 slots per row: three JSON columns of fresh dicts never found a free one."""
    spec = TableSpec("t", tuple(Column(name, ColumnType.JSON) for name in "abc"), primary_key="a")
    assert_same_arrays(spec, [({"a": i}, {"b": i}, {"c": i}) for i in range(8)])


@needs_compiled
def test_python_code_run_by_dumps_cannot_free_rows_under_the_converter():
    """Rows are read as they are when reached (not copied first); a freed value's address,
    come back as a new dict's, is not mistaken for it."""
    import orjson  # noqa: PLC0415

    from fauxsim.sinks.files._rows_to_arrow import gather  # noqa: PLC0415

    rows: list[Any] = [({"a": 1},), ({"c": 3},), ({"x": 0},)]

    def meddling_dumps(value: Any) -> bytes:
        if value == {"c": 3}:
            rows[0] = None  # drops {"a": 1}: its address could come back as a new dict's
            rows[2] = ({"different": 2},)
        return orjson.dumps(value)

    ((buffers, nulls),) = gather(rows, "j", arrow_columns._allocate, meddling_dumps)
    array = pa.Array.from_buffers(pa.string(), 3, list(buffers), null_count=nulls)
    assert array.to_pylist() == ['{"a":1}', '{"c":3}', '{"different":2}']


@needs_compiled
def test_rows_emptied_by_python_code_during_the_conversion_are_an_error_not_a_crash():
    import orjson  # noqa: PLC0415

    from fauxsim.sinks.files._rows_to_arrow import gather  # noqa: PLC0415

    rows: list[Any] = [({"a": 1}, "x"), ({"b": 2}, "y"), ({"c": 3}, "z")]

    def emptying_dumps(value: Any) -> bytes:
        rows.clear()  # frees the row being read, and its text, but for the converter's hold
        return orjson.dumps(value)

    with pytest.raises(RuntimeError, match=r"^the rows list shrank during the conversion$"):
        gather(rows, "js", arrow_columns._allocate, emptying_dumps)


@needs_compiled
def test_released_rows_are_let_go_once_read_and_others_are_left_alone():
    import orjson  # noqa: PLC0415

    from fauxsim.sinks.files._rows_to_arrow import gather  # noqa: PLC0415

    replacement = ({"new": 1},)
    rows: list[Any] = [({"a": 1},), ({"b": 2},), ({"c": 3},), ({"d": 4},)]

    def replacing_dumps(value: Any) -> bytes:
        if value == {"b": 2}:
            rows[1] = replacement  # not the row being read: the converter must not drop it
        return orjson.dumps(value)

    ((buffers, nulls),) = gather(
        rows,
        "j",
        arrow_columns._allocate,
        replacing_dumps,
        1,
        3,
        True,  # noqa: FBT003
    )
    array = pa.Array.from_buffers(pa.string(), 2, list(buffers), null_count=nulls)
    assert array.to_pylist() == ['{"b":2}', '{"c":3}']
    assert rows == [({"a": 1},), replacement, None, ({"d": 4},)]


@needs_compiled
def test_a_window_of_the_rows_converts_as_its_slice_would():
    spec = TableSpec(
        "t",
        (Column("id", ColumnType.BIGINT), Column("name", ColumnType.TEXT, nullable=True),
         Column("data", ColumnType.JSON, nullable=True)),
        primary_key="id",
    )  # fmt: skip
    shared = {"k": [1, 2]}
    rows = [(i, None if i % 3 else f"name {i}" * (i % 7), shared if i % 2 else {"i": i})
            for i in range(40)]  # fmt: skip
    schema = arrow_schema(spec)
    for start, stop in ((0, 40), (5, 17), (39, 40), (0, 1)):
        window = compiled_arrays(spec, rows, schema, start, stop)
        assert window == python_arrays(spec, rows[start:stop], schema)


class _Float99(int):
    def __float__(self) -> float:
        return 99.0


@needs_compiled
@pytest.mark.parametrize("cell", [2**53 + 1, -(2**53) - 1, 2**70, _Float99(3)], ids=repr)
def test_an_int_in_a_double_column_converts_as_pyarrow_does(cell):
    spec = TableSpec("t", (Column("x", ColumnType.DOUBLE),), primary_key="x")
    schema = arrow_schema(spec)
    try:
        expected = python_arrays(spec, [(cell,)], schema)[0].to_pylist()
    except pa.ArrowInvalid:
        with pytest.raises(ValueError, match="not exactly representable"):
            compiled_arrays(spec, [(cell,)], schema)
    else:
        assert compiled_arrays(spec, [(cell,)], schema)[0].to_pylist() == expected


def _in_pieces(spec: TableSpec, rows: list[Any], cuts: list[int], *, capacity: int) -> list[Any]:
    """Rows added to an ArrowChunk between the cuts, a record batch at each full chunk."""
    chunk = arrow_columns.ArrowChunk(spec, arrow_schema(spec), capacity)
    batches = []
    listed = list(rows)
    bounds = [0, *sorted(set(cuts)), len(listed)]
    for first, stop in pairwise(bounds):
        start = first
        while start < stop:
            end = min(stop, start + capacity - chunk.filled)
            chunk.add(listed, start, end)
            start = end
            if chunk.filled == capacity:
                batches.append(chunk.record_batch())
    if chunk.filled:
        batches.append(chunk.record_batch())
    return batches


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "python"])
@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(_row(), min_size=1, max_size=30),
    cuts=st.lists(st.integers(0, 30), max_size=6),
    capacity=st.integers(1, 12),
)
def test_rows_added_a_few_at_a_time_make_the_batches_their_chunks_would(
    compiled, rows, cuts, capacity
):
    """However the rows arrive, each chunk of ``capacity`` rows comes out as if converted
    at once, and batches already taken do not change as the next chunk fills."""
    if compiled and not arrow_columns.COMPILED:
        pytest.skip("the compiled converter is not built in this install")
    schema = arrow_schema(EVERY_TYPE)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(arrow_columns, "COMPILED", compiled)
        batches = _in_pieces(EVERY_TYPE, rows, [cut for cut in cuts if cut < len(rows)],
                             capacity=capacity)  # fmt: skip
    expected = [
        pa.RecordBatch.from_arrays(python_arrays(EVERY_TYPE, rows[at : at + capacity], schema),
                                   schema=schema)
        for at in range(0, len(rows), capacity)
    ]  # fmt: skip
    assert len(batches) == len(expected)
    for got, want in zip(batches, expected, strict=True):
        got.validate(full=True)
        assert got.equals(want)


@needs_compiled
def test_a_chunk_refuses_rows_beyond_its_room_and_keeps_what_it_has():
    spec = TableSpec("t", (Column("id", ColumnType.BIGINT),), primary_key="id")
    chunk = arrow_columns.ArrowChunk(spec, arrow_schema(spec), 3)
    rows = [(i,) for i in range(5)]
    chunk.add(rows, 0, 2)

    with pytest.raises(ValueError, match=r"^2 rows do not fit: the chunk has room for 1$"):
        chunk.add(rows, 2, 4)
    assert rows[2:] == [(2,), (3,), (4,)]  # not read, not released
    chunk.add(rows, 2, 3)
    assert chunk.record_batch().column(0).to_pylist() == [0, 1, 2]


@needs_compiled
def test_the_builder_checks_its_own_room_and_numbers_rows_by_their_place_in_the_list():
    import orjson  # noqa: PLC0415

    from fauxsim.sinks.files._rows_to_arrow import ColumnBuilder  # noqa: PLC0415

    builder = ColumnBuilder("qs", 2, arrow_columns._allocate, orjson.dumps)
    with pytest.raises(ValueError, match=r"^3 rows do not fit: the chunk has room for 2$"):
        builder.append([(1, "a")] * 3)
    rows = [(1, "a"), (2, "b"), (3, "c"), (4,)]
    with pytest.raises(ValueError, match=r"^row 3 has 1 values, not 2$"):
        builder.append(rows, 2, 4)
    # Half read: the chunk cannot be trusted any more, and says so.
    with pytest.raises(RuntimeError, match="an earlier append or finish failed"):
        builder.append(rows, 0, 1)
    with pytest.raises(RuntimeError, match="an earlier append or finish failed"):
        builder.finish()
    with pytest.raises(ValueError, match=r"^capacity must be 1 to 2\*\*31 - 1, got 0$"):
        ColumnBuilder("q", 0, arrow_columns._allocate, orjson.dumps)
    with pytest.raises(ValueError, match=r"^kinds\[0\]: unknown column kind \(byte 122\)$"):
        ColumnBuilder("z", 1, arrow_columns._allocate, orjson.dumps)


@needs_compiled
def test_a_builder_with_no_rows_finishes_as_empty_columns():
    import orjson  # noqa: PLC0415

    from fauxsim.sinks.files._rows_to_arrow import ColumnBuilder  # noqa: PLC0415

    builder = ColumnBuilder("qsjb", 4, arrow_columns._allocate, orjson.dumps)
    builder.append([(1, "a", {}, True)], 1, 1)  # an empty window
    gathered = builder.finish()
    types = [pa.int64(), pa.string(), pa.string(), pa.bool_()]
    for arrow_type, (buffers, nulls) in zip(types, gathered, strict=True):
        array = pa.Array.from_buffers(arrow_type, 0, list(buffers), null_count=nulls)
        array.validate(full=True)
        assert len(array) == 0


@needs_compiled
def test_a_builder_holds_no_reference_to_rows_or_values_once_it_has_read_them():
    import orjson  # noqa: PLC0415

    from fauxsim.sinks.files._rows_to_arrow import ColumnBuilder  # noqa: PLC0415

    shared = {"k": 1}
    rows = [(i, f"text {i}", shared if i % 2 else {"i": i}) for i in range(50)]

    def counts() -> list[int]:
        return [sys.getrefcount(rows[i]) for i in range(len(rows))]

    before = counts(), sys.getrefcount(shared)
    builder = ColumnBuilder("qsj", 64, arrow_columns._allocate, orjson.dumps)
    for start in range(0, 50, 7):
        builder.append(rows, start, min(50, start + 7))
    assert (counts(), sys.getrefcount(shared)) == before

    handed = list(rows)
    builder.append(handed, 0, 10, True)  # release: the list lets go
    assert handed[:10] == [None] * 10
    assert counts()[:10] == before[0][:10]  # handed's own references are gone
    assert builder.filled == 60


@needs_compiled
def test_text_and_the_json_memo_grow_in_place_across_chunks():
    """The second chunk's text starts at the first one's size and must grow; one append
    holds more distinct dicts than the memo's first table, some seen again after it grew."""
    spec = TableSpec(
        "t",
        (Column("id", ColumnType.BIGINT), Column("name", ColumnType.TEXT),
         Column("data", ColumnType.JSON, nullable=True)),
        primary_key="id",
    )  # fmt: skip
    schema = arrow_schema(spec)
    early = {"early": "é" * 40}
    short = [(i, "a", None) for i in range(4)]
    long = [(i, "ü" * (i % 300), early if i % 5 == 1 else {"i": i, "pad": "x" * (i % 90)})
            for i in range(2_000)]  # fmt: skip
    chunk = arrow_columns.ArrowChunk(spec, schema, 2_000)
    chunk.add(list(short), 0, len(short))
    first = chunk.record_batch()
    chunk.add(list(long), 0, len(long))
    second = chunk.record_batch()

    for batch, rows in ((first, short), (second, long)):
        batch.validate(full=True)
        assert (
            batch.to_pylist()
            == pa.RecordBatch.from_arrays(
                python_arrays(spec, rows, schema), schema=schema
            ).to_pylist()
        )


@needs_compiled
def test_python_code_the_builder_runs_cannot_call_back_into_it():
    """dumps (or allocate, or resize) appending to or finishing the same builder would write
    into buffers the outer call is filling, or has just handed over: refused."""
    import orjson  # noqa: PLC0415

    from fauxsim.sinks.files._rows_to_arrow import ColumnBuilder  # noqa: PLC0415

    refused: list[str] = []

    def reentrant_dumps(value: Any) -> bytes:
        for call in (lambda: builder.append([({"x": 1},)]), builder.finish):
            try:
                call()
            except RuntimeError as error:
                refused.append(str(error))
        return orjson.dumps(value)

    builder = ColumnBuilder("j", 4, arrow_columns._allocate, reentrant_dumps)
    builder.append([({"a": 1},), ({"b": 2},)])
    ((buffers, nulls),) = builder.finish()

    assert refused == ["the chunk is busy: called back from its own append or finish"] * 4
    array = pa.Array.from_buffers(pa.string(), 2, list(buffers), null_count=nulls)
    assert array.to_pylist() == ['{"a":1}', '{"b":2}']


class _NoShrinking(bytearray):
    """A writable buffer that grows on resize but fails to shrink (as at finish)."""

    def resize(self, size: int, shrink_to_fit: bool = False) -> None:  # noqa: ARG002 - as pyarrow
        if size < len(self):
            raise MemoryError
        self.extend(bytes(size - len(self)))


@needs_compiled
@pytest.mark.parametrize("failure", ["resize raises", "no resize"])
def test_a_text_buffer_that_cannot_be_resized_fails_the_chunk_for_good(failure):
    """After a failed resize a column has no text buffer: the chunk refuses further use
    rather than write through a stale pointer."""
    import orjson  # noqa: PLC0415

    from fauxsim.sinks.files._rows_to_arrow import ColumnBuilder  # noqa: PLC0415

    def allocate(size: int) -> Any:
        if failure == "no resize":
            return pa.allocate_buffer(size)  # not resizable
        return _NoShrinking(size)

    builder = ColumnBuilder("s", 4, allocate, orjson.dumps)
    builder.append([("a",)])  # fits in the first guess: no growth yet
    with pytest.raises((MemoryError, AttributeError)):
        builder.finish()  # trims the text to its size: resize is called
    with pytest.raises(RuntimeError, match="an earlier append or finish failed"):
        builder.append([("b",)])
