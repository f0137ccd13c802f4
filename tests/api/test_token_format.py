"""The token format: which part of user text names a token (no database needed)."""

from __future__ import annotations

from genie_litestar.auth.tokens import id_from_user_text, issue_token


def test_a_whole_token_is_cut_to_its_id():
    issued = issue_token()
    assert id_from_user_text(issued.token) == issued.token_id


def test_an_id_is_kept_as_typed():
    assert id_from_user_text("fg_test_AbCd1234") == "fg_test_AbCd1234"


def test_text_that_is_neither_an_id_nor_a_token_is_kept_whole():
    assert id_from_user_text(" fg_test_doesnotexist ") == "fg_test_doesnotexist"
    truncated = issue_token().token[:-1]
    assert id_from_user_text(truncated) == truncated
