"""A broker URL, checked and split: where to connect, and how to print it without a password."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from fauxsim.errors import SinkError

DEFAULT_PORT = {"amqp": 5672, "amqps": 5671}
_MASK = "***"


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
        """Raises :class:`SinkError` for anything that is not an amqp(s) URL with a host."""
        parts = urlsplit(url)
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
        # As pika and aiormq read it: no path or "/" is the default vhost "/".
        vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
        return cls(url, parts.hostname, port, vhost, unquote(parts.username or "guest"))

    def masked(self) -> str:
        return mask_password(self.url)


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
