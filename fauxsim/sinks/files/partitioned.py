"""A sharded run's files: a partitioned dataset, one folder per table, only ever added to.

::

    <out>/<table>/shard=<sss>/period=<yyyy-mm>/part-<from>.<ext>
    <out>/_fauxsim/dataset.json                       what the dataset is (written once)
    <out>/_fauxsim/shard=<sss>/upto-<watermark>.json  one commit per period a shard closed

Each table is a dataset of its own (tables differ in columns, so no ``table=`` key): hive
names, read as one table by DuckDB (``hive_partitioning``), pyarrow datasets, polars and
Spark, with ``shard`` and ``period`` as extra columns. ``period`` is the UTC month of the
checkpoints whose rows the file holds; ``from`` (UTC, ``20241101T000000``) is where the
run that wrote the file began within that month: the month's start, or where an earlier
run had stopped. A run cuts its batches at month ends (``runner.generate(cut_at=...)``).

A shard's files of a month are renamed into place together, then a commit marker names
the watermark reached. A run resumes each shard after its last marker; files from a
run that died before its marker (``from`` at or after it) are deleted first, so that the
rerun's files do not repeat their rows. No file is ever rewritten: ``--until`` later adds
files (and markers) beside the old ones, and a reader that remembers which files it read
(dlt's filesystem source, Spark's file stream) picks up only the new ones.

Names start with ``_`` where readers must not look: pyarrow, Spark and polars skip such
paths, and ``<table>/`` globs never reach ``_fauxsim/``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import fauxsim
from fauxsim.clock import to_datetime, to_micros
from fauxsim.errors import SinkError
from fauxsim.sinks.files.folder import (
    META,
    FolderLock,
    dataset_description,
    flush_to_disk,
    prepare_folder,
    remove_quietly,
    signals_held,
    unfinished_table_files,
)
from fauxsim.sinks.files.table_files import CHUNK_ROWS, TableFilesSink

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from fauxsim.scenario.model import Scenario
    from fauxsim.simulation.shards import Shard
    from fauxsim.sinks.base import Batch
    from fauxsim.sinks.files.table_files import OpenWriter
    from fauxsim.tables import TableSpec

_NAME_TIME = "%Y%m%dT%H%M%S"
# The file in a shard's commit folder that the process writing the shard holds locked.
SHARD_LOCK = ".lock"


def period_start(moment: int) -> int:
    """The first moment of the UTC month holding ``moment`` (micros)."""
    day = to_datetime(moment)
    return to_micros(dt.datetime(day.year, day.month, 1, tzinfo=dt.UTC))


def period_end(moment: int) -> int:
    """The first moment of the UTC month after the one holding ``moment``: a batch cut."""
    day = to_datetime(moment)
    after = dt.datetime(day.year, day.month, 1, tzinfo=dt.UTC) + dt.timedelta(days=32)
    return to_micros(after.replace(day=1))


def _time_name(moment: int) -> str:
    at = to_datetime(moment)
    return at.strftime(_NAME_TIME) + (f".{at.microsecond:06d}" if at.microsecond else "")


def _parse_time_name(text: str) -> int:
    whole, _, fraction = text.partition(".")
    at = dt.datetime.strptime(whole, _NAME_TIME).replace(tzinfo=dt.UTC)
    return to_micros(at) + (int(fraction) if fraction else 0)


def _writer(format_name: str) -> tuple[str, OpenWriter]:
    """The file extension and table writer of a format."""
    if format_name == "parquet":
        from fauxsim.sinks.files import parquet  # noqa: PLC0415 - pyarrow only when used

        return "parquet", partial(parquet.ParquetTableWriter, row_group_rows=parquet.ROW_GROUP_ROWS)
    if format_name == "jsonl":
        from fauxsim.sinks.files.jsonl import JsonlTableWriter  # noqa: PLC0415

        return "jsonl", JsonlTableWriter
    if format_name == "csv":
        from fauxsim.sinks.files.csv import CsvTableWriter  # noqa: PLC0415

        return "csv", CsvTableWriter
    msg = f"unknown format {format_name!r}. Valid values are: csv, jsonl, parquet"
    raise SinkError(msg)


def shard_folder(shard: int) -> str:
    return f"shard={shard:03d}"


@dataclass(frozen=True)
class DatasetFolder:
    """A partitioned dataset's folder: what it holds, and each shard's commits."""

    out: Path
    format_name: str

    @property
    def meta(self) -> Path:
        return self.out / META

    def committed(self, shard: int) -> int | None:
        """The watermark up to which ``shard``'s files are complete, or None."""
        folder = self.meta / shard_folder(shard)
        marks = [
            int(path.stem.removeprefix("upto-"))
            for path in folder.glob("upto-*.json")
            if path.stem.removeprefix("upto-").isdigit()
        ] if folder.is_dir() else []  # fmt: skip
        return max(marks, default=None)

    def commit(self, shard: int, watermark: int, rows: dict[str, int]) -> None:
        """Mark ``shard``'s files complete up to ``watermark`` (a new file, never rewritten)."""
        folder = self.meta / shard_folder(shard)
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"upto-{watermark}.json"
        partial_marker = final.with_name(final.name + ".partial")
        body = {"shard": shard, "watermark": watermark, "rows": rows}
        with signals_held():  # a stop waits for the marker: none is left half written
            partial_marker.write_text(json.dumps(body, sort_keys=True) + "\n")
            flush_to_disk(partial_marker)
            partial_marker.replace(final)

    @contextlib.contextmanager
    def shard_held(self, shard: int) -> Iterator[None]:
        """``shard`` held by this process while it writes it (:class:`FolderLock` on its
        commit folder): refused while another holds it, such as a task an earlier command
        left running on a Dask cluster, whose files a new run would delete under it."""
        folder = self.meta / shard_folder(shard)
        folder.mkdir(parents=True, exist_ok=True)
        lock = FolderLock(
            folder,
            busy=f"shard {shard} of {self.out}/ is being written by another process (a task "
            "of an earlier run still running on a Dask cluster, say): wait for it to end, or "
            "stop it, then run the same command again",
            in_file=SHARD_LOCK,  # (a file: a cluster's folder is often on NFS)
        )
        try:
            yield
        finally:
            lock.release()

    def remove_uncommitted(self, shard: int) -> None:
        """Delete ``shard``'s files that no commit covers: left by a run that died."""
        for path in (self.meta / shard_folder(shard)).glob("*.partial"):
            remove_quietly(path)  # a marker a machine's crash cut short
        for path in self.uncommitted(shard):
            remove_quietly(path)

    def uncommitted(self, shard: int) -> list[Path]:
        """``shard``'s files that no commit covers: unfinished (``.partial``), or begun at or
        after its last commit (a run that died between a file and its commit)."""
        committed = self.committed(shard)
        extension, _ = _writer(self.format_name)
        found = []
        # (``part-*.partial``: unfinished files as fauxsim 0.2.3 and before named them)
        shard_files = f"*/{shard_folder(shard)}/period=*"
        for path in [
            *self.out.glob(f"{shard_files}/part-*"),
            *self.out.glob(f"{shard_files}/.part-*"),
        ]:
            if path.name.endswith(".partial"):
                found.append(path)
                continue
            stem = path.name.removeprefix("part-").removesuffix(f".{extension}")
            try:
                began = _parse_time_name(stem)
            except ValueError:
                continue  # not ours: leave it
            if committed is None or began >= committed:
                found.append(path)
        return found


