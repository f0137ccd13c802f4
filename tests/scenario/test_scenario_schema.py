"""The exported JSON Schema is valid and agrees with the model, so editors can rely on it."""

from __future__ import annotations

import json

import jsonschema
import pytest

from fauxsim.scenario.bundled import bundled_scenarios
from fauxsim.scenario.json_schema import scenario_json_schema, scenario_json_schema_text
from fauxsim.scenario.yaml_source import parse_yaml


def as_json_data(path):
    """A scenario file as an editor's YAML plugin sees it: JSON values, dates as text."""
    return json.loads(json.dumps(parse_yaml(path.read_text(encoding="utf-8")).data, default=str))


def test_the_schema_is_a_valid_draft_2020_12_schema():
    schema = scenario_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "Faux Genie scenario"
    assert set(schema["required"]) == {"start", "end"}


def test_the_schema_text_is_the_schema_as_json():
    assert json.loads(scenario_json_schema_text()) == scenario_json_schema()


@pytest.mark.parametrize("bundled", bundled_scenarios(), ids=lambda bundled: bundled.name)
def test_every_bundled_scenario_conforms_to_the_schema(bundled):
    jsonschema.validate(as_json_data(bundled.path), scenario_json_schema())


def test_the_schema_rejects_unknown_keys_as_the_loader_does():
    document = {"start": "2025-01-01", "end": "2025-01-08", "trafic": {}}
    with pytest.raises(jsonschema.ValidationError, match="'trafic' was unexpected"):
        jsonschema.validate(document, scenario_json_schema())
