"""``fauxsim token create | list | revoke``, called in-process."""

from __future__ import annotations

import datetime as dt
import re

import psycopg
import pytest
from litestar.testing import TestClient

from cli.console import console
from cli.token_commands import token_app
from genie_litestar.app import create_app
from genie_litestar.auth.scopes import valid_scopes
from genie_litestar.auth.tokens import is_well_formed
from genie_litestar.errors import GenieError
from genie_litestar.settings import GenieSettings
from tests.cli.cli_support import run_cli


def _run(capsys, *arguments):
    token_app(list(arguments), exit_on_error=False, result_action="return_value")
    return capsys.readouterr()


def _get_orders(url, token):
    settings = GenieSettings(database_url=url, cursor_secret="s" * 32)
    with TestClient(create_app(settings)) as client:
        return client.get("/v1/orders", headers={"Authorization": f"Bearer {token}"})


def test_create_prints_the_token_once_on_stdout_and_stores_only_its_hash(postgres_url, capsys):
    out = _run(capsys, "create", "--name", "laptop", "--scopes", "read:all", "--db", postgres_url)
    token = out.out.strip()
    assert is_well_formed(token)
    assert token.startswith("fg_test_")
    assert "only time" in out.err
    listed = _run(capsys, "list", "--db", postgres_url).out
    assert "laptop" in listed
    assert token[:16] in listed
    assert token not in listed
    assert _get_orders(postgres_url, token).status_code == 200


def test_create_takes_the_name_as_its_first_argument_too(postgres_url, capsys):
    out = _run(capsys, "create", "learner", "--db", postgres_url)
    assert is_well_formed(out.out.strip())
    assert "(learner)" in out.err
    assert "learner" in _run(capsys, "list", "--db", postgres_url).out


def test_create_accepts_several_scopes_and_an_expiry(postgres_url, capsys):
    out = _run(
        capsys,
        "create",
        "--name",
        "ci",
        "--scopes",
        "read:orders,read:order_line_items",
        "--expires",
        "12h",
        "--db",
        postgres_url,
    )
    assert "read:orders, read:order_line_items" in out.err
    assert re.search(r"expires \d{4}-\d\d-\d\d", out.err)


def test_revoked_token_is_refused_by_the_api(postgres_url, capsys):
    token = _run(capsys, "create", "--name", "old", "--db", postgres_url).out.strip()
    out = _run(capsys, "revoke", token[:16], "--db", postgres_url)
    assert f"revoked {token[:16]}" in out.out
    assert _get_orders(postgres_url, token).status_code == 401


def test_unknown_scope_names_the_valid_ones(postgres_url, capsys):
    with pytest.raises(GenieError, match=r"unknown scope 'write:all'.*read:all, read:products"):
        _run(capsys, "create", "--name", "x", "--scopes", "write:all", "--db", postgres_url)


def test_a_near_miss_scope_suggests_the_scope_meant(postgres_url, capsys):
    valid = ", ".join(valid_scopes())
    expected = (
        "unknown scope 'read:order' in --scopes; did you mean 'read:orders'?"
        f" Valid values are: {valid}"
    )
    with pytest.raises(GenieError) as raised:
        _run(capsys, "create", "--name", "x", "--scopes", "read:order", "--db", postgres_url)
    assert str(raised.value) == expected


def test_a_scope_close_to_none_gets_no_suggestion(postgres_url, capsys):
    valid = ", ".join(valid_scopes())
    with pytest.raises(GenieError) as raised:
        _run(capsys, "create", "--name", "x", "--scopes", "everything", "--db", postgres_url)
    assert str(raised.value) == f"unknown scope 'everything' in --scopes. Valid values are: {valid}"


def test_bad_expiry_says_what_is_accepted(postgres_url, capsys):
    with pytest.raises(GenieError, match=r"--expires got '3 months'.*90d, 12h.*'never'"):
        _run(capsys, "create", "--name", "x", "--expires", "3 months", "--db", postgres_url)


