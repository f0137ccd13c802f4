"""The Meltano example's stream schemas are Genie's own, in the Singer flavour.

``examples/meltano/schemas/*.json`` are written by ``examples/meltano/singer_schemas.py``
from ``/v1/schemas/{resource}``; when a table changes, this fails until they are
written again. (The Meltano run itself is tests/integration/test_meltano.py.)
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from genie_litestar.resources.catalog import RESOURCES, json_schema

EXAMPLE = Path(__file__).parents[2] / "examples" / "meltano"


def _singer_schemas():
    spec = importlib.util.spec_from_file_location("singer_schemas", EXAMPLE / "singer_schemas.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_example_lists_every_resource():
    assert set(_singer_schemas().RESOURCES) == set(RESOURCES)
    assert {path.stem for path in (EXAMPLE / "schemas").glob("*.json")} == set(RESOURCES)


@pytest.mark.parametrize("name", list(RESOURCES))
def test_stored_schema_is_genies_in_the_singer_flavour(name):
    stored = json.loads((EXAMPLE / "schemas" / f"{name}.json").read_text())
    assert stored == _singer_schemas().singer_schema(json_schema(RESOURCES[name])), (
        f"python examples/meltano/singer_schemas.py rewrites schemas/{name}.json"
    )


def test_json_columns_are_text_and_integers_64_bit():
    events = _singer_schemas().singer_schema(json_schema(RESOURCES["events"]))["properties"]
    assert events["properties"] == {"type": ["string", "null"]}
    assert events["event_id"] == {"type": "integer", "maximum": 2**63 - 1}
    assert events["received_at"] == {"type": "string", "format": "date-time"}
