"""Property-based API testing with schemathesis, driven by Genie's own OpenAPI document.

Every operation the document lists (every method, HEAD too) gets a bounded number of
generated requests (valid and invalid ones) with a valid token, against Genie under
uvicorn; OPTIONS, which the document leaves out but ``Allow`` advertises, is asked too.
No response may be a 5xx, and every response must match what the document declares:
status, content type, headers, body.
"""

from __future__ import annotations

import httpx
import pytest
from api_support import issue, live_server, settings_for
from hypothesis import HealthCheck, given, settings

from genie_litestar.app import create_app
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


def _operations() -> list[tuple[str, str]]:
    """Every (method, path) Genie's OpenAPI document lists, read from the app itself."""
    app = create_app(settings_for("postgresql://unused@127.0.0.1/unused"))
    paths = app.openapi_schema.to_schema()["paths"]
    return sorted(
        (method.upper(), path)
        for path, item in paths.items()
        for method in item
        if method in {"get", "head", "put", "post", "delete", "options", "patch", "trace"}
    )


def test_every_operation_the_document_lists_is_exercised():
    """Methods besides GET (HEAD /health) are in the document, so they are tested too."""
    methods = {method for method, _ in _operations()}
    assert {"GET", "HEAD"} <= methods
    assert len(_operations()) == 1 + 1 + 3 * len(RESOURCES)


# schemathesis' own pytest plugin does not run under pytest 9, so each operation's
# strategy is driven by hypothesis directly; the checks are the same.
@pytest.mark.slow
@pytest.mark.parametrize(("method", "path"), _operations())
def test_api_conforms_to_its_openapi_document(
    genie_schema, genie_server, genie_token, method, path
):
    operation = genie_schema[path][method]

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


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted({path for _, path in _operations()}))
def test_options_on_every_documented_path_is_no_server_error(genie_server, genie_token, path):
    """OPTIONS is not in the document but every route advertises it in ``Allow``."""
    concrete = path.replace("{row_id}", "1")
    response = httpx.options(
        f"{genie_server}{concrete}", headers={"Authorization": f"Bearer {genie_token}"}
    )
    assert response.status_code == 204, response.text
    assert "OPTIONS" in response.headers["allow"]
