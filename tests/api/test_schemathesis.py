"""Property-based API testing with schemathesis, driven by Genie's own OpenAPI document.

Every operation gets a bounded number of generated requests (valid and invalid ones)
with a valid token, against Genie under uvicorn. No response may be a 5xx, and every
response must match what the document declares: status, content type, headers, body.
"""

from __future__ import annotations

import pytest
from api_support import issue, live_server
from hypothesis import HealthCheck, given, settings

from genie_litestar.resources.catalog import RESOURCES

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is a test dependency")

from schemathesis.checks import not_a_server_error  # noqa: E402 - after the import check
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

MAX_EXAMPLES = 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def genie_server(shared_database):
    with live_server(shared_database) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def genie_token(shared_database):
    return issue(shared_database)


@pytest.fixture(scope="module")
def genie_schema(genie_server):
    return schemathesis.openapi.from_url(f"{genie_server}/docs/openapi.json")


def _operations() -> list[str]:
    paths = ["/health"]
    for name in sorted(RESOURCES):
        paths += [f"/v1/{name}", f"/v1/{name}/{{row_id}}", f"/v1/schemas/{name}"]
    return paths


# schemathesis' own pytest plugin does not run under pytest 9, so each operation's
# strategy is driven by hypothesis directly; the checks are the same.
@pytest.mark.slow
@pytest.mark.parametrize("path", _operations())
def test_api_conforms_to_its_openapi_document(genie_schema, genie_server, genie_token, path):
    operation = genie_schema[path]["GET"]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def conforms(case):
        case.call_and_validate(
            base_url=genie_server,
            headers={"Authorization": f"Bearer {genie_token}"},
            checks=CHECKS,
        )

    conforms()
