"""The security list of the issue, one test each."""

from __future__ import annotations

import base64
import datetime as dt
import logging
from urllib.parse import unquote

import httpx
import psycopg
import pytest
from api_support import issue, live_server, running_client

from genie_litestar.auth.tokens import issue_token

CHALLENGE = 'Bearer error="invalid_token"'


def _without_request_id(body: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in body.items() if key != "request_id"}


@pytest.fixture(scope="module")
def expired_token(shared_database):
    token = issue(shared_database, expires_in=dt.timedelta(minutes=1))
    with psycopg.connect(shared_database) as connection:
        connection.execute(
            "UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE token_id = %s",
            (token[:16],),
        )
    return token


@pytest.fixture(scope="module")
def revoked_token(shared_database):
    token = issue(shared_database)
    with psycopg.connect(shared_database) as connection:
        connection.execute(
            "UPDATE api_tokens SET revoked_at = now() WHERE token_id = %s", (token[:16],)
        )
    return token


@pytest.fixture(scope="module")
def bad_tokens(token, expired_token, revoked_token):
    unknown = issue_token().token  # well formed, right checksum, never stored
    typo = token[:-1] + ("a" if token[-1] != "a" else "b")  # checksum catches it
    return {
        "missing": None,
        "malformed": "not-a-token",
        "bad checksum": typo,
        "unknown": unknown,
        "expired": expired_token,
        "revoked": revoked_token,
    }


