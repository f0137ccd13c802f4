"""A run leaves the planner statistics of the tables it changed fresh (and a long or live
run keeps them within a factor of two on the way), so Genie's page queries walk their
(paging column, id) index even where autovacuum is off or behind."""

from __future__ import annotations

import datetime as dt
import json

import psycopg
from psycopg import sql

from fauxsim.runner import generate
from fauxsim.sinks.postgres.ledger import DATA_TABLES
from fauxsim.sinks.postgres.migrate import upgrade
from fauxsim.sinks.postgres.sink import StatisticsKeeper, open_database_sink
from genie_litestar.resources.queries import _page_query
from tests.integration.scenario_fixtures import quirky_scenario
from tests.integration.test_postgres_runs import run_in_process


def _statistics(url: str) -> dict[str, tuple[float, int]]:
    """Per data table: the planner's row estimate and the real row count."""
    with psycopg.connect(url) as connection:
        return {
            table: (
                connection.execute(
                    "SELECT reltuples FROM pg_class WHERE oid = %s::regclass", (table,)
                ).fetchone()[0],
                connection.execute(
                    sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
                ).fetchone()[0],
            )
            for table in DATA_TABLES
        }


def _events_page_plan(url: str) -> str:
    query = _page_query("events", has_since=False, has_after=True)
    start = dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC)
    params = {
        "horizon": dt.datetime(2100, 1, 1, tzinfo=dt.UTC),
        "after": start,
        "after_id": 0,
        "limit": 101,
    }
    with psycopg.connect(url) as connection:
        row = connection.execute(sql.SQL("EXPLAIN (FORMAT JSON) ") + query, params).fetchone()
    return json.dumps(row[0])


def test_a_run_leaves_fresh_statistics_and_the_page_query_uses_the_index(postgres_url):
    upgrade(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        for table in DATA_TABLES:
            connection.execute(
                sql.SQL("ALTER TABLE {} SET (autovacuum_enabled = false)").format(
                    sql.Identifier(table)
                )
            )
    # Statistics taken while the tables were small, as an early autovacuum would leave them.
    run_in_process(postgres_url, until=dt.date(2024, 3, 2))
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("ANALYZE")
    small = _statistics(postgres_url)
    run_in_process(postgres_url)  # the rest of the scenario: the tables grow
    statistics = _statistics(postgres_url)
    assert statistics["events"][1] > 2 * small["events"][1]  # it did grow
    for table, (estimate, count) in statistics.items():
        assert abs(estimate - count) <= 0.05 * count + 1, (table, estimate, count)
    plan = _events_page_plan(postgres_url)
    assert "ix_events_paging" in plan
    assert '"Sort"' not in plan


def test_a_long_run_refreshes_statistics_on_the_way_not_only_at_its_end(postgres_url):
    """A live run never reaches its end: tables that grew are analyzed between batches."""
    upgrade(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        for table in DATA_TABLES:
            connection.execute(
                sql.SQL("ALTER TABLE {} SET (autovacuum_enabled = false)").format(
                    sql.Identifier(table)
                )
            )
    scenario = quirky_scenario()
    sink = open_database_sink(postgres_url, scenario)
    try:
        for batch in generate(scenario, batch_rows=500):
            sink.write(batch)
        sink.flush()  # every batch committed; the run is not closed
        statistics = _statistics(postgres_url)
    finally:
        sink.abort()
    estimate, count = statistics["events"]
    assert count > StatisticsKeeper.MIN_ROWS  # big enough to have been analyzed on the way
    assert count / 2 <= estimate <= count  # never more than twice behind
