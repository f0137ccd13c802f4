"""A real client: dlt's rest_api source, configured only, against Genie under uvicorn.

The configuration is the one shipped in ``examples/dlt_pipeline.py``. One test extends
a dataset with the engine itself (``run_into`` with ``until``, what ``fauxsim run
--until`` does); another writes changed and new rows by hand, to pin exact counts.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import logging
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from api_support import issue, live_server

from fauxsim.runner import run_into
from fauxsim.scenario.model import Scenario
from fauxsim.sinks.postgres.sink import open_database_sink
from fauxsim.tables import ColumnType
from genie_litestar.resources.catalog import RESOURCES

dlt = pytest.importorskip("dlt", reason="dlt[duckdb] is a test dependency of the dlt check")
duckdb = pytest.importorskip("duckdb")

EXAMPLE = Path(__file__).parents[2] / "examples" / "dlt_pipeline.py"
EXTENSION_TIME = "2024-12-15T12:00:00+00:00"


def _example():
    spec = importlib.util.spec_from_file_location("genie_dlt_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pipeline(tmp_path: Path, name: str):
    return dlt.pipeline(
        pipeline_name=name,
        destination=dlt.destinations.duckdb(str(tmp_path / f"{name}.duckdb")),
        dataset_name="genie",
        pipelines_dir=str(tmp_path / "pipelines"),
    )


def _normalise(value):
    if isinstance(value, str) and value[:1] in "{[":  # a JSON column, as duckdb returns it
        value = json.loads(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, float):
        return round(value, 6)
    return value


def _postgres_rows(url: str, table: str, columns: list[str], where: str = "") -> set[tuple]:
    column_list = ", ".join(columns)
    with psycopg.connect(url) as connection:
        rows = connection.execute(f"SELECT {column_list} FROM {table} {where}").fetchall()  # noqa: S608
    return {tuple(_normalise(value) for value in row) for row in rows}


def _duckdb_tables(pipeline) -> dict[str, tuple[list[str], set[tuple]]]:
    """Each loaded table's shared data columns and rows (dlt's own columns left out)."""
    loaded = {}
    with pipeline.sql_client() as client:
        for name in RESOURCES:
            spec = RESOURCES[name].spec
            present = {
                row[0]
                for row in client.execute_sql(
                    "SELECT column_name FROM information_schema.columns"
                    " WHERE table_schema = %s AND table_name = %s",
                    client.dataset_name,
                    name,
                )
            }
            if not present:  # dlt creates no table for a resource that returned no rows
                loaded[name] = ([], set())
                continue
            columns = [c.name for c in spec.columns if c.name in present]
            rows = client.execute_sql(f"SELECT {', '.join(columns)} FROM {name}")  # noqa: S608
            loaded[name] = (columns, {tuple(_normalise(v) for v in row) for row in rows})
    return loaded


def _assert_duckdb_equals_postgres(pipeline, url: str, where: str = "") -> None:
    for name, (columns, rows) in _duckdb_tables(pipeline).items():
        spec = RESOURCES[name].spec
        if not columns:  # nothing loaded: the source table must be empty too
            with psycopg.connect(url) as connection:
                query = f"SELECT count(*) FROM {name}"  # noqa: S608 - a table name from the specs
                assert connection.execute(query).fetchone() == (0,), name
            continue
        assert columns == [c.name for c in spec.columns], f"{name} lacks columns"
        filter_sql = where.format(column=RESOURCES[name].paging_column)
        assert rows == _postgres_rows(url, name, columns, filter_sql), name


def _extend(url: str) -> dict[str, int]:
    """New rows and changed rows later in simulated time; returns rows changed per table."""
    changed = {}
    with psycopg.connect(url) as connection:
        for name, resource in RESOURCES.items():
            key, paging = resource.id_column, resource.paging_column
            if resource.spec.append_only:
                columns = ", ".join(resource.spec.column_names)
                select = columns.replace(key, f"{key} + 100000").replace(
                    paging, f"'{EXTENSION_TIME}'::timestamptz"
                )
                count = connection.execute(
                    f"INSERT INTO {name} ({columns}) SELECT {select} FROM {name}"  # noqa: S608
                    f" WHERE {key} <= 40"
                ).rowcount
            else:
                count = connection.execute(
                    f"UPDATE {name} SET {paging} = %s WHERE {key} %% 50 = 0",  # noqa: S608
                    (EXTENSION_TIME,),
                ).rowcount
            changed[name] = count
    return changed


@contextmanager
def _dlt_warnings():
    """dlt's warnings while the block runs (its logger does not propagate to pytest's)."""
    caught: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = caught.append  # type: ignore[method-assign]
    dlt_logger = logging.getLogger("dlt")
    dlt_logger.addHandler(handler)
    try:
        yield caught
    finally:
        dlt_logger.removeHandler(handler)


def _assert_flat_with_json_columns(pipeline) -> None:
    """One table per resource, no child tables; JSON columns are one json column each."""
    tables = pipeline.default_schema.data_table_names()
    assert [name for name in tables if "__" in name] == []
    for name in tables:
        loaded = pipeline.default_schema.get_table_columns(name)
        for column in RESOURCES[name].spec.columns:
            if column.type is ColumnType.JSON:
                assert loaded[column.name]["data_type"] == "json", (name, column.name)


@pytest.mark.slow
def test_dlt_loads_everything_then_only_what_changed(fresh_database, tmp_path):
    example = _example()
    assert set(example.PRIMARY_KEYS) == set(RESOURCES)
    token = issue(fresh_database)
    pipeline = _pipeline(tmp_path, "genie_incremental")
    with live_server(fresh_database) as base_url:
        first = pipeline.run(example.genie_source(base_url, token))
        assert not first.has_failed_jobs
        _assert_duckdb_equals_postgres(pipeline, fresh_database)

        changed = _extend(fresh_database)
        second = pipeline.run(example.genie_source(base_url, token))
    assert not second.has_failed_jobs
    counts = pipeline.last_trace.last_normalize_info.row_counts
    assert {name: counts.get(name, 0) for name in RESOURCES} == changed
    _assert_duckdb_equals_postgres(pipeline, fresh_database)


@pytest.mark.slow
def test_dlt_backfill_with_end_value_loads_exactly_the_window(shared_database, tmp_path):
    example = _example()
    token = issue(shared_database)
    start, end = "2024-11-01T01:00:00Z", "2024-11-01T02:00:00Z"
    pipeline = _pipeline(tmp_path, "genie_backfill")
    with live_server(shared_database) as base_url:
        info = pipeline.run(
            example.genie_source(base_url, token, initial_value=start, end_value=end)
        )
    assert not info.has_failed_jobs
    window = f"WHERE {{column}} >= '{start}' AND {{column}} < '{end}'"
    _assert_duckdb_equals_postgres(pipeline, shared_database, window)
    counts = pipeline.last_trace.last_normalize_info.row_counts
    assert counts["orders"] == 3 * 97  # groups 98 to 194 start in the hour; three rows each


def _engine_scenario():
    return Scenario.model_validate(
        {
            "name": "dlt-engine",
            "seed": 5,
            "start": "2024-03-01",
            "end": "2024-03-04",
            "traffic": {"sessions_per_day": 400},
            "audience": {"existing_customers": 40},
            "catalog": {"generate": {"count": 20}},
        }
    )


def _run_engine(url: str, until: dt.date) -> None:
    scenario = _engine_scenario()
    with open_database_sink(url, scenario, until=until) as sink:
        run_into(sink, scenario, until=until, resume_after=sink.resume_after)


def _rows_after(url: str, pipeline) -> dict[str, int]:
    """Rows of each table changed after the largest paging time dlt has loaded."""
    counts = {}
    with pipeline.sql_client() as client:
        loaded = {
            row[0]
            for row in client.execute_sql(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                client.dataset_name,
            )
        }
        for name, resource in RESOURCES.items():
            loaded_max = None  # a resource that returned no rows has no table yet
            if name in loaded:
                query = f"SELECT max({resource.paging_column}) FROM {name}"  # noqa: S608
                (loaded_max,) = client.execute_sql(query)[0]
            paging = resource.paging_column
            with psycopg.connect(url) as connection:
                (count,) = connection.execute(
                    f"SELECT count(*) FROM {name} WHERE %(max)s::timestamptz IS NULL"  # noqa: S608
                    f" OR {paging} > %(max)s::timestamptz",
                    {"max": loaded_max},
                ).fetchone()
            counts[name] = count
    return counts


@pytest.mark.slow
def test_dlt_follows_the_engine_extending_the_dataset_with_until(postgres_url, tmp_path):
    """The real thing: `fauxsim run --until` in process, dlt before and after an extension."""
    example = _example()
    _run_engine(postgres_url, dt.date(2024, 3, 2))
    token = issue(postgres_url)
    pipeline = _pipeline(tmp_path, "genie_engine")
    with live_server(postgres_url) as base_url, _dlt_warnings() as warnings:
        assert not pipeline.run(example.genie_source(base_url, token)).has_failed_jobs
        assert [record.getMessage() for record in warnings] == []
        _assert_flat_with_json_columns(pipeline)
        _assert_duckdb_equals_postgres(pipeline, postgres_url)

        _run_engine(postgres_url, dt.date(2024, 3, 3))
        changed = _rows_after(postgres_url, pipeline)
        assert sum(changed.values()) > 0
        assert not pipeline.run(example.genie_source(base_url, token)).has_failed_jobs
    counts = pipeline.last_trace.last_normalize_info.row_counts
    assert {name: counts.get(name, 0) for name in RESOURCES} == changed
    _assert_duckdb_equals_postgres(pipeline, postgres_url)