def _another_dataset(out: Path, found: dict[str, Any], identity: dict[str, Any]) -> str:
    """Why a run may not extend the dataset in ``out``: what differs, and what to do."""
    differing = [key for key in identity if found.get(key) != identity[key]]
    differences = [
        f"{key.replace('_', ' ')} {found.get(key)!r} there, {identity[key]!r} in this run"
        for key in differing
        if key != "digest"
    ]
    # The digest covers the whole scenario: named when what differs besides does not
    # explain it (another name, seed or shard count changes it too).
    if "digest" in differing and not {"scenario", "seed", "shards"} & set(differing):
        differences.append("other scenario settings (a --set, or an edited file: its digest)")
    advice = "Write this run to another folder, or delete that one"
    if differing == ["format"]:
        advice = f"To extend it, run with --format {found['format']}; or write to another folder"
    return f"{out}/ holds another dataset: {'; '.join(differences)}. {advice}."


def open_dataset(out: Path, scenario: Scenario, format_name: str, digest: str) -> DatasetFolder:
    """The dataset in ``out``, created if new; refused if it holds another one."""
    _writer(format_name)  # an unknown format fails before anything is created
    prepare_folder(out)
    identity = {  # as a database's ledger: the same code version too, or other data
        "scenario": scenario.name,
        "digest": digest,
        "seed": scenario.seed,
        "shards": scenario.shards,
        "format": format_name,
        "code_version": fauxsim.__version__,
    }
    described = dataset_description(out)
    if described.exists():
        try:
            found = json.loads(described.read_text())
        except (OSError, ValueError) as error:
            msg = f"{described} cannot be read ({error}); remove the folder or pick another"
            raise SinkError(msg) from error
        if found != identity and not _holds_nothing_but(described, out):
            raise SinkError(_another_dataset(out, found, identity))
        if found != identity:  # a run that wrote nothing (a cluster it could not reach)
            _describe(described, identity)
    else:
        ignored = {META, *unfinished_table_files(out)}  # (the next run of them removes those)
        if any(path.name not in ignored for path in out.iterdir()):
            msg = (
                f"{out}/ is not empty and holds no partitioned dataset: write one (a "
                "scenario of several shards, or --partitioned) to a new or empty folder"
            )
            raise SinkError(msg)
        _describe(described, identity)
    return DatasetFolder(out, format_name)


