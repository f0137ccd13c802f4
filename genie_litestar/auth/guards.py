"""Guards on the /v1 routes: credentials where they belong, a valid token, the scope."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from genie_litestar.auth.middleware import has_ambiguous_credentials, principal_of
from genie_litestar.auth.scopes import allows
from genie_litestar.auth.tokens import PREFIX
from genie_litestar.problems import ProblemError

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.handlers import BaseRouteHandler

# Names that clients commonly use to put a credential in the URL.
_CREDENTIAL_PARAMETERS = frozenset({"access_token", "token", "api_key", "apikey", "key", "auth"})

# The same answer for a missing, malformed, unknown, expired or revoked token, so the
# response tells an attacker nothing about which of these it was.
BAD_BEARER_MESSAGE = (
    "missing or invalid bearer token. Send 'Authorization: Bearer fg_test_...' with a"
    " token from 'fauxsim token create' that is neither expired nor revoked"
)
WWW_AUTHENTICATE = 'Bearer error="invalid_token"'


def requires_no_credentials_in_query(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """A token in a URL ends up in proxy and browser histories: refuse it (400)."""
    for name, value in connection.query_params.multi_items():
        if name.lower() in _CREDENTIAL_PARAMETERS or PREFIX in value:
            raise ProblemError(
                400,
                "token-in-query",
                f"query parameter {name!r} carries a credential; tokens are only accepted"
                " in the Authorization header. Treat that token as leaked: revoke it"
                " (fauxsim token revoke) and create a new one",
            )


def requires_one_authorization_header(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    if has_ambiguous_credentials(connection.scope):
        raise ProblemError(
            400,
            "repeated-authorization",
            "the Authorization header was sent more than once; send exactly one,"
            " 'Authorization: Bearer fg_test_...'",
        )


def requires_valid_token(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    if principal_of(connection.scope) is None:
        raise ProblemError(
            401,
            "invalid-token",
            BAD_BEARER_MESSAGE,
            headers={"WWW-Authenticate": WWW_AUTHENTICATE},
        )


def requires_read_scope(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """The token must hold ``read:<resource>`` or ``read:all`` for the route's resource.

    Litestar's automatic OPTIONS handler of a route declares no scope: it answers only
    which methods the route allows, so any valid token may ask. Any other handler without
    a scope is refused, so that forgetting to declare one never opens a route.
    """
    principal = principal_of(connection.scope)
    needed: str | None = handler.opt.get("scope")
    if needed is None:
        if connection.scope.get("method") == "OPTIONS" and principal is not None:
            return
        raise ProblemError(403, "missing-scope", "this route declares no scope; none may read it")
    if principal is None or not allows(principal.scopes, needed):
        raise ProblemError(
            403,
            "missing-scope",
            f"this token lacks the scope {needed!r}. Create a token with --scopes {needed}"
            " or --scopes read:all",
        )
