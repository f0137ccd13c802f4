"""File sink speed: 1,000,000 synthetic events to JSONL, CSV and Parquet, against baselines.

    .venv/bin/python benchmarks/sinks.py                       # 1M events, batches of 10,000
    .venv/bin/python benchmarks/sinks.py --rows 200000 --batch-rows 1 --repeat 3

For each format, prints rows/s through the sink (batches in, ``close()`` included) and
the ratio against a baseline measured in the same run on the same rows:

- parquet: one ``pa.Table`` built from all rows at once (one ``pa.array`` per column,
  the sink's own conversions) and written by one ``pq.write_table`` call, same settings;
- jsonl: plain orjson lines (``dumps(dict(zip(names, row)))``), timestamps left as ints;
- csv: the standard library's ``csv.writer(...).writerows(rows)``, values as they come.

A ratio near 1 means the sink costs what the bare library costs; the absolute figures
depend on the machine and its load, the ratios much less.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from functools import partial
from itertools import cycle
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from fauxsim.clock import SECOND
from fauxsim.events import EVENT_COLUMNS, EventType
from fauxsim.sinks.base import Batch, open_sink
from fauxsim.sinks.files.arrow_columns import arrow_schema, record_batch
from fauxsim.sinks.files.parquet import COMPRESSION, ROW_GROUP_ROWS
from fauxsim.tables import EVENTS, ColumnType

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

Row = tuple[Any, ...]
START = 1_732_838_400 * SECOND  # 2024-11-29T00:00:00Z
PAGES = ("/", "/search", "/product", "/cart", "/checkout")
PROPERTIES: tuple[dict[str, Any] | None, ...] = (
    None,
    {"referrer": "https://www.google.com/", "utm_source": "google"},
    None,
    {"query": "red running shoes", "results": 42},
    {"price_cents": 4_999, "currency": "EUR", "title": "Trail shoe «Ridge» 2"},
)


def synthetic_events(count: int) -> list[Row]:
    """Event rows shaped like the engine's: growing times, sessions of ~8 events."""
    types = cycle(list(EventType))
    pages, properties = cycle(PAGES), cycle(PROPERTIES)
    rows = []
    for i in range(count):
        occurred = START + i * 86_413  # ~10 events per simulated second, odd micros
        session = i // 8
        rows.append(
            (
                i + 1,
                next(types).value,
                occurred,
                occurred + (i % 7) * 1_000,
                session,
                session // 2,
                session // 5 if i % 3 == 0 else None,
                i % 8,
                next(pages),
                (i * 31) % 5_000 if i % 2 else None,
                1 if i % 4 == 0 else None,
                None if i % 9 else i // 9,
                next(properties),
            )
        )
    return rows


def through_sink(fmt: str, rows: Sequence[Row], batch_rows: int, out: Path) -> None:
    """Rows through ``open_sink(fmt)`` in batches of ``batch_rows``, then ``close()``."""
    sink = open_sink(fmt, out)
    for start in range(0, len(rows), batch_rows):
        sink.write(Batch(watermark=start, rows={EVENTS.name: rows[start : start + batch_rows]}))
    sink.close()


def parquet_baseline(rows: Sequence[Row], out: Path) -> None:
    """All rows converted at once, column by column, and written in one call.

    The same conversions and writer settings as the sink, so that the ratio shows what
    batching, chunking and fixed row groups cost, not a difference in settings.
    """
    schema = arrow_schema(EVENTS)
    table = pa.Table.from_batches([record_batch(EVENTS, rows, schema)])
    labels = [column.name for column in EVENTS.columns if column.type is ColumnType.TEXT]
    pq.write_table(
        table,
        out / "events.parquet",
        compression=COMPRESSION,
        use_dictionary=labels,
        row_group_size=ROW_GROUP_ROWS,
    )


def jsonl_baseline(rows: Sequence[Row], out: Path) -> None:
    with (out / "events.jsonl").open("wb") as file:
        write, dumps, line = file.write, orjson.dumps, orjson.OPT_APPEND_NEWLINE
        for row in rows:
            write(dumps(dict(zip(EVENT_COLUMNS, row, strict=True)), option=line))


def csv_baseline(rows: Sequence[Row], out: Path) -> None:
    with (out / "events.csv").open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(EVENT_COLUMNS)
        writer.writerows(rows)


def rows_per_second(
    rows: Sequence[Row], write: Callable[[Path], None], repeat: int
) -> tuple[float, int]:
    """Best rows/s of ``repeat`` writes, each into a fresh folder, and the bytes written."""
    best, size = 0.0, 0
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as folder:
            began = time.perf_counter()
            write(Path(folder))
            seconds = time.perf_counter() - began
            size = sum(path.stat().st_size for path in Path(folder).iterdir())
        best = max(best, len(rows) / seconds)
    return best, size


BASELINES: dict[str, tuple[str, Callable[[Sequence[Row], Path], None]]] = {
    "parquet": ("pq.write_table of one pa.Table", parquet_baseline),
    "jsonl": ("plain orjson lines", jsonl_baseline),
    "csv": ("stdlib csv.writer", csv_baseline),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-rows", type=int, default=10_000)
    parser.add_argument("--formats", nargs="+", default=list(BASELINES), choices=list(BASELINES))
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs of each")
    args = parser.parse_args()

    rows = synthetic_events(args.rows)
    print(f"{args.rows:,} event rows, batches of {args.batch_rows:,} rows\n")
    print(f"{'format':8} {'sink rows/s':>12} {'size':>9}  {'baseline rows/s':>15}  ratio  baseline")
    for fmt in args.formats:
        label, baseline = BASELINES[fmt]
        base_rate, _ = rows_per_second(rows, partial(baseline, rows), args.repeat)
        rate, size = rows_per_second(
            rows, partial(through_sink, fmt, rows, args.batch_rows), args.repeat
        )
        print(
            f"{fmt:8} {rate:12,.0f} {size / 1e6:7.1f}MB  {base_rate:15,.0f}  "
            f"{rate / base_rate:5.2f}  {label}"
        )


if __name__ == "__main__":
    main()
