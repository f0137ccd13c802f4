"""The exported JSON Schema is valid and agrees with the model, so editors can rely on it."""

from __future__ import annotations

import json

import jsonschema
import pytest

from fauxsim.scenario.bundled import bundled_folder, bundled_scenarios
from fauxsim.scenario.json_schema import scenario_json_schema, scenario_json_schema_text
from fauxsim.scenario.loading import load_scenario, scenario_digest
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


def _properties(schema):
    """Every property declared at the top and in each definition, as (path, its schema)."""
    owners = {"": schema, **schema.get("$defs", {})}
    for owner, node in owners.items():
        for name, child in node.get("properties", {}).items():
            yield f"{owner}.{name}".lstrip("."), child


def test_every_property_has_a_description_for_editors():
    """What `fauxsim schema` prints teaches each key on hover: none is left undescribed."""
    schema = json.loads(scenario_json_schema_text())
    found = list(_properties(schema))
    undescribed = sorted({path for path, child in found if not child.get("description")})
    assert len(found) > 100
    assert undescribed == [], f"properties without a description: {', '.join(undescribed)}"


@pytest.mark.parametrize("key", ["start", "end", "timezone", "seed"])
def test_the_first_keys_a_learner_writes_say_their_form_and_an_example(key):
    description = scenario_json_schema()["properties"][key]["description"]
    assert "e.g." in description


def test_descriptions_do_not_change_the_scenario_digest():
    """The digest is the dataset's identity: pinned for the bundled scenarios.

    It changes when what shapes the data changes (a default, a new key with a value), never
    with words in the schema. Update it together with the golden snapshots, on purpose.
    """
    digests = {
        name: scenario_digest(load_scenario(bundled_folder() / f"{name}.yaml"))
        for name in ("black_friday", "steady_state", "flash_sale")
    }
    assert digests == {
        "black_friday": "d1434018a02805f46c1bb5e28ffc23db8a5a79ed8eb7a0082b41a12c903f9f9c",
        "steady_state": "f8618f8c1c4d5b76a3df87725866c0375e780d97c7935d65e781caf917ddbfdc",
        "flash_sale": "0be9c2c008cbf1a21c12ffa00cf4fe3b74ccc98b1731fbe1eb3ece353d068bae",
    }
