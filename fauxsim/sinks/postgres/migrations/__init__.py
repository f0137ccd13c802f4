"""Alembic migrations of the fauxsim schema; run by ``fauxsim.sinks.postgres.migrate``."""
