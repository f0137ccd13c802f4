"""A real client: dlt's rest_api source, configured only, against Genie under uvicorn.

The configuration is the one shipped in ``examples/dlt_pipeline.py``. The dataset is
extended by writing rows into Postgres directly (new rows and changed rows, later in
simulated time, as ``fauxsim run --until`` would), standing in for the engine run.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import psycopg
import pytest
from api_support import issue, live_server

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
            # JSON columns are flattened by dlt into child columns; compare the rest.
            columns = [c.name for c in spec.columns if c.name in present]
            rows = client.execute_sql(f"SELECT {', '.join(columns)} FROM {name}")  # noqa: S608
            loaded[name] = (columns, {tuple(_normalise(v) for v in row) for row in rows})
    return loaded


def _assert_duckdb_equals_postgres(pipeline, url: str, where: str = "") -> None:
    for name, (columns, rows) in _duckdb_tables(pipeline).items():
        spec = RESOURCES[name].spec
        assert spec.primary_key in columns
        assert RESOURCES[name].paging_column in columns
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
