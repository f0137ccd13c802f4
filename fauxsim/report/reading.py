"""A dataset's output as DuckDB views: ``events`` (each event once), ``sessions`` and ``orders``
(each row's latest state), whether it was written to files or to Postgres.

File tables are change logs (the latest ``updated_at`` per id is the row's state); Postgres
tables hold the latest state already, and are copied out with ``COPY ... TO STDOUT`` (CSV)
into a temporary folder, so both end up read by the same code.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fauxsim.clock import to_datetime
from fauxsim.errors import FauxError, UsageError
from fauxsim.sinks.files.folder import dataset_description
from fauxsim.tables import CARTS, CUSTOMERS, EVENTS, ORDERS, SESSIONS, ColumnType, TableSpec

if TYPE_CHECKING:
    from collections.abc import Iterator

    import duckdb

# The tables the report reads, and the file formats fauxsim writes them in.
TABLES = (EVENTS, SESSIONS, ORDERS, CUSTOMERS, CARTS)
FORMATS = ("parquet", "jsonl", "csv")

# The event types the audit and the charts read (the rest are left in the files).
READ_EVENT_TYPES = (
    "session_started",
    "page_viewed",
    "added_to_cart",
    "logged_in",
    "signed_up",
    "payment_info_added",
    "payment_failed",
    "order_placed",
    "order_shipped",
)

_DUCKDB_TYPES = {
    ColumnType.BIGINT: "BIGINT",
    ColumnType.INTEGER: "INTEGER",
    ColumnType.DOUBLE: "DOUBLE",
    ColumnType.TEXT: "VARCHAR",
    ColumnType.BOOLEAN: "BOOLEAN",
    ColumnType.TIMESTAMP: "TIMESTAMPTZ",
    ColumnType.JSON: "VARCHAR",
}


class DatasetError(FauxError):
    """The dataset cannot be read: no such folder, no tables in it, no data, or damaged files."""

    exit_code = 3


@dataclass(frozen=True, slots=True)
class Dataset:
    """Open views over one dataset, and what is known of where it came from."""

    connection: duckdb.DuckDBPyConnection
    source: str  # the folder, or the database URL without its password
    end: dt.datetime  # data is complete before this moment (UTC)
    scenario_name: str | None = None
    scenario_digest: str | None = None
    shards: int | None = None  # as the dataset records it (one shard's files record nothing)


def check_report_extra() -> None:
    """Raise a one-line error naming the extra to install if DuckDB or matplotlib is missing."""
    for module in ("duckdb", "matplotlib"):
        try:
            importlib.import_module(module)
        except ImportError:
            message = (
                f"fauxsim report needs DuckDB and matplotlib ({module} is missing): "
                "pip install -e '.[report]'"
            )
            raise UsageError(message) from None


def read_folder(folder: Path) -> Dataset:
    """The dataset written by ``fauxsim run --out folder`` in any file format."""
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise DatasetError(f"{folder} {what}; give the folder `fauxsim run --out` wrote")
    partitioned = _partitioned_format(folder)
    if partitioned is not None:  # `--set shards=K` (or appendable) files: a folder a table
        described = _described(folder)
        shards = described.get("shards")
        end = None
        if isinstance(shards, int):  # its shards, each committed up to the same moment
            end = _complete_to(_committed_files(folder, partitioned, shards), shards, str(folder))
        connection = _views(folder, partitioned, str(folder), partitioned=True)
        return Dataset(
            connection,
            str(folder),
            _data_end(connection, str(folder)) if end is None else to_datetime(end),
            described.get("scenario"),
            described.get("digest"),
            shards,
        )
    found = [kind for kind in FORMATS if (folder / f"{EVENTS.name}.{kind}").is_file()]
    if not found:
        expected = ", ".join(f"{EVENTS.name}.{kind}" for kind in FORMATS)
        message = f"{folder} holds no fauxsim tables (looked for {expected})"
        raise DatasetError(message)
    kind = found[0]
    for spec in TABLES:
        if not (folder / f"{spec.name}.{kind}").is_file():
            raise DatasetError(f"{folder} has {EVENTS.name}.{kind} but no {spec.name}.{kind}")
    connection = _views(folder, kind, str(folder))
    return Dataset(connection, str(folder), _data_end(connection, str(folder)))


def _committed_files(folder: Path, file_format: str, shards: int) -> dict[int, int | None]:
    """Each shard's committed watermark in a partitioned folder (None: nothing yet).

    Raises DatasetError for files that no commit covers: a run stopped between writing
    them and committing them (the same ``fauxsim run`` removes them, and writes them again).
    """
    from fauxsim.sinks.files.partitioned import DatasetFolder  # noqa: PLC0415 - pyarrow

    dataset = DatasetFolder(folder, file_format)
    for shard in range(shards):
        if dataset.uncommitted(shard):
            message = (
                f"{folder} holds files of shard {shard} that no commit covers (a run stopped "
                "while writing them): run the same fauxsim run command again to finish it, "
                "then the report"
            )
            raise DatasetError(message)
    return {shard: dataset.committed(shard) for shard in range(shards)}


def _complete_to(committed: dict[int, int | None], shards: int, source: str) -> int:
    """The moment every shard of a dataset of several is complete up to, which must be the
    same for all: else the tables mix shards cut at different moments, and the audit would
    measure more of some than of others."""
    reached = {committed.get(shard) for shard in range(shards)}
    if len(reached) == 1 and None not in reached:
        return reached.pop()  # type: ignore[return-value]  # an int: None is not in it

    def said(moment: int | None) -> str:
        return (
            "nothing committed"
            if moment is None
            else f"up to {to_datetime(moment):%Y-%m-%d %H:%M} UTC"
        )

    where = ", ".join(f"shard {shard} {said(committed.get(shard))}" for shard in range(shards))
    message = (
        f"{source} is not complete: its shards stop at different moments ({where}); run the "
        "same fauxsim run command again to finish it, then the report"
    )
    raise DatasetError(message)


def _described(folder: Path) -> dict[str, Any]:
    """What a partitioned dataset says it is (``_fauxsim/dataset.json``), {} if it has no
    such file; one that cannot be read is a damaged dataset (its shards unknown, the
    report could not tell whether they are complete)."""
    described = dataset_description(folder)
    if not described.exists():
        return {}
    try:
        found = json.loads(described.read_text())
    except (OSError, ValueError) as error:
        message = f"{described} cannot be read ({error}): the dataset is damaged"
        raise DatasetError(message) from None
    if not isinstance(found, dict):
        raise DatasetError(f"{described} does not describe a dataset: the dataset is damaged")
    return found


def read_database(url: str) -> Dataset:
    """The dataset in the Postgres database at ``url``, as of its committed watermark."""
    with tempfile.TemporaryDirectory(prefix="fauxsim-report-") as copied:
        return _copy_database(url, Path(copied))


def _copy_database(url: str, folder: Path) -> Dataset:
    """Each table the report reads, copied out as CSV into ``folder`` and loaded into DuckDB."""
    from fauxsim.sinks.postgres import ledger  # noqa: PLC0415
    from fauxsim.sinks.postgres.connection import (  # noqa: PLC0415
        connect,
        mask_password,
        translate_errors,
    )

    with (
        translate_errors(url, "read from"),
        connect(url) as connection,
        connection.cursor() as cursor,
    ):
        if cursor.execute("SELECT to_regclass('runs')").fetchone() in (None, (None,)):
            message = f"{mask_password(url)} holds no fauxsim dataset: `fauxsim run` writes one"
            raise DatasetError(message)
        committed = ledger.read_committed(cursor)
        if committed is None:
            message = f"{mask_password(url)} holds no committed data yet: `fauxsim run` writes it"
            raise DatasetError(message)
        found = cursor.execute("SELECT max(shards) FROM runs").fetchone()
        shards = int(found[0]) if found is not None and found[0] is not None else 1
        end = committed.watermark
        if shards > 1:
            end = _complete_to(ledger.committed_by_shard(cursor), shards, mask_password(url))
        cursor.execute("SET TIME ZONE 'UTC'")
        for spec in TABLES:
            names = ", ".join(_pg_column(column.name, column.type) for column in spec.columns)
            query = f"COPY (SELECT {names} FROM {spec.name}) TO STDOUT WITH (FORMAT csv, HEADER)"  # noqa: S608
            with (folder / f"{spec.name}.csv").open("wb") as out, cursor.copy(query) as copy:
                for data in copy:
                    out.write(data)
    identity = committed.identity
    return Dataset(
        _views(folder, "csv", mask_password(url)),
        mask_password(url),
        to_datetime(end),
        identity.scenario_name,
        identity.scenario_digest,
        shards,
    )


def _pg_column(name: str, kind: ColumnType) -> str:
    return f"{name}::text AS {name}" if kind is ColumnType.JSON else name


def _partitioned_format(folder: Path) -> str | None:
    """The format of a partitioned dataset in ``folder`` (``<table>/shard=…/period=…/
    part-….<format>``, see ``sinks/files/partitioned.py``), None if it is not one."""
    events = folder / EVENTS.name
    if not events.is_dir():
        return None
    for kind in FORMATS:
        if next(events.glob(f"shard=*/period=*/part-*.{kind}"), None) is not None:
            return kind
    return None


def _views(
    folder: Path, kind: str, source: str, *, partitioned: bool = False
) -> duckdb.DuckDBPyConnection:
    """Tables of each row's latest state (each event once), loaded once: every check reads
    them again, and a view would deduplicate the whole log for each.

    ``partitioned``: each table is the files of its folder, every shard and period (a
    table without rows in any has no files: an empty table of its columns). Raises
    :class:`DatasetError` naming ``source`` and the table whose files DuckDB cannot read."""
    import duckdb  # noqa: PLC0415

    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    for spec in TABLES:
        with _reading(source, spec.name):
            _load(connection, folder, kind, spec, partitioned=partitioned)
    return connection


def _load(
    connection: duckdb.DuckDBPyConnection,
    folder: Path,
    kind: str,
    spec: TableSpec,
    *,
    partitioned: bool,
) -> None:
    """``raw_<table>``, a view of its files, and ``<table>``, each row's latest state."""
    raw = f"raw_{spec.name}"
    if partitioned:
        parts = folder / spec.name / "shard=*" / "period=*" / f"part-*.{kind}"
        if next((folder / spec.name).glob(f"shard=*/period=*/part-*.{kind}"), None) is None:
            columns = ", ".join(
                f'"{column.name}" {_DUCKDB_TYPES[column.type]}' for column in spec.columns
            )
            connection.execute(f"CREATE TABLE {raw} ({columns})")
        else:
            scan = _scan(parts, kind, spec)
            connection.execute(f"CREATE VIEW {raw} AS SELECT * FROM {scan}")  # noqa: S608 - our names
    else:
        scan = _scan(folder / f"{spec.name}.{kind}", kind, spec)
        connection.execute(f"CREATE VIEW {raw} AS SELECT * FROM {scan}")  # noqa: S608 - our names
    order = "received_at" if spec.append_only else "updated_at DESC"
    # Only the events the report reads; the last event of any type marks the data's end.
    wanted = f"WHERE event_type IN {READ_EVENT_TYPES}" if spec is EVENTS else ""
    connection.execute(
        f"CREATE TABLE {spec.name} AS SELECT * FROM {raw} {wanted} "  # noqa: S608 - our names
        f"QUALIFY row_number() OVER (PARTITION BY {spec.primary_key} ORDER BY {order}) = 1"
    )


