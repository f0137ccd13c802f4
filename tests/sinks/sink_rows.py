"""Synthetic rows for every table, built from the table specs, for the file-sink tests.

Values are chosen to break naive writers: None in every nullable column, the empty
string, quotes, commas, CR/LF and tabs in text, non-ASCII text, nested JSON, floats
without a short decimal form, and timestamps with and without a fractional second.
"""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from fauxsim.sinks.base import Batch, Row
from fauxsim.tables import ALL_TABLES, EVENTS, Column, ColumnType, TableSpec

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence
    from pathlib import Path

    from fauxsim.sinks.files.table_files import TableFilesSink

TEXTS = (
    "plain",
    "",
    'say "hi"',
    "comma, inside",
    "line\nbreak",
    "crlf\r\nend",
    "ünïcødé ✓ 日本語",
    "cart 🛒",
    "  padded  ",
    "back\\slash\ttab",
    "null",
    '"',
)
JSON_VALUES: tuple[dict[str, Any], ...] = (
    {},
    {"q": "shoes", "results": 3},
    {"nested": {"list": [1, 2.5, None, "é"]}, "quote": 'a "b"', "nl": "x\ny"},
    {"flag": True, "off": False, "emoji": "🛒", "comma": "a,b"},
)
FLOATS = (0.0, 0.1, 1 / 3, 12345.678, 1e-9, -2.5, 1e21)
# 2024-11-29T00:00:00Z: a whole second, so some timestamps have a zero fraction.
BASE_MICROS = 1_732_838_400_000_000

_VALUE_OF_TYPE: dict[ColumnType, Callable[[int], Any]] = {
    ColumnType.BIGINT: lambda i: i * 7_919 + (1 << 40),
    ColumnType.INTEGER: lambda i: i % 1_000 - 7,
    ColumnType.DOUBLE: lambda i: FLOATS[i % len(FLOATS)],
    ColumnType.TEXT: lambda i: TEXTS[i % len(TEXTS)],
    ColumnType.BOOLEAN: lambda i: i % 3 == 0,
    ColumnType.TIMESTAMP: lambda i: BASE_MICROS + i * 1_234_567 * (i % 3),
    ColumnType.JSON: lambda i: JSON_VALUES[i % len(JSON_VALUES)],
}


def value(column: Column, index: int) -> Any:
    """The value of ``column`` in row ``index``: deterministic, varied, sometimes None."""
    if column.nullable and index % 5 == 4:
        return None
    return _VALUE_OF_TYPE[column.type](index)


def table_rows(spec: TableSpec, count: int, start: int = 0) -> list[Row]:
    return [tuple(value(c, i) for c in spec.columns) for i in range(start, start + count)]


def rows_of_every_table(count: int) -> dict[str, list[Row]]:
    """``count`` rows for each table (a few more for events, so tables differ in length)."""
    return {
        spec.name: table_rows(spec, count + (3 if spec is EVENTS else 0)) for spec in ALL_TABLES
    }


def split_into_batches(rows: dict[str, list[Row]], cuts: dict[str, Sequence[int]]) -> list[Batch]:
    """Cut each table's rows at the given positions; batch ``k`` holds piece ``k`` of each.

    A table whose piece is empty is left out of that batch, as the engine does.
    """
    pieces: dict[str, list[list[Row]]] = {}
    for name, table in rows.items():
        inner = sorted(cut for cut in cuts.get(name, ()) if 0 < cut < len(table))
        pieces[name] = [table[a:b] for a, b in pairwise([0, *inner, len(table)])]
    count = max(len(parts) for parts in pieces.values())
    return [
        Batch(
            watermark=k,
            rows={name: parts[k] for name, parts in pieces.items() if k < len(parts) and parts[k]},
        )
        for k in range(count)
    ]


def one_batch(rows: dict[str, list[Row]]) -> list[Batch]:
    return [Batch(watermark=0, rows=rows)]


def one_row_per_batch(rows: dict[str, list[Row]]) -> list[Batch]:
    return split_into_batches(rows, {name: range(1, len(table)) for name, table in rows.items()})


def lazy_event_batches(total: int, batch_rows: int) -> Iterator[Batch]:
    """Event batches made on demand, so a memory test measures the sink, not its input."""
    for start in range(0, total, batch_rows):
        count = min(batch_rows, total - start)
        yield Batch(watermark=start, rows={EVENTS.name: table_rows(EVENTS, count, start)})


def write_with(
    open_sink: Callable[[Path], TableFilesSink], out: Path, batches: Iterable[Batch]
) -> dict[str, bytes]:
    """Write ``batches`` through a fresh sink; the bytes of every file, by file name."""
    with open_sink(out) as sink:
        for batch in batches:
            sink.write(batch)
    return {path.name: path.read_bytes() for path in sorted(out.iterdir())}


def batch_cuts(rows: dict[str, list[Row]]) -> st.SearchStrategy[dict[str, list[int]]]:
    """Hypothesis: where to cut each table's rows into batches (anywhere, any number)."""
    return st.fixed_dictionaries(
        {
            name: st.lists(st.integers(0, len(table)), max_size=len(table))
            for name, table in rows.items()
        }
    )
