"""What Genie promises under faults: restarts, another server's cursors, Redis gone,
slow clients. Each test waits on conditions, never on the clock."""

from __future__ import annotations

import httpx
import pytest
from api_support import issue, live_server, page_through, running_client

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
