"""Who is calling: resolve the bearer token once, before rate limiting and guards.

This middleware refuses a request itself only when its address failed to authenticate
too often (429, before any lookup: see ``throttle``). Otherwise it records the principal
(or its absence) in the scope; the rate limiter keys on it and the ``requires_*`` guards
decide. The token text is never logged or stored anywhere else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar.enums import ScopeType

from genie_litestar.auth.store import Principal, authenticate
from genie_litestar.database import pool_of
from genie_litestar.problems import ProblemError

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Receive, Scope, Send

    from genie_litestar.auth.throttle import FailedAuthentications

_PRINCIPAL = "genie.principal"
_AMBIGUOUS = "genie.ambiguous_credentials"
API_PREFIX = "/v1/"


def authorization_headers(scope: Scope) -> list[bytes]:
    return [value for name, value in scope.get("headers", ()) if name == b"authorization"]


def bearer_token(scope: Scope) -> str | None:
    """The token of the one Authorization header; None if absent, not Bearer, or repeated."""
    headers = authorization_headers(scope)
    if len(headers) != 1:
        return None
    scheme, _, token = headers[0].decode("latin-1").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _is_ambiguous(headers: list[bytes]) -> bool:
    # A comma is how a proxy (or a test client) joins two headers into one value; a
    # token never holds one.
    return len(headers) > 1 or any(b"," in value for value in headers)


def has_ambiguous_credentials(scope: Scope) -> bool:
    """Two Authorization headers: which one counts would be a guess (proxies differ)."""
    state: dict[str, Any] = scope.get("state", {})
    return bool(state.get(_AMBIGUOUS))


def principal_of(scope: Scope) -> Principal | None:
    state: dict[str, Any] = scope.get("state", {})
    principal: Principal | None = state.get(_PRINCIPAL)
    return principal


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


async def _principal(scope: Scope, token: str) -> Principal | None:
    state = scope["litestar_app"].state
    failures: FailedAuthentications = state.failed_authentications
    address = client_address(scope)
    refusal = failures.spent(address)
    if refusal is not None:
        raise ProblemError(
            429,
            "too-many-failed-authentications",
            "too many requests with invalid tokens from this address; retry after"
            f" {refusal.retry_after_seconds} s with a valid token",
            headers={"Retry-After": str(refusal.retry_after_seconds)},
        )
    principal = None
    if not failures.known_bad(token):
        async with pool_of(state).connection() as connection:
            principal = await authenticate(connection, token)
    if principal is None:
        await failures.failed(address, token)
    return principal


def authentication_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope["path"].startswith(API_PREFIX):
            ambiguous = _is_ambiguous(authorization_headers(scope))
            scope["state"][_AMBIGUOUS] = ambiguous
            token = None if ambiguous else bearer_token(scope)
            principal = None
            if token is not None:
                principal = await _principal(scope, token)
            scope["state"][_PRINCIPAL] = principal
        await app(scope, receive, send)

    return middleware
