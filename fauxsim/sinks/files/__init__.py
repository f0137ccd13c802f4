"""File sinks: one file per table in JSON Lines, CSV or Parquet.

Registered by name in ``fauxsim.sinks.base``. Each factory imports its format module
only when called, so listing the sink names does not load pyarrow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fauxsim.sinks.base import register

if TYPE_CHECKING:
    from pathlib import Path

    from fauxsim.sinks.files.table_files import TableFilesSink


@register("jsonl")
def open_jsonl(out: Path) -> TableFilesSink:
    from fauxsim.sinks.files import jsonl  # noqa: PLC0415 - see module docstring

    return jsonl.open_jsonl(out)


@register("csv")
def open_csv(out: Path) -> TableFilesSink:
    from fauxsim.sinks.files import csv  # noqa: PLC0415 - see module docstring

    return csv.open_csv(out)


@register("parquet")
def open_parquet(out: Path) -> TableFilesSink:
    from fauxsim.sinks.files import parquet  # noqa: PLC0415 - see module docstring

    return parquet.open_parquet(out)
