"""Errors are problem+json with a request id, for every status, with no stack trace."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING

import psycopg
import pytest
from api_support import issue, running_client
from psycopg.conninfo import conninfo_to_dict, make_conninfo

if TYPE_CHECKING:
    from collections.abc import Iterator

PROBLEM = "application/problem+json"


def _assert_problem(response, status):
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:fauxgenie:problem:")
    assert body["request_id"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text
    return body


def test_unknown_path_is_a_problem_404_from_routing(api):
    body = _assert_problem(api.get("/v2/orders"), 404)
    assert "/v2/orders" in body["detail"]


def test_unknown_resource_is_a_problem_404(api):
    _assert_problem(api.get("/v1/unicorns"), 404)


def test_wrong_method_is_a_problem_405(api):
    body = _assert_problem(api.post("/v1/orders", json={}), 405)
    assert "read-only" in body["detail"]


def test_every_response_has_a_request_id_and_a_given_one_is_kept(api):
    assert api.get("/v1/orders").headers["x-request-id"].startswith("req_")
    echoed = api.get("/v1/orders", headers={"X-Request-Id": "trace-123"})
    assert echoed.headers["x-request-id"] == "trace-123"
    odd = api.get("/v1/orders", headers={"X-Request-Id": "<script>"})
    assert odd.headers["x-request-id"].startswith("req_")


def test_an_unexpected_failure_is_a_problem_500_without_details(fresh_database, caplog):
    with psycopg.connect(fresh_database) as connection:
        connection.execute("ALTER TABLE cart_items RENAME COLUMN quantity TO qty")
    token = _token(fresh_database)
    with running_client(fresh_database, token) as client:
        response = client.get("/v1/cart_items")
    body = _assert_problem(response, 500)
    assert body["request_id"] in body["detail"]
    assert "quantity" not in response.text  # nothing of the SQL error leaks
    assert any(body["request_id"] in record.getMessage() for record in caplog.records)


def test_statement_timeout_is_a_503_with_retry_after(fresh_database):
    """A query stuck behind a lock past the statement timeout is cancelled: 503."""
    token = _token(fresh_database)
    locked = threading.Event()
    release = threading.Event()

    def hold_lock():
        with psycopg.connect(fresh_database) as connection:
            connection.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(timeout=30)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        with running_client(fresh_database, token, statement_timeout_ms=200) as client:
            response = client.get("/v1/orders")
            unaffected = client.get("/v1/products")
    finally:
        release.set()
        holder.join()
    body = _assert_problem(response, 503)
    assert response.headers["retry-after"] == "1"
    assert "retry" in body["detail"]
    assert unaffected.status_code == 200


@contextmanager
def _database_down(url: str) -> Iterator[None]:
    """The API's database refuses new connections and its open ones are cut; then back.

    Cutting the connections alone raced the pool, which reconnects in the background: a
    request right after could find a fresh connection and get a 200.
    """
    name = conninfo_to_dict(url)["dbname"]
    admin_url = make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def test_database_down_is_a_503_on_health(fresh_database):
    token = _token(fresh_database)
    with running_client(fresh_database, token) as client, _database_down(fresh_database):
        response = client.get("/health")
        head = client.head("/health")
    _assert_problem(response, 503)
    assert head.status_code == 503


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 429])
def test_client_errors_share_one_shape(anonymous, status, shared_database):
    scoped = issue(shared_database, scopes=["read:orders"])
    requests = {
        400: ("GET", "/v1/orders?limit=5000", scoped),
        401: ("GET", "/v1/orders", None),
        403: ("GET", "/v1/products", scoped),
        404: ("GET", "/v1/orders/123456789", scoped),
        405: ("DELETE", "/v1/orders/1", scoped),
    }
    if status == 429:
        with running_client(
            shared_database, scoped, rate_limit_burst=1, rate_limit_per_second=0.01
        ) as client:
            client.get("/v1/orders")
            response = client.get("/v1/orders")
    else:
        method, path, token = requests[status]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = anonymous.request(method, path, headers=headers)
    body = _assert_problem(response, status)
    assert set(body) <= {"type", "title", "status", "detail", "request_id", "instance", "errors"}


def _token(url):
    return issue(url)
