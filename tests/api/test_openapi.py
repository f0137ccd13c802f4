"""The OpenAPI document, the interactive docs and the per-resource JSON Schemas."""

from __future__ import annotations

import jsonschema
import pytest

from fauxsim.events import EventType, OrderStatus
from fauxsim.tables import ORDERS
from genie_litestar.resources.catalog import RESOURCES


@pytest.fixture(scope="module")
def openapi(anonymous):
    return anonymous.get("/docs/openapi.json").json()


def test_openapi_declares_the_bearer_scheme_on_every_data_route(openapi):
    scheme = openapi["components"]["securitySchemes"]["BearerToken"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    for path, item in openapi["paths"].items():
        if path.startswith("/v1/"):
            assert item["get"]["security"] == [{"BearerToken": []}], path


def test_openapi_lists_every_resource_with_list_get_and_schema(openapi):
    for name in RESOURCES:
        assert f"/v1/{name}" in openapi["paths"]
        assert f"/v1/{name}/{{row_id}}" in openapi["paths"]
        assert f"/v1/schemas/{name}" in openapi["paths"]


def test_openapi_documents_the_problem_responses(openapi):
    responses = openapi["paths"]["/v1/orders"]["get"]["responses"]
    for status in ("400", "401", "403", "429", "503"):
        assert "application/problem+json" in responses[status]["content"], status


def test_interactive_docs_are_served(anonymous):
    response = anonymous.get("/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower()


@pytest.mark.parametrize("name", sorted(RESOURCES))
def test_served_rows_match_their_json_schema(api, name):
    schema = api.get(f"/v1/schemas/{name}").json()
    assert schema["x-primary-key"] == RESOURCES[name].id_column
    assert schema["x-paging-field"] == RESOURCES[name].paging_column
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    for row in api.get(f"/v1/{name}", params={"limit": 200}).json()["data"]:
        validator.validate(row)
    broken = {**row, "unexpected": 1}
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)


def _component(openapi, name):
    return openapi["components"]["schemas"][RESOURCES[name].row_struct.__name__]


@pytest.mark.parametrize("name", sorted(RESOURCES))
def test_every_field_of_every_resource_is_described(openapi, name):
    """The data dictionary (fauxsim/tables.py) reaches the OpenAPI components."""
    properties = _component(openapi, name)["properties"]
    expected = {column.name: column.description for column in RESOURCES[name].spec.columns}
    assert {field: schema.get("description") for field, schema in properties.items()} == expected


def test_statuses_and_event_types_are_enums_in_openapi(openapi):
    assert _component(openapi, "orders")["properties"]["status"]["enum"] == [
        status.value for status in OrderStatus
    ]
    assert _component(openapi, "carts")["properties"]["status"]["enum"] == ["open", "converted"]
    assert _component(openapi, "events")["properties"]["event_type"]["enum"] == [
        kind.value for kind in EventType
    ]
    page = _component(openapi, "events")["properties"]["page"]
    assert page["enum"][-1] is None  # a nullable column's enum admits null


def test_json_schemas_carry_descriptions_and_enums(api):
    schema = api.get("/v1/schemas/orders").json()
    assert schema["description"] == ORDERS.description
    assert schema["properties"]["status"]["enum"] == [status.value for status in OrderStatus]
    assert schema["properties"]["total_cents"]["description"] == (
        "subtotal - discount + shipping + tax: what the customer paid."
    )
    events = api.get("/v1/schemas/events").json()
    assert events["properties"]["event_type"]["enum"] == [kind.value for kind in EventType]
