"""A deadline for every request: uvicorn's h11 protocol, closing connections that dawdle.

uvicorn has no deadline for receiving a request. Its keep-alive timeout is reset by every
byte and is off while a request is half received, and the app (middleware included) only
sees a request once its headers are complete. So a client that sends half a header and
then one byte now and then holds a connection for as long as it likes, and a few
hundred of them hold the server (Slowloris).

This protocol gives each request a deadline: from the moment the connection opens (or
the previous response ended, on a kept-alive connection) the whole request must arrive
within ``GENIE_REQUEST_DEADLINE_SECONDS`` (default 10). Past it, a client that had begun
a request gets ``408 Request Timeout`` and the connection is closed. uvicorn's
``--limit-concurrency`` bounds how many connections are held at once besides.

``fauxsim serve`` uses it; with plain uvicorn pass
``--http genie_litestar.slow_clients:DeadlineH11Protocol``.
"""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING, Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

if TYPE_CHECKING:
    import asyncio

    from uvicorn.config import Config
    from uvicorn.server import ServerState

DEADLINE_VARIABLE = "GENIE_REQUEST_DEADLINE_SECONDS"
DEFAULT_DEADLINE_SECONDS = 10.0
PROTOCOL = "genie_litestar.slow_clients:DeadlineH11Protocol"

# A problem+json like the app's errors; without a request id, as the app never saw it.
_TIMEOUT_BODY = (
    b'{"type":"urn:fauxgenie:problem:request-timeout","title":"Request Timeout",'
    b'"status":408,"detail":"the request did not arrive whole in time; send it at once"}'
)
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: application/problem+json\r\n"
    b"connection: close\r\n"
    b"content-length: %d\r\n\r\n" % len(_TIMEOUT_BODY)
) + _TIMEOUT_BODY
# The client has sent its whole request (or the connection is over): no deadline then.
_RECEIVED = frozenset({h11.DONE, h11.MUST_CLOSE, h11.CLOSED, h11.ERROR})


@cache
def deadline_from_environment() -> float:
    """The deadline in seconds, from GENIE_REQUEST_DEADLINE_SECONDS (set by fauxsim serve).

    Read once per process, at its first connection: after ``fauxsim serve`` has set it,
    even when the server runs in the process that imported this module.
    """
    text = os.environ.get(DEADLINE_VARIABLE, "")
    if not text:
        return DEFAULT_DEADLINE_SECONDS
    seconds = float(text)
    if not seconds > 0:
        msg = f"{DEADLINE_VARIABLE} must be a positive number of seconds, got {text!r}"
        raise ValueError(msg)
    return seconds


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each complete request."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._deadline_seconds = deadline_from_environment()
        self._deadline: asyncio.TimerHandle | None = None
        self._began = False  # a byte of the pending request has arrived

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        self._began = True
        super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state in _RECEIVED:
            self._disarm()

    def on_response_complete(self) -> None:
        if not self.transport.is_closing():
            # The next request on this connection gets a deadline of its own. Armed
            # before uvicorn reads a pipelined request, which disarms it when whole.
            self._arm()
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._began = False
        self._deadline = self.loop.call_later(self._deadline_seconds, self._deadline_passed)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _deadline_passed(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._began and self.conn.our_state is h11.IDLE:
            self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()
