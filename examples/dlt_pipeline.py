"""Load every Genie resource into DuckDB with dlt's ``rest_api`` source: configuration only.

    fauxsim token create --name dlt --scopes read:all      # prints fg_test_...
    GENIE_TOKEN=fg_test_... python examples/dlt_pipeline.py

Run it again later and only rows changed since the previous run are requested
(``updated_since`` = the largest ``updated_at`` seen) and merged on the primary key.
Pass a closed window (``--from`` / ``--to``) to backfill exactly that window.

Events never change; they page and filter on ``received_at`` instead of ``updated_at``.

Columns are typed from Genie's own schemas (``/v1/schemas/{resource}``), tables stay flat
(JSON columns load as one json column) and rows travel as parquet files: the destination
loads them in bulk instead of through INSERT statements.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

try:
    import dlt
    from dlt.sources.helpers import requests  # requests, retrying as dlt's own calls do
    from dlt.sources.rest_api import rest_api_source
except ImportError as missing:  # the plain install leaves the examples' tools out
    raise SystemExit(f"{missing.name} is missing: pip install -e '.[examples]'") from None

if TYPE_CHECKING:
    from dlt.sources import DltSource

# resource -> primary key; every resource pages on updated_at, except events.
PRIMARY_KEYS = {
    "products": "product_id",
    "customers": "customer_id",
    "sessions": "session_id",
    "carts": "cart_id",
    "cart_items": "cart_item_id",
    "orders": "order_id",
    "order_line_items": "line_item_id",
    "events": "event_id",
    "quirks": "quirk_id",  # the injected data-quality traps, to check the load against
}
CURSOR_FIELDS = {"events": "received_at"}
# Genie's JSON schema types (GET /v1/schemas/{resource}) as dlt's. Typed up front, an
# object column stays one json column (left to itself dlt unnests it into child tables
# such as events__properties__lines__list) and a column that is null on every row of a
# load still gets its type (dlt would warn and leave it out).
DLT_TYPES = {
    "integer": "bigint",
    "number": "double",
    "boolean": "bool",
    "string": "text",
    "object": "json",
    "array": "json",
}
BEGINNING = "1970-01-01T00:00:00Z"


def columns_of(schema: dict[str, Any]) -> dict[str, dict[str, str]]:
    """dlt column hints from one resource's JSON schema: each column's data type."""
    columns = {}
    for name, field in schema["properties"].items():
        types = field["type"] if isinstance(field["type"], list) else [field["type"]]
        (kind,) = (each for each in types if each != "null")
        data_type = "timestamp" if field.get("format") == "date-time" else DLT_TYPES[kind]
        columns[name] = {"data_type": data_type}
    return columns


def genie_columns(base_url: str, token: str) -> dict[str, dict[str, dict[str, str]]]:
    """Every resource's column hints, read from the schemas Genie serves."""
    headers = {"Authorization": f"Bearer {token}"}
    columns = {}
    for name in PRIMARY_KEYS:
        answer = requests.get(f"{base_url.rstrip('/')}/v1/schemas/{name}", headers=headers)
        answer.raise_for_status()
        columns[name] = columns_of(answer.json())
    return columns


def genie_config(
    base_url: str,
    token: str,
    *,
    columns: dict[str, dict[str, dict[str, str]]] | None = None,
    initial_value: str = BEGINNING,
    end_value: str | None = None,
) -> dict[str, Any]:
    """The whole integration: bearer auth, a cursor paginator, incremental on updated_at."""
    resources = []
    for name, primary_key in PRIMARY_KEYS.items():
        incremental: dict[str, Any] = {
            "start_param": "updated_since",  # inclusive, like dlt's closed range start
            "end_param": "updated_before",  # exclusive, like dlt's open range end
            "cursor_path": CURSOR_FIELDS.get(name, "updated_at"),
            "initial_value": initial_value,
        }
        if end_value is not None:
            incremental["end_value"] = end_value
        resource: dict[str, Any] = {
            "name": name,
            "primary_key": primary_key,
            "write_disposition": "append" if name == "events" else "merge",
            "endpoint": {"path": name, "incremental": incremental},
        }
        if columns is not None:
            resource["columns"] = columns[name]
        resources.append(resource)
    return {
        "client": {
            "base_url": f"{base_url.rstrip('/')}/v1/",
            "auth": {"type": "bearer", "token": token},
            "paginator": {
                "type": "cursor",
                "cursor_path": "next_cursor",
                "cursor_param": "cursor",
            },
        },
        "resource_defaults": {
            "endpoint": {"data_selector": "data", "params": {"limit": 1000}},
            # Flat tables (every column is Genie's), written as parquet files that the
            # destination loads in bulk: much faster than dlt's default INSERT statements.
            "max_table_nesting": 0,
            "file_format": "parquet",
        },
        "resources": resources,
    }


def genie_source(base_url: str, token: str, **window: str) -> DltSource:
    columns = genie_columns(base_url, token)
    config = genie_config(base_url, token, columns=columns, **window)
    return rest_api_source(config)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("GENIE_URL", "http://localhost:8000"))
    parser.add_argument("--from", dest="initial_value", default=BEGINNING)
    parser.add_argument("--to", dest="end_value", default=None)
    arguments = parser.parse_args()
    token = os.environ.get("GENIE_TOKEN")
    if not token:
        parser.error("set GENIE_TOKEN to a token from `fauxsim token create --scopes read:all`")
    window = {"initial_value": arguments.initial_value}
    if arguments.end_value:
        window["end_value"] = arguments.end_value
    # The dataset must not share the database file's name (genie.duckdb): duckdb would find
    # "genie" both as catalog and as schema and refuse the ambiguous reference.
    pipeline = dlt.pipeline(pipeline_name="genie", destination="duckdb", dataset_name="shop")
    print(pipeline.run(genie_source(arguments.url, token, **window)))


if __name__ == "__main__":
    main()
