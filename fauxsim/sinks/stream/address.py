"""A broker URL, checked and split: where to connect, and how to print it without a password."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import pika

from fauxsim.errors import SinkError

DEFAULT_PORT = {"amqp": 5672, "amqps": 5671}
_MASK = "***"

# pika appends the error it caught: "Invalid heartbeat value 'abc': ValueError(...)".
_NESTED_REPR = re.compile(r": \w+\(.*\)$")


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    """The parts of an ``amqp://user:password@host:port/vhost`` URL that a run depends on."""

    url: str
    host: str
    port: int
    vhost: str
    user: str

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """Raises :class:`SinkError` for anything that is not an amqp(s) URL with a host and
        query parameters pika can use."""
        try:
            parts = urlsplit(url)
        except ValueError as error:  # an unclosed "[" of an IPv6 host
            msg = f"malformed broker URL {mask_password(url)!r}: {error}"
            raise SinkError(msg) from None
        if parts.scheme not in DEFAULT_PORT:
            valid = ", ".join(f"{scheme}://" for scheme in DEFAULT_PORT)
            msg = f"malformed broker URL {mask_password(url)!r}: it must start with {valid}"
            raise SinkError(msg)
        try:
            port = parts.port or DEFAULT_PORT[parts.scheme]
        except ValueError:
            msg = f"malformed broker URL {mask_password(url)!r}: the port is not a number 1-65535"
            raise SinkError(msg) from None
        if not parts.hostname:
            msg = f"malformed broker URL {mask_password(url)!r}: no host (amqp://host:5672/)"
            raise SinkError(msg)
        _check_query(url)
        # As pika and aiormq read it: no path or "/" is the default vhost "/".
        vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
        return cls(url, parts.hostname, port, vhost, unquote(parts.username or "guest"))

    def masked(self) -> str:
        return mask_password(self.url)


def _check_query(url: str) -> None:
    """Raise :class:`SinkError` for a query parameter pika would refuse: checked here, in the
    run's process, rather than found by the publisher process it starts."""
    try:
        pika.URLParameters(url)
    # What pika's parsers raise for a bad value (int(), float(), ast.literal_eval, the
    # files ssl_options names); the reason quotes the parameter, never the password.
    except (ValueError, TypeError, SyntaxError, AttributeError, OSError) as error:
        reason = _NESTED_REPR.sub("", str(error)) or type(error).__name__
        if isinstance(error, OSError):  # only ssl_options reads files (certificates)
            reason = f"ssl_options names a file that cannot be used ({reason})"
        msg = f"malformed broker URL {mask_password(url)!r}: {reason}"
        raise SinkError(msg) from None


def mask_password(url: str) -> str:
    """``url`` with its password replaced by ``***``, safe to print."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    authority, slash, path = rest.partition("/")
    userinfo, at, hostinfo = authority.rpartition("@")
    if at and ":" in userinfo:
        authority = f"{userinfo.partition(':')[0]}:{_MASK}@{hostinfo}"
    return f"{scheme}://{authority}{slash}{path}"
