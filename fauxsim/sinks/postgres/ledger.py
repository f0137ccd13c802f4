"""The ``runs`` ledger: which dataset a database holds and how far it is committed.

Every row of ``runs`` describes the same dataset (scenario digest, seed, code version);
``--replace`` empties the ledger with the data. The highest committed ``watermark`` is
the simulated moment up to which every row is in the database: a new run of the same
scenario resumes from there, a run of another one is refused.
"""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg

import fauxsim
from fauxsim.clock import to_datetime, to_micros, to_rfc3339
from fauxsim.errors import FauxError
from fauxsim.sinks.postgres.connection import mask_password
from fauxsim.tables import ALL_TABLES

if TYPE_CHECKING:
    from fauxsim.scenario.model import Scenario
    from fauxsim.simulation.shards import Shard

# pg_advisory_lock key held by the one run writing to a database.
WRITER_LOCK = 0x6661_7578_7275_6E  # "fauxrun"
# The first key of a shard's pg_advisory_lock (two int keys: this, and the shard), held by
# the connection that loads the shard.
SHARD_LOCKS = 0x6661_7578  # "faux"
# How long a run waits for the lock before it says another run is writing.
WRITER_LOCK_WAIT_MS = 3000
# That lock, held in this database, as pg_locks shows it: the server's locks of every
# database are there, and a bigint key is split into classid (high 32 bits), objid (low)
# and objsubid 1 (a pair of int keys has objsubid 2).
_OUR_WRITER_LOCK = (
    "l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
    "AND l.classid = %(high)s AND l.objid = %(low)s "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
WRITER_LOCK_PARTS = {"high": WRITER_LOCK >> 32, "low": WRITER_LOCK & 0xFFFF_FFFF}
WRITER_LOCK_TAKEN = f"SELECT EXISTS (SELECT 1 FROM pg_locks l WHERE {_OUR_WRITER_LOCK})"  # noqa: S608 - constants
_WRITER_LOCK_HOLDER = (
    "SELECT a.pid, a.application_name, a.client_addr FROM pg_locks l JOIN pg_stat_activity a "  # noqa: S608 - constants
    f"ON a.pid = l.pid WHERE {_OUR_WRITER_LOCK} LIMIT 1"
)
DATA_TABLES = tuple(spec.name for spec in ALL_TABLES)
# The dataset's watermark, as a SQL expression: every shard's rows are in the database up
# to it. A dataset of several shards loads them in parallel, each committing its own
# watermark; it is the lowest, and NULL until every shard has committed.
DATASET_WATERMARK = (
    "(SELECT CASE WHEN count(last) = max(shards) THEN min(last) END FROM ("
    "SELECT shard, max(shards) AS shards, max(watermark) AS last FROM runs GROUP BY shard"
    ") AS per_shard)"
)
# What a reader may see as final at most, as SQL: for a dataset of several shards, its
# watermark (before every shard has committed, nothing: the year 1); NULL for one shard,
# whose batches commit in time order (``least`` ignores a NULL). Shards load in
# parallel, so a shard behind may still commit rows older than another's: a reader
# paging by time past the dataset's watermark would skip them.
SHARDED_HORIZON = (
    "(SELECT CASE WHEN max(shards) > 1 THEN coalesce("  # noqa: S608 - constants
    f"{DATASET_WATERMARK}, '0001-01-01 00:00:00+00'::timestamptz) END FROM runs)"
)


class DatasetMismatchError(FauxError):
    """The database holds another dataset than the one the user asked to write."""

    exit_code = 3


@dataclass(frozen=True, slots=True)
class DatasetIdentity:
    """What makes two runs write the same rows (DESIGN.md, determinism contract)."""

    scenario_name: str
    scenario_digest: str
    seed: int
    code_version: str

    @classmethod
    def of(cls, scenario: Scenario) -> DatasetIdentity:
        return cls(
            scenario_name=scenario.name,
            scenario_digest=scenario_digest(scenario),
            seed=scenario.seed,
            code_version=fauxsim.__version__,
        )

    def same_data_as(self, other: DatasetIdentity) -> bool:
        # The name is a label; the digest already covers every setting, seed included.
        return (self.scenario_digest, self.seed, self.code_version) == (
            other.scenario_digest,
            other.seed,
            other.code_version,
        )

    def describe(self) -> str:
        return (
            f"scenario {self.scenario_name!r} (seed {self.seed}, digest "
            f"{self.scenario_digest[:12]}, fauxsim {self.code_version})"
        )


@dataclass(frozen=True, slots=True)
class Committed:
    """The dataset in a database and the watermark up to which it is complete."""

    identity: DatasetIdentity
    watermark: int


def scenario_digest(scenario: Scenario) -> str:
    """sha256 of the scenario's canonical JSON. The one place to swap in a shared digest."""
    # The scenario package is growing a shared digest; use it once it exists.
    try:
        shared = importlib.import_module("fauxsim.scenario.loading").scenario_digest
    except (ImportError, AttributeError):
        return hashlib.sha256(scenario.model_dump_json().encode()).hexdigest()
    return str(shared(scenario))


def read_committed(cursor: psycopg.Cursor[Any], shard: int | None = None) -> Committed | None:
    """The dataset and its committed watermark, or None if no batch was ever committed.

    With ``shard``, that shard's watermark (a dataset of several shards loads each with
    its own); without, the highest of any.
    """
    only = "" if shard is None else "AND shard = %(shard)s "
    row = cursor.execute(
        "SELECT scenario_name, scenario_digest, seed, code_version, watermark FROM runs "  # noqa: S608 - constants
        f"WHERE watermark IS NOT NULL {only}ORDER BY watermark DESC, run_id DESC LIMIT 1",
        {"shard": shard},
    ).fetchone()
    if row is None:
        return None
    name, digest, seed, version, watermark = row
    identity = DatasetIdentity(str(name), str(digest), int(seed), str(version))
    return Committed(identity=identity, watermark=to_micros(watermark))


def committed_by_shard(cursor: psycopg.Cursor[Any]) -> dict[int, int | None]:
    """Each shard's committed watermark (None: started, nothing committed yet)."""
    rows = cursor.execute(
        "SELECT shard, max(watermark) FROM runs GROUP BY shard ORDER BY shard"
    ).fetchall()
    return {int(shard): None if last is None else to_micros(last) for shard, last in rows}


def has_data_rows(cursor: psycopg.Cursor[Any]) -> list[str]:
    """Data tables that hold at least one row."""
    return [
        table
        for table in DATA_TABLES
        if cursor.execute(f"SELECT EXISTS (SELECT FROM {table})").fetchone() == (True,)  # noqa: S608
    ]


def check_writable(
    cursor: psycopg.Cursor[Any], wanted: DatasetIdentity, url: str, *, replace: bool
) -> int | None:
    """The watermark to resume after, or None to start from scratch.

    Raises :class:`DatasetMismatchError` when the database holds something else and
    ``replace`` is False.
    """
    committed = read_committed(cursor)
    where = mask_password(url)
    if replace:
        return None
    if committed is None:
        filled = has_data_rows(cursor)
        if filled:
            msg = (
                f"the database {where} has rows in {', '.join(filled)} but no fauxsim run "
                "is recorded in its runs table, so they were not written by fauxsim run. "
                "Pass --replace to delete them and write this scenario, or use another "
                "database (--db / DATABASE_URL)."
            )
            raise DatasetMismatchError(msg)
        return None
    if not committed.identity.same_data_as(wanted):
        msg = (
            f"the database {where} holds {committed.identity.describe()}, written up to "
            f"{to_rfc3339(committed.watermark)}; you asked for {wanted.describe()}. "
            "Pass --replace to delete it and write the new one, or use another database "
            "(--db / DATABASE_URL)."
        )
        raise DatasetMismatchError(msg)
    return committed.watermark


def _hold(connection: psycopg.Connection[Any], lock: str, keys: tuple[int, ...]) -> bool:
    """Take the session-level advisory lock ``lock`` (its SQL) on ``keys``, waiting a moment
    first: a run that was just stopped (Ctrl-C, a killed process) holds it until its server
    process notices the connection is gone. Whether it was taken."""
    try:
        connection.execute(f"SET lock_timeout = '{WRITER_LOCK_WAIT_MS}ms'")
        connection.execute(lock, keys)
    except psycopg.errors.LockNotAvailable:
        connection.rollback()  # and the SET with it
        return False
    connection.execute("RESET lock_timeout")
    connection.commit()  # the lock is the session's: it outlives the transaction
    return True


def take_shard_lock(connection: psycopg.Connection[Any], url: str, shard: int) -> None:
    """Hold ``shard`` for this session (the connection that loads it), or refuse: the run's
    writer lock goes with the command, but a task it left running on a Dask cluster goes
    on loading the shard, and a second loader of it would interleave their batches."""
    if not _hold(connection, "SELECT pg_advisory_lock(%s, %s)", (SHARD_LOCKS, shard)):
        raise DatasetMismatchError(_shards_busy([shard], url))


def _shards_busy(shards: list[int], url: str) -> str:
    listed = ", ".join(map(str, shards))
    one = len(shards) == 1
    return (
        f"shard{'' if one else 's'} {listed} of {mask_password(url)} "
        f"{'is' if one else 'are'} being loaded by another process (a task of an earlier run "
        "still running on a Dask cluster, say): wait for it to end, or stop it, then run "
        "the command again"
    )


# The shards loading in this database (``take_shard_lock``), as pg_locks shows them: two int
# keys are classid and objid, with objsubid 2.
_SHARDS_LOADING = (
    "SELECT l.objid FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted "
    "AND l.objsubid = 2 AND l.classid = %(key)s "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "ORDER BY l.objid"
)


def take_writer_lock(connection: psycopg.Connection[Any], url: str) -> None:
    """Hold the database's writer lock for this session, or say who holds it. Refused too
    while any shard is being loaded: the command that held the lock may be gone while its
    tasks on a Dask cluster still load (a run would mark them interrupted, a replace or a
    reset would empty the tables under them)."""
    if _hold(connection, "SELECT pg_advisory_lock(%s)", (WRITER_LOCK,)):
        loading = [int(row[0]) for row in connection.execute(_SHARDS_LOADING, {"key": SHARD_LOCKS})]
        connection.commit()
        if not loading:
            return
        connection.execute("SELECT pg_advisory_unlock(%s)", (WRITER_LOCK,))
        connection.commit()
        raise DatasetMismatchError(_shards_busy(loading, url))
    holder = connection.execute(_WRITER_LOCK_HOLDER, WRITER_LOCK_PARTS).fetchone()
    connection.rollback()
    who = f" (server process {holder[0]}, {holder[1] or 'unknown client'})" if holder else ""
    msg = (
        f"another fauxsim run is writing to {mask_password(url)}{who}. Wait for it to "
        "finish or stop it; two runs into one database would interleave their batches."
    )
    raise DatasetMismatchError(msg)


def shards_loading(cursor: psycopg.Cursor[Any]) -> set[int]:
    """The shards some session holds (``take_shard_lock``): being loaded right now, maybe
    by a task a killed command left running on a Dask cluster."""
    return {int(row[0]) for row in cursor.execute(_SHARDS_LOADING, {"key": SHARD_LOCKS})}


def writer_lock_held(cursor: psycopg.Cursor[Any]) -> bool:
    """Whether some session holds the writer lock: a run is writing right now."""
    row = cursor.execute(WRITER_LOCK_TAKEN, WRITER_LOCK_PARTS).fetchone()
    return bool(row and row[0])


def mark_interrupted(cursor: psycopg.Cursor[Any]) -> None:
    """Runs still marked running lost their process (we hold the writer lock now)."""
    cursor.execute(
        "UPDATE runs SET status = 'interrupted', updated_at = now() WHERE status = 'running'"
    )


def empty_dataset(cursor: psycopg.Cursor[Any]) -> None:
    """Delete every data row and the ledger (API tokens stay)."""
    cursor.execute(f"TRUNCATE {', '.join(DATA_TABLES)}, runs RESTART IDENTITY")


def start_run(
    cursor: psycopg.Cursor[Any], identity: DatasetIdentity, until: int, shard: Shard | None = None
) -> int:
    row = cursor.execute(
        "INSERT INTO runs (scenario_name, scenario_digest, seed, code_version, status, until_at, "
        "shard, shards) VALUES (%s, %s, %s, %s, 'running', %s, %s, %s) RETURNING run_id",
        (
            identity.scenario_name,
            identity.scenario_digest,
            identity.seed,
            identity.code_version,
            to_datetime(until),
            0 if shard is None else shard.index,
            1 if shard is None else shard.count,
        ),
    ).fetchone()
    if row is None:  # pragma: no cover - INSERT ... RETURNING always returns the row
        msg = "INSERT INTO runs returned nothing"
        raise RuntimeError(msg)
    return int(row[0])


def advance(cursor: psycopg.Cursor[Any], run_id: int, watermark: int, rows: int) -> None:
    """Record a batch; runs in the batch's own transaction, so both commit or neither."""
    cursor.execute(
        "UPDATE runs SET watermark = %s, batches = batches + 1, "
        "rows_written = rows_written + %s, updated_at = now() WHERE run_id = %s",
        (to_datetime(watermark), rows, run_id),
    )


def finish(cursor: psycopg.Cursor[Any], run_id: int) -> None:
    cursor.execute(
        "UPDATE runs SET status = 'complete', updated_at = now() WHERE run_id = %s", (run_id,)
    )
