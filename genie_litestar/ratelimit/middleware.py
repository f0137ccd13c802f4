"""Spend one request from the caller's bucket; 429 with Retry-After when it is empty.

The bucket belongs to the token when the caller has a valid one, else to the client
address, so bad tokens are limited too. The RateLimit-* headers go on every /v1
response, errors included.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar.enums import ScopeType

from genie_litestar.auth.middleware import API_PREFIX, client_address, principal_of
from genie_litestar.problems import ProblemError
from genie_litestar.request_context import add_response_headers

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Receive, Scope, Send

    from genie_litestar.ratelimit.buckets import Buckets


def bucket_key(scope: Scope) -> str:
    principal = principal_of(scope)
    if principal is not None:
        return f"token:{principal.token_id}"
    return f"address:{client_address(scope)}"


def rate_limit_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope["path"].startswith(API_PREFIX):
            buckets: Buckets = scope["litestar_app"].state.buckets
            decision = await buckets.take(bucket_key(scope))
            add_response_headers(scope, decision.headers())
            if not decision.allowed:
                raise ProblemError(
                    429,
                    "rate-limited",
                    f"rate limit of {decision.limit} requests exceeded; retry after"
                    f" {decision.retry_after_seconds} s",
                    headers={"Retry-After": str(decision.retry_after_seconds)},
                )
        await app(scope, receive, send)

    return middleware
