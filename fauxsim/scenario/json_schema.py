"""The JSON Schema of a scenario file, for editors that complete and check YAML as you type."""

from __future__ import annotations

import json
from typing import Any

from fauxsim.scenario.model import Scenario

_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def scenario_json_schema() -> dict[str, Any]:
    """The schema of what a scenario file may contain (keys as written in YAML)."""
    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    return {"$schema": _DIALECT, **schema, "title": "Faux Genie scenario"}


def scenario_json_schema_text() -> str:
    """The schema as indented JSON text, ending with a newline."""
    return json.dumps(scenario_json_schema(), indent=2, ensure_ascii=False) + "\n"
