"""Create or upgrade the schema with Alembic, run in code (users need no alembic.ini).

Every command that touches the database calls :func:`upgrade` first, so a database
written by an older fauxsim is upgraded in place instead of dropped. Before migrating,
we refuse a database that already holds tables of ours that fauxsim did not create, or
that a newer fauxsim has migrated past what this version knows.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fauxsim.sinks.postgres.connection import (
    DatabaseError,
    connect,
    mask_password,
    sqlalchemy_url,
    translate_errors,
)

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "fauxsim_schema_version"
# The newest revision in MIGRATIONS. A database already there needs neither Alembic nor
# SQLAlchemy, which take ~0.3 s to import: every `fauxsim run --db` and its loader
# process start faster. A test checks it against Alembic's own head.
HEAD_REVISION = "0006"
# pg_advisory_xact_lock key: two commands starting together migrate one after the other.
_MIGRATION_LOCK = 0x6661_7578_6D69_67  # "fauxmig"


def alembic_config() -> Config:
    from alembic.config import Config  # noqa: PLC0415 - see HEAD_REVISION

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - see HEAD_REVISION

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the migrations folder ships with the package
        msg = f"no migrations found in {MIGRATIONS}"
        raise RuntimeError(msg)
    return head


def engine_for(url: str) -> Engine:
    """A SQLAlchemy engine whose connections come from :func:`connect` (clear errors)."""
    from sqlalchemy import create_engine  # noqa: PLC0415 - see HEAD_REVISION
    from sqlalchemy.pool import NullPool  # noqa: PLC0415

    return create_engine(
        sqlalchemy_url(url),
        creator=lambda: connect(url),
        poolclass=NullPool,
    )


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema of ``url`` to ``revision`` (the newest by default), in one transaction."""
    if revision == "head" and is_current(url):
        return
    from alembic import command  # noqa: PLC0415 - see HEAD_REVISION
    from sqlalchemy import text  # noqa: PLC0415

    engine = engine_for(url)
    try:
        with translate_errors(url, "create or upgrade the fauxsim tables in"), engine.begin() as sa:
            sa.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            refuse_foreign_database(sa, url)
            config = alembic_config()
            config.attributes["connection"] = sa
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def is_current(url: str) -> bool:
    """Whether ``url`` is at HEAD_REVISION already, asked with plain psycopg."""
    with (
        translate_errors(url, "check the fauxsim tables in"),
        connect(url) as connection,
    ):
        found = connection.execute("SELECT to_regclass(%s) IS NOT NULL", (VERSION_TABLE,))
        row = found.fetchone()
        if row is None or not row[0]:
            return False
        revision = connection.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()  # noqa: S608
        return revision == (HEAD_REVISION,)


def current_revision(sa: Connection) -> str | None:
    from sqlalchemy import inspect, text  # noqa: PLC0415 - see HEAD_REVISION

    if not inspect(sa).has_table(VERSION_TABLE):
        return None
    return sa.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()  # noqa: S608


def refuse_foreign_database(sa: Connection, url: str) -> None:
    """Raise if the database holds our table names without our version table, or is newer."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - see HEAD_REVISION
    from sqlalchemy import inspect  # noqa: PLC0415

    from fauxsim.sinks.postgres.schema import metadata  # noqa: PLC0415

    where = mask_password(url)
    revision = current_revision(sa)
    if revision is None and inspect(sa).has_table(VERSION_TABLE):
        msg = (
            f"the database {where} has fauxsim's {VERSION_TABLE} table but no revision in "
            "it, so its schema is unknown (edited by hand?). Use an empty database for "
            "fauxsim, or drop the fauxsim tables and that one."
        )
        raise DatabaseError(msg)
    if revision is None:
        ours = set(metadata.tables)
        clashing = sorted(ours & set(inspect(sa).get_table_names()))
        if clashing:
            msg = (
                f"the database {where} already has tables fauxsim did not create "
                f"({', '.join(clashing)}). Use an empty database for fauxsim "
                "(e.g. createdb fauxsim, then --db postgresql://.../fauxsim), "
                "or drop those tables if they are leftovers."
            )
            raise DatabaseError(msg)
        return
    known = {
        script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
    }
    if revision not in known:
        msg = (
            f"the database {where} was set up by a newer fauxsim (schema revision "
            f"{revision!r}; this fauxsim knows up to {head_revision()!r}). "
            "Upgrade fauxsim, or use another database."
        )
        raise DatabaseError(msg)
