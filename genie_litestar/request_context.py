"""Per-request bookkeeping: a request id, headers every response carries, an access log.

Headers that belong on every response (request id, rate-limit state) are kept in the
ASGI scope, so that the normal path (a ``send`` wrapper) and the error handlers (which
may run outside that wrapper) add exactly the same ones.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from typing import TYPE_CHECKING, Any

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

_REQUEST_ID = "genie.request_id"
_EXTRA_HEADERS = "genie.headers"
_STARTED = "genie.started"
_STATUS = "genie.status"
_API_PREFIX = "/v1/"
# A caller's own request id is kept when it is short and plain, so it can be traced.
_ACCEPTED_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Anything shaped like a token is cut out of what reaches the log.
_TOKEN_TEXT = re.compile(r"fg_[A-Za-z0-9_]+")

access_logger = logging.getLogger("genie.access")


def _state(scope: Scope) -> dict[str, Any]:
    state: dict[str, Any] = scope.setdefault("state", {})
    return state


def request_id_of(scope: Scope) -> str:
    state = _state(scope)
    if _REQUEST_ID not in state:
        state[_STARTED] = time.perf_counter()
        state[_REQUEST_ID] = _incoming_request_id(scope) or f"req_{secrets.token_hex(8)}"
    request_id: str = state[_REQUEST_ID]
    return request_id


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _ACCEPTED_REQUEST_ID.fullmatch(text) else None
    return None


def add_response_headers(scope: Scope, headers: dict[str, str]) -> None:
    """Headers for whatever response this request ends with (error or not)."""
    _state(scope).setdefault(_EXTRA_HEADERS, {}).update(headers)


def response_headers_for(scope: Scope) -> dict[str, str]:
    headers = {"X-Request-Id": request_id_of(scope)}
    headers.update(_state(scope).get(_EXTRA_HEADERS, {}))
    return headers


def redact(text: str) -> str:
    return _TOKEN_TEXT.sub("fg_[redacted]", text)


def start_request_middleware(app: ASGIApp) -> ASGIApp:
    """First route middleware: fix the request id and start the clock early."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        request_id_of(scope)
        await app(scope, receive, send)

    return middleware


async def before_send(message: Message, scope: Scope) -> None:
    """App-level hook, so it also sees 404/405 answered while routing.

    Adds the shared headers to the response and writes one access-log line.
    """
    if scope["type"] != ScopeType.HTTP:
        return
    state = _state(scope)
    if message["type"] == "http.response.start":
        headers = MutableScopeHeaders.from_message(message)
        for name, value in response_headers_for(scope).items():
            if name not in headers:
                headers[name] = value
        if scope["path"].startswith(_API_PREFIX):
            # Answers behind a token (and the 401s and 429s about it) are the caller's
            # own: no shared or browser cache may keep them.
            headers["Cache-Control"] = "no-store"
        state[_STATUS] = message["status"]
    elif message["type"] == "http.response.body" and not message.get("more_body", False):
        log_access(scope, state.get(_STATUS, 0), time.perf_counter() - state[_STARTED])


def log_access(scope: Scope, status: int, seconds: float) -> None:
    query = scope.get("query_string", b"").decode("latin-1")
    target = redact(scope["path"] + (f"?{query}" if query else ""))
    access_logger.info(
        '%s "%s %s" %d %.1fms',
        request_id_of(scope),
        scope.get("method", "-"),
        target,
        status,
        seconds * 1000,
    )
