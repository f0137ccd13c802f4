"""Lists: keyset paging, filters, limits, cursors and the Link header."""

from __future__ import annotations

import base64
import re

import pytest
from api_support import EVENT_ROWS, ROWS, page_through

from genie_litestar.resources.catalog import RESOURCES

FIXED_WIDTH_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


@pytest.mark.parametrize("resource", sorted(RESOURCES))
def test_paging_returns_every_row_once_in_keyset_order(api, resource):
    """Following next_cursor yields each row exactly once, ordered by (paging time, id)."""
    spec = RESOURCES[resource]
    rows = page_through(api, f"/v1/{resource}", limit=97)
    keys = [(row[spec.paging_column], row[spec.id_column]) for row in rows]
    assert len(rows) == (EVENT_ROWS if resource == "events" else ROWS)
    assert len({key[1] for key in keys}) == len(keys)
    assert keys == sorted(keys)


def test_rows_sharing_a_timestamp_are_split_across_pages_without_loss(api):
    """With a limit of 2 and three rows per timestamp, every page boundary cuts a tie."""
    rows = page_through(api, "/v1/products", limit=2, updated_before="2024-11-01T00:10:00Z")
    ids = [row["product_id"] for row in rows]
    assert len(ids) == len(set(ids)) == 3 * 17  # 600 s / 37 s per group, three per group


def test_timestamps_are_fixed_width_utc_with_microseconds(api):
    row = api.get("/v1/orders", params={"limit": 1}).json()["data"][0]
    for column in ("created_at", "updated_at", "placed_at"):
        assert FIXED_WIDTH_UTC.fullmatch(row[column]), row[column]


def test_default_limit_is_100(api):
    body = api.get("/v1/customers").json()
    assert len(body["data"]) == 100
    assert body["has_more"] is True


def test_limit_of_1000_is_accepted(api):
    assert len(api.get("/v1/events", params={"limit": 1000}).json()["data"]) == 1000


@pytest.mark.parametrize("limit", ["1001", "0", "-5", "ten"])
def test_limit_out_of_range_is_refused_not_capped(api, limit):
    response = api.get("/v1/orders", params={"limit": limit})
    assert response.status_code == 400
    problem = response.json()
    assert problem["errors"][0]["parameter"] == "limit"
    assert problem["errors"][0]["received"] == limit
    assert "1 to 1000" in problem["detail"]


def test_unknown_parameter_is_refused_naming_it_and_the_valid_ones(api):
    response = api.get("/v1/orders", params={"updated_after": "2024-11-02T00:00:00Z"})
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "'updated_after'" in detail
    assert "cursor, limit, updated_before, updated_since" in detail


def test_get_by_id_refuses_query_parameters(api):
    assert api.get("/v1/orders/5", params={"limit": 1}).status_code == 400


def test_updated_since_is_inclusive_and_updated_before_exclusive(api):
    since, before = "2024-11-01T00:01:51Z", "2024-11-01T00:03:05Z"  # groups 3 and 5
    rows = page_through(api, "/v1/orders", updated_since=since, updated_before=before)
    stamps = sorted({row["updated_at"] for row in rows})
    assert stamps == ["2024-11-01T00:01:51.000000Z", "2024-11-01T00:02:28.000000Z"]
    assert len(rows) == 6


def test_filters_accept_any_timezone_offset(api):
    utc = page_through(api, "/v1/orders", updated_before="2024-11-01T00:03:05Z")
    offset = page_through(api, "/v1/orders", updated_before="2024-11-01T01:03:05+01:00")
    assert utc == offset


@pytest.mark.parametrize("parameter", ["updated_since", "updated_before"])
def test_timestamp_without_timezone_is_refused(api, parameter):
    response = api.get("/v1/orders", params={parameter: "2024-11-01T00:00:00"})
    assert response.status_code == 400
    assert "timezone" in response.json()["detail"]


def test_window_with_since_after_before_is_refused(api):
    response = api.get(
        "/v1/orders",
        params={"updated_since": "2024-11-02T00:00:00Z", "updated_before": "2024-11-01T00:00:00Z"},
    )
    assert response.status_code == 400


