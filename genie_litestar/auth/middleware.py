"""Who is calling: resolve the bearer token once, before rate limiting and guards.

This middleware never refuses a request itself. It records the principal (or its
absence) in the scope; the rate limiter keys on it and the ``requires_*`` guards
decide. The token text is never logged or stored anywhere else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar.enums import ScopeType

from genie_litestar.auth.store import Principal, authenticate
from genie_litestar.database import pool_of

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Receive, Scope, Send

_PRINCIPAL = "genie.principal"
API_PREFIX = "/v1/"


def bearer_token(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            return None
    return None


def principal_of(scope: Scope) -> Principal | None:
    state: dict[str, Any] = scope.get("state", {})
    principal: Principal | None = state.get(_PRINCIPAL)
    return principal


def authentication_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope["path"].startswith(API_PREFIX):
            token = bearer_token(scope)
            principal = None
            if token is not None:
                async with pool_of(scope["litestar_app"].state).connection() as connection:
                    principal = await authenticate(connection, token)
            scope["state"][_PRINCIPAL] = principal
        await app(scope, receive, send)

    return middleware
