"""``fauxsim db status | url | reset | migrate | stop``: look after the dataset's database.

Every command takes ``--db``; without it they use ``$DATABASE_URL``, else the embedded
Postgres (started if needed, except by ``stop``). All but ``url`` and ``stop`` bring the
schema up to date first.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from cyclopts import App
from rich.table import Table

from cli.console import console
from fauxsim.errors import UsageError

if TYPE_CHECKING:
    from fauxsim.sinks.postgres.status import DatabaseStatus

db_app = App(name="db", help="Inspect, reset or locate the database fauxsim writes to.")


def _resolve(db: str | None) -> str:
    # Imported here so that `fauxsim --help` does not load the database stack.
    from fauxsim.sinks.postgres.connection import resolve_database_url  # noqa: PLC0415

    return resolve_database_url(db)


@db_app.command
def status(*, db: str | None = None) -> None:
    """Show the scenario, seed and watermark of the dataset, and the rows per table.

    Parameters
    ----------
    db
        Postgres URL (default: $DATABASE_URL, else the embedded database).
    """
    from fauxsim.sinks.postgres.connection import mask_password  # noqa: PLC0415
    from fauxsim.sinks.postgres.status import database_status  # noqa: PLC0415

    url = _resolve(db)
    found = database_status(url)
    # soft_wrap: a URL stays on one line, whatever the terminal width, to copy it whole.
    console.print(f"database   {mask_password(url)}", highlight=False, soft_wrap=True)
    _print_dataset(found)
    table = Table()
    table.add_column("table")
    table.add_column("rows", justify="right")  # now; "rows written" counts every version
    for name, count in found.rows.items():
        table.add_row(name, f"{count:,}")
    console.print(table)


def _print_dataset(found: DatabaseStatus) -> None:
    from fauxsim.clock import to_rfc3339  # noqa: PLC0415

    if found.committed is None:
        console.print("dataset    none yet: `fauxsim run <scenario>` writes one")
        return
    identity = found.committed.identity
    console.print(
        f"scenario   {identity.scenario_name} (digest {identity.scenario_digest[:12]})\n"
        f"seed       {identity.seed}\n"
        f"written by fauxsim {identity.code_version}",
        highlight=False,
    )
    if found.shards is None:
        console.print(
            f"watermark  {to_rfc3339(found.committed.watermark)} (everything before it is "
            "committed)",
            highlight=False,
        )
    else:
        _print_shards(found)
    last = found.last_run
    if last is not None:
        target = "" if last.until is None else f", target {to_rfc3339(last.until)}"
        # Of several shards, each loads in a run of its own: say whose this is.
        whose = "" if found.shards is None else f" (shard {last.shard})"
        console.print(
            f"last run   #{last.run_id}{whose} {last.status}{target}, {last.batches:,} batches, "
            f"{last.rows_written:,} rows written, started {last.started_at:%Y-%m-%d %H:%M:%S %Z}",
            highlight=False,
        )
        if last.status == "interrupted" and last.unfinished:
            console.print(
                "           it stopped before its target: run the same command again to resume",
                highlight=False,
            )


def _print_shards(found: DatabaseStatus) -> None:
    """A dataset of several shards: where each stands (they load in parallel)."""
    from fauxsim.clock import to_rfc3339  # noqa: PLC0415

    standing = found.dataset_watermark
    overall = "not every shard has committed yet" if standing is None else (
        f"{to_rfc3339(standing)} (everything before it is committed, in every shard)"
    )  # fmt: skip
    console.print(f"watermark  {overall}", highlight=False)
    console.print(f"shards     {found.shard_count}, each loaded with its own watermark:")
    shards = found.shards or {}
    for index in range(found.shard_count):
        mark = shards.get(index)
        console.print(
            f"  shard {index:>3}  {'nothing committed' if mark is None else to_rfc3339(mark)}",
            highlight=False,
        )


@db_app.command
def url(*, db: str | None = None) -> None:
    """Print the database URL, password included, for psql, dlt or DBeaver.

    With no --db and no $DATABASE_URL this starts the embedded Postgres if it is not
    running, so the URL works as soon as it is printed.

    Parameters
    ----------
    db
        Postgres URL (default: $DATABASE_URL, else the embedded database).
    """
    print(_resolve(db))  # noqa: T201 - stdout alone, so `psql "$(fauxsim db url)"` works


@db_app.command
def reset(*, db: str | None = None, yes: bool = False) -> None:
    """Delete the dataset: every data row and the runs ledger. API tokens are kept.

    Parameters
    ----------
    db
        Postgres URL (default: $DATABASE_URL, else the embedded database).
    yes
        Do not ask for confirmation (needed when not run from a terminal).
    """
    from fauxsim.sinks.postgres.connection import mask_password  # noqa: PLC0415
    from fauxsim.sinks.postgres.status import reset_database  # noqa: PLC0415

    target = _resolve(db)
    where = mask_password(target)
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError(f"db reset deletes every row in {where}; pass --yes to confirm")
        # markup=False: "[y/N]" would otherwise be read as a style tag and vanish.
        answer = console.input(f"Delete every row of the dataset in {where}? [y/N] ", markup=False)
        if answer.strip().lower() not in {"y", "yes"}:
            console.print("nothing deleted")
            return
    reset_database(target)
    console.print(
        f"emptied {where}: data tables and runs ledger (API tokens kept)",
        highlight=False,
        soft_wrap=True,
    )


@db_app.command
def migrate(*, db: str | None = None) -> None:
    """Create the tables, or upgrade them to this fauxsim's schema (runs do it too).

    Parameters
    ----------
    db
        Postgres URL (default: $DATABASE_URL, else the embedded database).
    """
    from fauxsim.sinks.postgres.connection import mask_password  # noqa: PLC0415
    from fauxsim.sinks.postgres.migrate import head_revision, upgrade  # noqa: PLC0415

    target = _resolve(db)
    upgrade(target)
    console.print(
        f"{mask_password(target)} is at schema revision {head_revision()}",
        highlight=False,
        soft_wrap=True,
    )


@db_app.command
def stop() -> None:
    """Stop the embedded Postgres (it keeps running between commands otherwise)."""
    from fauxsim.sinks.postgres.embedded import default_root, stop_embedded_server  # noqa: PLC0415

    if stop_embedded_server():
        console.print(f"stopped the embedded Postgres in {default_root()}")
    else:
        console.print("the embedded Postgres was not running")