@pytest.mark.parametrize("expires", ["99999999999w", "600000w", "100000000d", "3651d", "0m"])
def test_an_expiry_too_long_is_refused_with_the_longest_allowed(expires, capsys, monkeypatch):
    """Refused before connecting (the URL leads nowhere), by the validator that refuses 0m:
    not timedelta's OverflowError nor Postgres' "timestamp too large"."""
    args = ["token", "create", "--name", "e4", "--expires", expires]
    result = run_cli([*args, "--db", "postgresql://nobody@127.0.0.1:1/none"], capsys, monkeypatch)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: --expires got {expires!r}. Valid values are a positive number followed by m, "
        "h, d or w (e.g. 90d, 12h), up to 3650d (10 years), or 'never'\n"
    )
    assert result.stdout == ""


def test_the_longest_expiry_is_ten_years(postgres_url, capsys):
    token = _run(capsys, "create", "--name", "long", "--expires", "3650d", "--db", postgres_url)
    with psycopg.connect(postgres_url) as connection:
        row = connection.execute(
            "SELECT expires_at - created_at FROM api_tokens WHERE token_id = %s",
            (token.out.strip()[:16],),
        ).fetchone()
    assert row == (dt.timedelta(days=3650),)


def test_revoking_an_unknown_id_lists_the_known_ones(postgres_url, capsys):
    token = _run(capsys, "create", "--name", "a", "--db", postgres_url).out.strip()
    with pytest.raises(GenieError, match=rf"no token with id 'fg_test_nope'.*{token[:16]}"):
        _run(capsys, "revoke", "fg_test_nope", "--db", postgres_url)


def test_an_unknown_id_longer_than_an_id_is_named_as_typed(postgres_url, capsys):
    """An id is 16 characters; what the user typed is named whole, not cut to 16."""
    token = _run(capsys, "create", "--name", "a", "--db", postgres_url).out.strip()
    with pytest.raises(GenieError) as raised:
        _run(capsys, "revoke", "fg_test_doesnotexist", "--db", postgres_url)
    assert str(raised.value) == (
        f"no token with id 'fg_test_doesnotexist'. Known ids: {token[:16]} (see fauxsim token list)"
    )


def test_a_whole_token_revokes_the_token_it_is(postgres_url, capsys):
    token = _run(capsys, "create", "--name", "whole", "--db", postgres_url).out.strip()
    out = _run(capsys, "revoke", token, "--db", postgres_url)
    assert out.out.startswith(f"revoked {token[:16]} (whole) at ")


def test_list_keeps_every_value_whole_on_a_narrow_terminal(postgres_url, capsys, monkeypatch):
    """80 columns (a pipe) and seven columns: values wrap whole rather than end in "…"."""
    monkeypatch.setattr(console, "width", 80)
    name, scopes = "orders-pipeline-laptop", "read:orders,read:order_line_items,read:customers"
    token = _run(capsys, "create", "--name", name, "--scopes", scopes, "--db", postgres_url).out
    listed = _run(capsys, "list", "--db", postgres_url).out
    row = next(line for line in listed.splitlines() if token.strip()[:16] in line)
    assert name in row
    assert "read:orders, read:order_line_items, read:customers" in row
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", row)
    assert "…" not in listed
    assert console.width == 80  # the shared console is left as it was


def test_revoking_twice_keeps_the_first_revocation_time(postgres_url, capsys):
    """``revoke_token`` promises it: a second revoke must not move ``revoked_at``."""
    token = _run(capsys, "create", "--name", "twice", "--db", postgres_url).out.strip()
    first = _run(capsys, "revoke", token[:16], "--db", postgres_url).out
    with psycopg.connect(postgres_url) as connection:
        stored_first = revoked_at(connection, token[:16])
        # Both revocations inside one second would hide an overwrite: move the first back.
        connection.execute(
            "UPDATE api_tokens SET revoked_at = revoked_at - interval '1 hour' WHERE token_id = %s",
            (token[:16],),
        )
        connection.commit()
        stored_first -= dt.timedelta(hours=1)
    second = _run(capsys, "revoke", token[:16], "--db", postgres_url).out
    with psycopg.connect(postgres_url) as connection:
        assert revoked_at(connection, token[:16]) == stored_first
    assert first.startswith(f"revoked {token[:16]}")
    assert second.startswith(f"revoked {token[:16]}")
    assert first != second  # the second names the (moved) first time, not now


def revoked_at(connection, token_id):
    row = connection.execute(
        "SELECT revoked_at FROM api_tokens WHERE token_id = %s", (token_id,)
    ).fetchone()
    assert row is not None
    assert row[0] is not None
    return row[0]
