"""What Genie promises under faults: restarts, another server's cursors, Redis gone,
slow clients. Each test waits on conditions, never on the clock."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import httpx
import pytest
from api_support import (
    _wait_until_healthy,
    free_port,
    issue,
    live_server,
    page_through,
    running_client,
)

from genie_litestar.slow_clients import PROTOCOL, deadline_from_environment

# --------------------------------------------------------------------------- cursors


def _first_page_and_rest(base_url: str, token: str) -> tuple[list[dict], str]:
    headers = {"Authorization": f"Bearer {token}"}
    first = httpx.get(f"{base_url}/v1/orders", params={"limit": 100}, headers=headers)
    assert first.status_code == 200, first.text
    body = first.json()
    return body["data"], body["next_cursor"]


def _rest(base_url: str, token: str, cursor: str) -> list[dict]:
    rows: list[dict] = []
    headers = {"Authorization": f"Bearer {token}"}
    while cursor:
        page = httpx.get(
            f"{base_url}/v1/orders", params={"limit": 100, "cursor": cursor}, headers=headers
        )
        assert page.status_code == 200, page.text
        rows += page.json()["data"]
        cursor = page.json()["next_cursor"]
    return rows


@pytest.mark.slow
def test_a_paging_run_survives_a_restart_of_the_server(fresh_database):
    """No GENIE_CURSOR_SECRET: the key kept in the database signs cursors across starts."""
    token = issue(fresh_database)
    with live_server(fresh_database, cursor_secret=None) as base_url:
        first_rows, cursor = _first_page_and_rest(base_url, token)
    assert cursor is not None
    with live_server(fresh_database, cursor_secret=None) as restarted:
        rest = _rest(restarted, token, cursor)
    with running_client(fresh_database, token) as client:
        every_row = page_through(client, "/v1/orders", limit=1000)
    assert first_rows + rest == every_row


def test_workers_share_the_key_kept_in_the_database(fresh_database):
    token = issue(fresh_database)
    with (
        running_client(fresh_database, token, cursor_secret=None) as first,
        running_client(fresh_database, token, cursor_secret=None) as second,
    ):
        cursor = first.get("/v1/orders", params={"limit": 5}).json()["next_cursor"]
        followed = second.get("/v1/orders", params={"limit": 5, "cursor": cursor})
    assert followed.status_code == 200, followed.text


def test_another_servers_cursor_is_told_apart_from_a_forged_one(fresh_database):
    token = issue(fresh_database)
    other_secret = "another-server-secret-123"  # noqa: S105 - a test fixture
    with running_client(fresh_database, token, cursor_secret=other_secret) as other:
        foreign = other.get("/v1/orders", params={"limit": 5}).json()["next_cursor"]
    with running_client(fresh_database, token, cursor_secret=None) as client:
        own = client.get("/v1/orders", params={"limit": 5}).json()["next_cursor"]
        forged = own[:10] + ("A" if own[10] != "A" else "B") + own[11:]
        expired = client.get("/v1/orders", params={"limit": 5, "cursor": foreign})
        altered = client.get("/v1/orders", params={"limit": 5, "cursor": forged})
    assert expired.status_code == altered.status_code == 400
    assert expired.json()["type"] == "urn:fauxgenie:problem:expired-cursor"
    assert "start the paging run over" in expired.json()["detail"]
    assert "not a cursor this API issued" not in expired.json()["detail"]
    assert altered.json()["type"] == "urn:fauxgenie:problem:invalid-cursor"
    assert "not a cursor this API issued" in altered.json()["detail"]


# --------------------------------------------------------------------------- slow clients

HALF_A_REQUEST = b"GET /v1/orders HTTP/1.1\r\nHost: genie\r\nX-Slow: "
# Only ends a hung test; every wait below ends as soon as its condition holds.
LIMIT_SECONDS = 30


def _slow_client(base_url: str) -> socket.socket:
    host, port = base_url.removeprefix("http://").split(":")
    client = socket.create_connection((host, int(port)), timeout=LIMIT_SECONDS)
    client.sendall(HALF_A_REQUEST)
    return client


def _everything_until_closed(client: socket.socket) -> bytes:
    received = b""
    while chunk := client.recv(4096):
        received += chunk
    return received


@pytest.mark.slow
def test_clients_that_send_half_a_request_are_cut_off_while_others_are_served(
    shared_database, token
):
    with live_server(
        shared_database,
        server_args=("--http", PROTOCOL),
        variables={"GENIE_REQUEST_DEADLINE_SECONDS": "1"},
    ) as base_url:
        slow = [_slow_client(base_url) for _ in range(50)]
        served = httpx.get(f"{base_url}/v1/orders", headers={"Authorization": f"Bearer {token}"})
        answers = [_everything_until_closed(client) for client in slow]  # the server closes
        for client in slow:
            client.close()
    assert served.status_code == 200
    assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in answers), answers[0]
    head, _, body = answers[0].partition(b"\r\n\r\n")
    assert b"content-type: application/problem+json" in head
    assert json.loads(body)["status"] == 408


@pytest.mark.slow
def test_a_client_that_trickles_its_headers_is_cut_off(shared_database):
    """One byte at a time resets uvicorn's keep-alive timer, but not the request deadline."""
    with live_server(
        shared_database,
        server_args=("--http", PROTOCOL),
        variables={"GENIE_REQUEST_DEADLINE_SECONDS": "1"},
    ) as base_url:
        client = _slow_client(base_url)
        client.settimeout(0.05)  # paces the trickle; not a synchronisation
        answer = b""
        for _ in range(LIMIT_SECONDS * 20):
            try:
                client.sendall(b"x")
                answer = client.recv(4096)
            except TimeoutError:
                continue
            except OSError:  # reset: closed by the server
                break
            break
        client.close()
    assert answer.startswith(b"HTTP/1.1 408 ")