def forget_if_unwritten(out: Path) -> None:
    """Remove the description of the dataset in ``out`` if it is all there is: a run that
    wrote nothing (a cluster it could not reach, a stop at once) leaves the folder as it
    found it, so a later run of another kind is not taken for its continuation."""
    described = dataset_description(out)
    if described.exists() and _holds_nothing_but(described, out):
        remove_quietly(described)
        with contextlib.suppress(OSError):
            described.parent.rmdir()


def _describe(described: Path, identity: dict[str, object]) -> None:
    described.parent.mkdir(parents=True, exist_ok=True)
    partial_description = described.with_name(described.name + ".partial")
    partial_description.write_text(json.dumps(identity, sort_keys=True) + "\n")
    partial_description.replace(described)


def _holds_nothing_but(described: Path, out: Path) -> bool:
    """Whether the dataset in ``out`` is its description alone: a run that stopped before
    it wrote a file (another may take the folder over)."""
    return [*out.iterdir()] == [described.parent] and [*described.parent.iterdir()] == [described]


class ShardFilesSink:
    """One shard's files in a :class:`DatasetFolder`: a file per table and month.

    Each batch holds the rows of one month (the runner cuts batches at month ends); at
    a new month, or at ``close()``, the files of the month are published and committed.
    """

    def __init__(
        self, dataset: DatasetFolder, shard: Shard, began: int, *, chunk_rows: int = CHUNK_ROWS
    ) -> None:
        """``began``: where this run starts (the scenario's start, or the resume point)."""
        self._dataset = dataset
        self._shard = shard
        self._began = began
        self._chunk_rows = chunk_rows
        self._extension, self._open_writer = _writer(dataset.format_name)
        self._period: int | None = None
        self._files: TableFilesSink | None = None
        self._watermark: int | None = None
        self._rows: dict[str, int] = {}

    def write(self, batch: Batch) -> None:
        period = period_start(batch.watermark - 1)  # its rows' checkpoints are in one month
        if period != self._period:
            self._publish()
            self._open(period)
        assert self._files is not None  # noqa: S101 - opened above
        for name, rows in batch.rows.items():
            self._rows[name] = self._rows.get(name, 0) + len(rows)
        self._files.write(batch)
        self._watermark = batch.watermark

    def close(self) -> None:
        self._publish()

    def abort(self) -> None:
        if self._files is not None:
            self._files.abort()
            self._files = None

    def _open(self, period: int) -> None:
        began = max(period, self._began)
        month = to_datetime(period).strftime("%Y-%m")
        part = f"part-{_time_name(began)}.{self._extension}"
        shard = shard_folder(self._shard.index)

        def path_of(spec: TableSpec) -> Path:
            return self._dataset.out / spec.name / shard / f"period={month}" / part

        self._period = period
        self._files = TableFilesSink(
            self._dataset.out,
            extension=self._extension,
            open_writer=self._open_writer,
            chunk_rows=self._chunk_rows,
            path_of=path_of,
            skip_empty=True,
        )

    def _publish(self) -> None:
        """Publish the month's files, then commit up to the last batch written."""
        if self._files is None:
            return
        files, self._files = self._files, None
        files.close()
        if self._watermark is not None:
            self._dataset.commit(self._shard.index, self._watermark, self._rows)
        self._rows = {}