def test_last_page_has_null_cursor_and_no_link(api):
    body = api.get("/v1/orders", params={"updated_before": "2024-11-01T00:00:01Z"})
    assert body.json() == {"data": body.json()["data"], "has_more": False, "next_cursor": None}
    assert len(body.json()["data"]) == 3
    assert "link" not in body.headers


def test_link_header_uses_the_public_base_url_not_the_host_header(api):
    response = api.get(
        "/v1/orders",
        params={"limit": 10, "updated_since": "2024-11-01T00:00:00Z"},
        headers={"Host": "evil.example"},
    )
    link = response.headers["link"]
    cursor = response.json()["next_cursor"]
    assert link.startswith("<https://genie.example.test/v1/orders?")
    assert link.endswith('>; rel="next"')
    assert f"cursor={cursor}" in link
    assert "limit=10" in link
    assert "updated_since=2024-11-01T00%3A00%3A00%2B00%3A00" in link
    assert "evil" not in link


def test_following_the_link_header_gives_the_next_page(api):
    first = api.get("/v1/orders", params={"limit": 10})
    link = first.headers["link"].removeprefix("<https://genie.example.test").split(">")[0]
    second = api.get(link).json()["data"]
    by_cursor = api.get("/v1/orders", params={"limit": 10, "cursor": first.json()["next_cursor"]})
    assert second == by_cursor.json()["data"]


def test_cursor_with_the_same_filters_resent_is_accepted(api):
    params = {"limit": 5, "updated_since": "2024-11-01T00:01:00Z"}
    cursor = api.get("/v1/orders", params=params).json()["next_cursor"]
    response = api.get("/v1/orders", params={**params, "cursor": cursor})
    assert response.status_code == 200


def test_cursor_with_the_same_filters_and_another_limit_is_accepted(api):
    cursor = api.get("/v1/orders", params={"limit": 5}).json()["next_cursor"]
    response = api.get("/v1/orders", params={"limit": 50, "cursor": cursor})
    assert response.status_code == 200
    assert len(response.json()["data"]) == 50


@pytest.mark.parametrize(
    "changed",
    [
        {"updated_since": "2024-11-01T00:02:00Z"},
        {},  # the filter dropped
        {"updated_since": "2024-11-01T00:01:00Z", "updated_before": "2024-11-02T00:00:00Z"},
    ],
)
def test_cursor_with_different_filters_is_refused(api, changed):
    cursor = api.get(
        "/v1/orders", params={"limit": 5, "updated_since": "2024-11-01T00:01:00Z"}
    ).json()["next_cursor"]
    response = api.get("/v1/orders", params={**changed, "cursor": cursor})
    assert response.status_code == 400
    assert "different filters" in response.json()["detail"]


def test_cursor_of_another_resource_is_refused(api):
    cursor = api.get("/v1/orders", params={"limit": 5}).json()["next_cursor"]
    assert api.get("/v1/products", params={"cursor": cursor}).status_code == 400


@pytest.mark.parametrize("mangle", ["flip", "truncate", "garbage", "empty-signature"])
def test_tampered_cursor_is_refused(api, mangle):
    cursor = api.get("/v1/orders", params={"limit": 5}).json()["next_cursor"]
    flipped = cursor[:10] + ("A" if cursor[10] != "A" else "B") + cursor[11:]
    tampered = {
        "flip": flipped,
        "truncate": cursor[:-4],
        "garbage": "not a cursor!",
        "empty-signature": "AAAA",
    }[mangle]
    response = api.get("/v1/orders", params={"cursor": tampered})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "not a cursor this API issued" in response.json()["detail"]


def test_get_by_id_returns_the_row(api):
    row = api.get("/v1/customers/42").json()
    assert row["customer_id"] == 42
    listed = [r for r in page_through(api, "/v1/customers", limit=1000) if r["customer_id"] == 42]
    assert listed == [row]