@contextmanager
def _reading(source: str, table: str) -> Iterator[None]:
    """Turn DuckDB's failure to read a table's files (cut short, not Parquet, a line that is
    not JSON or CSV, a column of another type) into a :class:`DatasetError`; DuckDB reads
    them lazily, so a damaged file may surface at any statement reading the table."""
    import duckdb  # noqa: PLC0415

    try:
        yield
    except (duckdb.ParserException, duckdb.CatalogException):
        raise  # our SQL, not the files: a bug keeps its traceback
    except duckdb.Error as error:
        message = (
            f"{source} is damaged: its {table} table cannot be read ({_duckdb_reason(error)}). "
            "Write the dataset again with fauxsim run (into a new folder), or restore the file "
            "from a copy"
        )
        raise DatasetError(message) from error


def _duckdb_reason(error: Exception) -> str:
    """DuckDB's reason in one line, and the file it names further down if the line does not."""
    lines = str(error).strip().splitlines() or [type(error).__name__]
    reason = re.sub(r"^[A-Za-z ]+ Error: ", "", lines[0]).strip().rstrip(".")
    named = re.search(r"^\s*file = (.+)$", str(error), re.MULTILINE)  # a CSV error's details
    if named and named[1] not in reason:
        reason = f"{reason} in {named[1]}"
    return reason