@pytest.mark.parametrize(
    "case", ["missing", "malformed", "bad checksum", "unknown", "expired", "revoked"]
)
def test_every_bad_token_gets_the_same_401_and_challenge(anonymous, bad_tokens, case):
    token = bad_tokens[case]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = anonymous.get("/v1/orders", headers=headers)
    reference = anonymous.get("/v1/orders", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == CHALLENGE
    assert response.headers["content-type"] == "application/problem+json"
    assert _without_request_id(response.json()) == _without_request_id(reference.json())


def test_other_authorization_scheme_is_a_401(anonymous, token):
    response = anonymous.get("/v1/orders", headers={"Authorization": f"Basic {token}"})
    assert response.status_code == 401


def test_valid_token_passes(api):
    assert api.get("/v1/orders").status_code == 200


def test_token_without_the_resource_scope_gets_403(shared_database):
    orders_only = issue(shared_database, scopes=["read:orders"])
    with running_client(shared_database, orders_only) as client:
        assert client.get("/v1/orders").status_code == 200
        assert client.get("/v1/orders/1").status_code == 200
        forbidden = client.get("/v1/customers")
        assert client.get("/v1/customers/1").status_code == 403
        assert client.get("/v1/schemas/customers").status_code == 403
    assert forbidden.status_code == 403
    assert "read:customers" in forbidden.json()["detail"]
    assert forbidden.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("name", ["access_token", "token", "api_key"])
def test_token_in_the_query_string_is_refused_even_when_valid(anonymous, token, name):
    response = anonymous.get("/v1/orders", params={name: token})
    assert response.status_code == 400
    assert "Authorization header" in response.json()["detail"]
    assert token not in response.text


def test_token_in_the_query_string_is_refused_beside_a_valid_header(api, token):
    assert api.get("/v1/orders", params={"access_token": token}).status_code == 400


def test_no_token_reaches_a_log(anonymous, token, bad_tokens, caplog):
    caplog.set_level(logging.DEBUG)
    anonymous.get("/v1/orders", headers={"Authorization": f"Bearer {token}"})
    anonymous.get("/v1/orders", params={"access_token": token})
    anonymous.get("/v1/orders", headers={"Authorization": f"Bearer {bad_tokens['unknown']}"})
    anonymous.get(f"/v1/{token}")
    # Everything the server side logged (the test's own HTTP client logs URLs itself).
    server_records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    logged = "\n".join(record.getMessage() for record in server_records)
    assert "GET /v1/orders" in logged  # the access log did write lines
    assert token not in logged
    assert bad_tokens["unknown"] not in logged
    assert token[8:] not in logged


def test_tokens_are_stored_only_as_hashes(shared_database, token):
    with psycopg.connect(shared_database) as connection:
        dump = str(connection.execute("SELECT * FROM api_tokens").fetchall())
    assert token not in dump
    assert token[16:] not in dump


def test_last_used_time_is_recorded(shared_database):
    fresh = issue(shared_database)
    with running_client(shared_database, fresh) as client:
        client.get("/v1/orders")
    with psycopg.connect(shared_database) as connection:
        row = connection.execute(
            "SELECT last_used_at FROM api_tokens WHERE token_id = %s", (fresh[:16],)
        ).fetchone()
    assert row is not None
    assert row[0] is not None


def test_health_needs_no_token(anonymous):
    response = anonymous.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_health_answers_head_as_load_balancers_ask(anonymous):
    response = anonymous.head("/health")
    assert response.status_code == 200
    assert response.content == b""


def test_openapi_document_needs_no_token(anonymous):
    assert anonymous.get("/docs/openapi.json").status_code == 200


def test_no_cors_headers_unless_configured(api, shared_database, token):
    origin = {"Origin": "https://learner.example"}
    assert "access-control-allow-origin" not in api.get("/v1/orders", headers=origin).headers
    with running_client(
        shared_database, token, cors_allow_origins=("https://learner.example",)
    ) as client:
        allowed = client.get("/v1/orders", headers=origin)
    assert allowed.headers["access-control-allow-origin"] == "https://learner.example"


@pytest.mark.parametrize("path", ["/v1/orders", "/v1/orders/2", "/v1/schemas/orders", "/health"])
def test_options_answers_the_allowed_methods_not_a_500(api, path):
    """Litestar's automatic OPTIONS handler declares no scope; the guard must not trip on it."""
    response = api.options(path)
    assert response.status_code == 204
    assert "GET" in response.headers["allow"]


def test_options_without_a_token_is_a_401_like_any_other_method(anonymous):
    assert anonymous.options("/v1/orders").status_code == 401


def test_two_authorization_headers_are_a_400_whichever_comes_first(shared_database, token):
    """Proxies and frameworks disagree on which of two headers counts: refuse both orders.

    Against uvicorn, which hands the app both headers as sent (the test client joins them).
    """
    valid = f"Bearer {token}".encode()
    with live_server(shared_database) as base_url:
        for pair in [(valid, b"Bearer nope"), (b"Bearer nope", valid), (valid, valid)]:
            response = httpx.get(
                f"{base_url}/v1/orders", headers=[(b"authorization", value) for value in pair]
            )
            assert response.status_code == 400, response.text
            assert response.json()["type"] == "urn:fauxgenie:problem:repeated-authorization"


def test_two_authorization_headers_joined_by_a_proxy_are_a_400(anonymous, token):
    joined = f"Bearer {token}, Bearer {token}"
    response = anonymous.get("/v1/orders", headers={"Authorization": joined})
    assert response.status_code == 400
    assert response.json()["type"] == "urn:fauxgenie:problem:repeated-authorization"


@pytest.mark.parametrize("path", ["/v1/orders", "/v1/orders/2", "/v1/schemas/orders"])
def test_authenticated_answers_are_not_cached(api, anonymous, path):
    assert api.get(path).headers["cache-control"] == "no-store"
    assert anonymous.get(path).headers["cache-control"] == "no-store"  # the 401 too


def test_a_page_is_gzipped_when_the_client_asks(api):
    plain = api.get("/v1/orders", params={"limit": 1000}, headers={"Accept-Encoding": "identity"})
    zipped = api.get("/v1/orders", params={"limit": 1000}, headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.json()["data"] == plain.json()["data"]  # httpx inflates it
    assert int(zipped.headers["content-length"]) < len(plain.content) / 4


def _encodings_of(token: str) -> dict[str, str]:
    body = token[len("fg_test_") :]
    every_byte = "".join(f"%{byte:02X}" for byte in token.encode())
    return {
        "plain": token,
        "underscores percent-encoded": token.replace("_", "%5F"),
        "lower-case percent-encoding": token.replace("_", "%5f"),
        "every byte percent-encoded": every_byte,
        "double percent-encoded": every_byte.replace("%", "%25"),
        "without its prefix": body,
        "base64": base64.b64encode(token.encode()).decode(),
        "base64url": base64.urlsafe_b64encode(token.encode()).decode().rstrip("="),
        "hex": token.encode().hex(),
        "upper-cased": token.upper(),
    }


def test_no_log_line_carries_a_token_in_any_encoding(anonymous, token, caplog):
    """Every encoding, in every place a client can put it, on a refused or a valid request."""
    caplog.set_level(logging.DEBUG)
    encodings = _encodings_of(token)
    for encoded in encodings.values():
        anonymous.get(f"/v1/orders?x={encoded}")
        anonymous.get(f"/v1/orders?{encoded}=1")
        anonymous.get(f"/v1/orders?limit=5&cursor={encoded}")
        anonymous.get(f"/v1/{encoded}")
        anonymous.get(f"/v1/orders/{encoded}")
        anonymous.get(f"/docs/assets/{encoded}")
        anonymous.get("/v1/orders", headers={"X-Request-Id": encoded[:64]})
        anonymous.get("/v1/orders", headers={"Authorization": f"Bearer {encoded}"})
        anonymous.get(
            "/v1/orders", headers={"Authorization": f"Bearer {token}", "X-Request-Id": encoded}
        )
    server_records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    logged = "\n".join(record.getMessage() for record in server_records)
    assert "GET /v1/orders" in logged  # the access log did write lines
    decoded = unquote(unquote(unquote(logged)))
    secret = token[len("fg_test_") : -6]
    for text in (logged, decoded, logged.lower(), decoded.lower()):
        assert secret.lower() not in text.lower()
        assert secret[8:20] not in text  # not even a part of the secret
    for name, encoded in encodings.items():
        assert encoded not in logged, name
        assert encoded[8:40] not in logged, name


def test_the_access_log_keeps_what_helps_debugging(api, caplog):
    caplog.set_level(logging.INFO, logger="genie.access")
    api.get("/v1/order_line_items/42?limit=3")
    api.get("/v1/orders", params={"limit": 3, "updated_since": "2024-11-01T00:00:00Z"})
    lines = [r.getMessage() for r in caplog.records if r.name == "genie.access"]
    assert any('"GET /v1/order_line_items/42?limit" 400' in line for line in lines), lines
    assert any('"GET /v1/orders?limit&updated_since" 200' in line for line in lines), lines


@pytest.fixture
def lookups(monkeypatch):
    """Counts token lookups in the database."""
    from genie_litestar.auth import middleware  # noqa: PLC0415

    calls = []
    real = middleware.authenticate

    async def counting(connection, token):
        calls.append(token)
        return await real(connection, token)

    monkeypatch.setattr(middleware, "authenticate", counting)
    return calls


def test_an_unknown_token_sent_again_costs_no_lookup(shared_database, lookups):
    unknown = issue_token().token  # well formed: its checksum is computable by anyone
    with running_client(shared_database, unknown) as client:
        statuses = [client.get("/v1/orders").status_code for _ in range(5)]
    assert statuses == [401] * 5
    assert len(lookups) == 1


def test_an_address_that_fails_too_often_gets_429_before_any_lookup(shared_database, lookups):
    with running_client(
        shared_database, auth_failure_burst=5, auth_failure_refill_seconds=1000.0
    ) as client:
        responses = [
            client.get("/v1/orders", headers={"Authorization": f"Bearer {issue_token().token}"})
            for _ in range(12)
        ]
    assert [r.status_code for r in responses] == [401] * 5 + [429] * 7
    assert len(lookups) == 5  # the seven refused ones cost no query
    refused = responses[-1]
    assert 1 <= int(refused.headers["retry-after"]) <= 1000  # one failure refills in 1000 s
    assert refused.json()["type"] == "urn:fauxgenie:problem:too-many-failed-authentications"


def test_a_valid_token_is_not_counted_as_a_failure(shared_database, token):
    with running_client(
        shared_database, token, auth_failure_burst=1, auth_failure_refill_seconds=1000.0
    ) as client:
        assert {client.get("/v1/orders").status_code for _ in range(5)} == {200}