@pytest.mark.parametrize("row_id", ["0", "999999", str(2**63), str(2**70)])
def test_get_by_missing_id_is_a_problem_404(api, row_id):
    response = api.get(f"/v1/orders/{row_id}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_events_page_and_filter_on_received_at(api):
    rows = page_through(api, "/v1/events", updated_before="2024-11-01T00:00:37Z")
    assert {row["received_at"] for row in rows} == {"2024-11-01T00:00:00.000000Z"}
    assert "updated_at" not in rows[0]


def test_cart_items_are_served_too(api):
    assert len(page_through(api, "/v1/cart_items", limit=1000)) == ROWS


def test_a_parameter_given_twice_is_refused_rather_than_one_of_them_guessed(api):
    response = api.get("/v1/orders?limit=1&limit=2")
    assert response.status_code == 400
    problem = response.json()
    assert problem["type"] == "urn:fauxgenie:problem:repeated-parameter"
    assert "'limit' given more than once" in problem["detail"]
    assert problem["errors"] == [
        {"parameter": "limit", "message": "given more than once", "received": "1, 2"}
    ]


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("limit", "10.0"),
        ("limit", "1e3"),
        ("limit", "+5"),
        ("limit", " 5"),
        ("limit", "\uff15"),  # a full-width 5
        ("limit", "\u0665"),  # an Arabic-Indic 5
        ("updated_since", "1736035200"),
        ("updated_since", "2024-11-01"),
        ("updated_since", "2024-11-01 00:00:00Z"),
        ("updated_before", "2024-11-01T00:00Z"),
        ("updated_before", "2024-11-01T00:00:00.Z"),
        ("updated_before", "\uff12024-11-01T00:00:00Z"),
    ],
)
def test_lenient_spellings_of_limit_and_times_are_refused(api, parameter, value):
    """ASCII digits only for limit, RFC 3339 only for times: nothing is read as a guess."""
    response = api.get("/v1/orders", params={parameter: value})
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["errors"][0]["parameter"] == parameter
    assert problem["errors"][0]["received"] == value


def test_rfc3339_lower_case_t_and_z_and_long_fractions_are_accepted(api):
    upper = page_through(api, "/v1/orders", updated_before="2024-11-01T00:03:05Z")
    lower = page_through(api, "/v1/orders", updated_before="2024-11-01t00:03:05z")
    fraction = page_through(api, "/v1/orders", updated_before="2024-11-01T00:03:05.000000000Z")
    assert upper == lower == fraction


@pytest.mark.parametrize("spelling", ["%EF%BC%92", "+2", "00002", "2%20", "%202", "2.0", "0x2"])
def test_an_id_that_is_not_a_canonical_integer_is_a_404(api, spelling):
    assert api.get("/v1/orders/2").status_code == 200
    response = api.get(f"/v1/orders/{spelling}")
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("mangle", ["bang", "padded", "standard-base64", "unused-bits"])
def test_a_cursor_not_in_canonical_base64url_is_refused(api, mangle):
    cursor = _cursor_with(api, "-_")
    standard = cursor.replace("-", "+").replace("_", "/")
    last = cursor[-1]
    # The last character of an unpadded base64url text carries bits that decode drops.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    sibling = next(
        c
        for c in alphabet
        if c != last
        and base64.urlsafe_b64decode(cursor[:-1] + c + "=" * (-len(cursor) % 4))
        == base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    )
    changed = {
        "bang": cursor + "!!!",
        "padded": cursor + "=" * (-len(cursor) % 4 or 4),
        "standard-base64": standard,
        "unused-bits": cursor[:-1] + sibling,
    }[mangle]
    assert api.get("/v1/orders", params={"limit": 5, "cursor": cursor}).status_code == 200
    response = api.get("/v1/orders", params={"limit": 5, "cursor": changed})
    assert response.status_code == 400, response.text
    assert "not a cursor this API issued" in response.json()["detail"]


def _cursor_with(api, characters):
    """A next_cursor holding one of ``characters`` (they differ between base64 alphabets)."""
    params = {"limit": 1}
    for _ in range(200):
        body = api.get("/v1/orders", params=params).json()
        cursor = body["next_cursor"]
        if any(c in cursor for c in characters) and len(cursor) % 4:
            return cursor
        params = {"limit": 1, "cursor": cursor}
    pytest.fail("no cursor with a base64url-only character and unused bits in 200 pages")


def test_a_cursor_of_another_resource_is_refused_as_such(api):
    cursor = api.get("/v1/orders", params={"limit": 5}).json()["next_cursor"]
    response = api.get("/v1/events", params={"cursor": cursor})
    assert response.status_code == 400
    assert "made for another resource or different filters" in response.json()["detail"]