def _scan(path: Path, kind: str, spec: TableSpec) -> str:
    quoted = "'" + str(path).replace("'", "''") + "'"
    # The table's own columns only: not shard and period from a partitioned path's names.
    hive = "hive_partitioning = false"
    if kind == "parquet":
        return f"read_parquet({quoted}, {hive})"
    types = ", ".join(
        f"'{column.name}': '{_file_type(column.type, kind)}'" for column in spec.columns
    )
    if kind == "jsonl":
        return f"read_json({quoted}, format = 'newline_delimited', columns = {{{types}}}, {hive})"
    return f"read_csv({quoted}, header = true, columns = {{{types}}}, {hive})"


def _file_type(kind: ColumnType, file_format: str) -> str:
    # JSON Lines nests `properties` as an object: read it as JSON, then use it as text.
    return "JSON" if kind is ColumnType.JSON and file_format == "jsonl" else _DUCKDB_TYPES[kind]


def _data_end(connection: duckdb.DuckDBPyConnection, source: str) -> dt.datetime:
    """The end of what a file dataset covers: the hour after its last event.

    Files do not record the watermark; a run (``--until`` or whole) simulates whole hours,
    so the hour after the last event is where the data stops.
    """
    with _reading(source, EVENTS.name):  # raw_events reads the files again
        row = connection.execute("SELECT max(occurred_at) FROM raw_events").fetchone()
    if row is None or row[0] is None:
        raise DatasetError(f"{source} holds no events: the dataset is empty")
    last: dt.datetime = row[0].astimezone(dt.UTC)
    return last.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
