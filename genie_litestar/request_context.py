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
from urllib.parse import parse_qsl

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

_REQUEST_ID = "genie.request_id"
_EXTRA_HEADERS = "genie.headers"
_STARTED = "genie.started"
_STATUS = "genie.status"
_API_PREFIX = "/v1/"
# What may reach the log as it was sent: short plain words (resource names, ids, file
# names). Anything else is replaced, whatever its encoding: a token with or without its
# prefix, percent-encoded, in base64 or hex all hold a long run of letters and digits,
# a prefix, or characters outside this set.
_PLAIN = re.compile(r"[A-Za-z0-9._-]{1,64}")
_CREDENTIAL_LIKE = re.compile(r"fg_|[A-Za-z0-9]{24,}", re.IGNORECASE)
REDACTED = "[redacted]"

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
            # A caller's own request id is kept when it is short and plain, so it can be
            # traced; it is logged, so it must not look like a credential either.
            text = value.decode("latin-1")
            return text if is_plain(text) else None
    return None


def add_response_headers(scope: Scope, headers: dict[str, str]) -> None:
    """Headers for whatever response this request ends with (error or not)."""
    _state(scope).setdefault(_EXTRA_HEADERS, {}).update(headers)


def response_headers_for(scope: Scope) -> dict[str, str]:
    headers = {"X-Request-Id": request_id_of(scope)}
    headers.update(_state(scope).get(_EXTRA_HEADERS, {}))
    return headers


def is_plain(text: str) -> bool:
    return bool(_PLAIN.fullmatch(text)) and not _CREDENTIAL_LIKE.search(text)


def loggable_target(path: str, query_string: bytes) -> str:
    """The request target as the access log shows it.

    Path segments that are not plain words are replaced, and of the query only the
    parameter names are kept: values (tokens pasted into ``?x=``, cursors) never are.
    """
    segments = [s if not s or is_plain(s) else REDACTED for s in path.split("/")]
    target = "/".join(segments)
    if query_string:
        names = [
            name if is_plain(name) else REDACTED
            for name, _ in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
        ]
        target += "?" + "&".join(names)
    return target


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
    target = loggable_target(scope["path"], scope.get("query_string", b""))
    access_logger.info(
        '%s "%s %s" %d %.1fms',
        request_id_of(scope),
        scope.get("method", "-"),
        target,
        status,
        seconds * 1000,
    )
