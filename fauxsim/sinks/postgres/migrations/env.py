"""Alembic environment: runs on the connection ``fauxsim.sinks.postgres.migrate`` passes.

There is no alembic.ini: ``migrate.upgrade`` builds the configuration in code and runs
every migration inside its own transaction, under an advisory lock.
"""

from __future__ import annotations

from alembic import context

from fauxsim.sinks.postgres.schema import metadata

VERSION_TABLE = "fauxsim_schema_version"  # not "alembic_version": the user's own may exist


def _run_on_given_connection() -> None:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_run_on_given_connection()