@pytest.mark.slow
def test_connections_beyond_the_concurrency_limit_get_503(shared_database, token):
    headers = {"Authorization": f"Bearer {token}"}
    with live_server(
        shared_database,
        server_args=("--http", PROTOCOL, "--limit-concurrency", "4"),
        variables={"GENIE_REQUEST_DEADLINE_SECONDS": "600"},
    ) as base_url:
        slow = [_slow_client(base_url) for _ in range(4)]
        refused = _get_when(base_url, headers, 503)
        for client in slow:
            client.close()
        served = _get_when(base_url, headers, 200)  # once the server saw them go
    assert refused.status_code == 503
    assert served.status_code == 200


def _get_when(base_url: str, headers: dict[str, str], status: int) -> httpx.Response:
    """GET /v1/orders until it answers ``status`` (the server sees connections come and go
    a moment after the client does)."""
    deadline = time.monotonic() + LIMIT_SECONDS
    while True:
        response = httpx.get(f"{base_url}/v1/orders", headers=headers)
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.02)


def test_the_deadline_is_read_when_the_first_connection_comes_not_at_import(monkeypatch):
    """``fauxsim serve`` imports the protocol's module, then sets the variable, then serves
    in the same process (one worker): the deadline it set must count."""
    deadline_from_environment.cache_clear()
    monkeypatch.setenv("GENIE_REQUEST_DEADLINE_SECONDS", "2.5")
    try:
        assert deadline_from_environment() == 2.5
    finally:
        deadline_from_environment.cache_clear()


@pytest.mark.slow
def test_fauxsim_serve_cuts_off_slow_clients_at_its_deadline(shared_database):
    """The whole path: the option, the variable, uvicorn in the command's own process."""
    port = free_port()
    command = [sys.executable, "-c", "from cli.app import main; main()", "serve"]
    options = ["--db", shared_database, "--port", str(port), "--request-deadline-seconds", "1"]
    server = subprocess.Popen([*command, *options], stderr=subprocess.DEVNULL)  # noqa: S603
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(base_url, server)
        client = _slow_client(base_url)
        answer = _everything_until_closed(client)
        client.close()
    finally:
        server.terminate()
        server.wait(timeout=LIMIT_SECONDS)
    assert answer.startswith(b"HTTP/1.1 408 ")
