"""Write ``schemas/<resource>.json``, the stream schemas of tap-genie, from Genie's own.

    GENIE_TOKEN=fg_test_... python singer_schemas.py --url http://127.0.0.1:8000

Run it again when Genie's tables change (a test fails until you do). The tap would
otherwise infer each schema from the first page, and a resource that is empty or whose
column is null on that page (quirks, orders.returned_at) would lose its columns.

The Singer flavour differs from Genie's JSON Schema in two ways: JSON columns are JSON
text, since the tap sends them as strings (``except_keys`` in meltano.yml), and integers
declare their 64-bit range, so that target-duckdb makes them BIGINT, not HUGEINT.
"""

from __future__ import annotations

import argparse
import json
import os
import urllib.request
from pathlib import Path
from typing import Any

RESOURCES = (
    "products",
    "customers",
    "sessions",
    "carts",
    "cart_items",
    "orders",
    "order_line_items",
    "events",
    "quirks",
)
SCHEMAS = Path(__file__).parent / "schemas"
INT64_MAX = 2**63 - 1


def singer_property(field: dict[str, Any]) -> dict[str, Any]:
    types = field["type"] if isinstance(field["type"], list) else [field["type"]]
    kinds = ["string" if kind in {"object", "array"} else kind for kind in types]
    singer: dict[str, Any] = {"type": kinds if len(kinds) > 1 else kinds[0]}
    if "format" in field:
        singer["format"] = field["format"]
    if "integer" in kinds:
        singer["maximum"] = INT64_MAX
    return singer


def singer_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """One stream's Singer schema from the JSON Schema at ``/v1/schemas/{resource}``."""
    properties = {name: singer_property(field) for name, field in schema["properties"].items()}
    return {"type": "object", "properties": properties}


def fetch_schema(base_url: str, token: str, resource: str) -> dict[str, Any]:
    url = f"{base_url.rstrip('/')}/v1/schemas/{resource}"
    if not url.startswith(("http://", "https://")):
        raise SystemExit(f"--url must be an http(s) URL, got {base_url!r}")
    headers = {"Authorization": f"Bearer {token}"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - http(s), checked
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - the same
        schema: dict[str, Any] = json.load(answer)
    return schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("GENIE_URL", "http://localhost:8000"))
    arguments = parser.parse_args()
    token = os.environ.get("GENIE_TOKEN")
    if not token:
        parser.error("set GENIE_TOKEN to a token from `fauxsim token create --scopes read:all`")
    SCHEMAS.mkdir(exist_ok=True)
    for resource in RESOURCES:
        schema = singer_schema(fetch_schema(arguments.url, token, resource))
        (SCHEMAS / f"{resource}.json").write_text(json.dumps(schema, indent=2) + "\n")
        print(f"wrote schemas/{resource}.json")


if __name__ == "__main__":
    main()
