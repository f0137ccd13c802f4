"""What a broker's refusal means for the user, in one line without a traceback."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pika.exceptions import (
    AuthenticationError,
    ChannelClosedByBroker,
    ConnectionClosedByBroker,
    ProbableAccessDeniedError,
    ProbableAuthenticationError,
)

from fauxsim.errors import SinkError

if TYPE_CHECKING:
    from fauxsim.sinks.stream.address import BrokerAddress

# AMQP reply codes.
_ACCESS_REFUSED, _NOT_FOUND, _NOT_ALLOWED, _PRECONDITION_FAILED = 403, 404, 530, 406


def open_error(reason: BaseException, address: BrokerAddress, exchange: str) -> SinkError:
    """The one-line message for a broker that cannot be used at all."""
    where = f"RabbitMQ {address.masked()}"
    code = getattr(reason, "reply_code", None)
    if isinstance(reason, ChannelClosedByBroker) and code == _PRECONDITION_FAILED:
        msg = (
            f"the exchange {exchange!r} on {where} exists with another type or settings "
            f"({describe_reason(reason)}); a stream needs a durable topic exchange: "
            "delete that one or choose another name with --stream-exchange"
        )
    elif isinstance(reason, AuthenticationError | ProbableAuthenticationError) or (
        isinstance(reason, ConnectionClosedByBroker) and code == _ACCESS_REFUSED
    ):
        msg = (
            f"{where} refused the credentials of user {address.user!r}; "
            "check the user and password in the URL"
        )
    elif isinstance(reason, ProbableAccessDeniedError) or (
        isinstance(reason, ConnectionClosedByBroker) and code in {_NOT_ALLOWED, _NOT_FOUND}
    ):
        msg = (
            f"{where} has no virtual host {address.vhost!r}, or user {address.user!r} may "
            "not use it; create it (rabbitmqctl add_vhost) or fix the URL's path"
        )
    else:
        msg = f"cannot use {where}: {describe_reason(reason)}; is the broker running there?"
    return SinkError(msg)


def describe_reason(error: BaseException) -> str:
    """What went wrong, in a few words, without a traceback or a class name to decode."""
    inner = error
    while (cause := _cause(inner)) is not None:
        inner = cause
    if isinstance(inner, OSError) and inner.strerror:
        return inner.strerror.lower()
    code, text = getattr(inner, "reply_code", None), getattr(inner, "reply_text", None)
    if code is not None:
        return f"{code} {text}"
    return str(inner) or type(inner).__name__


def _cause(error: BaseException) -> BaseException | None:
    """The error pika wrapped in ``error``: its last attempt's, its phase's, or its argument."""
    attempts = getattr(error, "exceptions", None)
    if attempts:
        return attempts[-1]  # type: ignore[no-any-return]
    phase = getattr(error, "exception", None)
    if isinstance(phase, BaseException):
        return phase
    return next((arg for arg in reversed(error.args) if isinstance(arg, BaseException)), None)
