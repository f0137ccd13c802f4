"""Opaque, signed page cursors.

A cursor carries where the previous page ended (``after``), the horizon fixed on the
first page, a digest of the filters it was made for, and the id of the key that signed
it. It is signed with HMAC so a client cannot edit it into a different query, and
compared with the filters the client sends alongside (dlt resends them) so that changing
a filter mid-run is refused. The key id tells a cursor signed with another key (another
server's, or one this database no longer uses) from one that was altered.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass

import msgspec

_SIGNATURE_BYTES = 16
_DIGEST_BYTES = 12
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


class CursorError(ValueError):
    """A cursor that was tampered with, truncated, or made for other filters."""

    kind = "invalid"


class ForeignCursorError(CursorError):
    """A genuine-looking cursor signed with another key: another server's, or expired."""

    kind = "expired"


@dataclass(frozen=True, slots=True)
class Filters:
    """What a list request selects, independent of how it is paged."""

    resource: str
    updated_since: int | None  # inclusive, microseconds since the epoch
    updated_before: int | None  # exclusive

    def digest(self) -> bytes:
        text = f"{self.resource}|{self.updated_since}|{self.updated_before}"
        return hashlib.sha256(text.encode()).digest()[:_DIGEST_BYTES]


@dataclass(frozen=True, slots=True)
class Position:
    """The last row of the previous page and the horizon of the paging run."""

    after_micros: int
    after_id: int
    horizon_micros: int


_Payload = tuple[int, int, int, bytes, bytes]
# Cursors from before the key id was added: they can only have come from an older key.
_OldPayload = tuple[int, int, int, bytes]
_KEY_ID_BYTES = 4


def _canonical_base64url(text: str) -> bytes:
    """The bytes of unpadded base64url text that is written exactly as ``encode`` writes.

    ``urlsafe_b64decode`` skips characters outside its alphabet and takes '+' and '/'
    too, so ``cursor + "!!!"`` or standard base64 would decode to the same cursor.
    """
    if not _BASE64URL.fullmatch(text):
        raise CursorError("not a cursor this API issued")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise CursorError("not a cursor this API issued") from None
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != text:  # unused trailing bits
        raise CursorError("not a cursor this API issued")
    return raw


class CursorCodec:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        # Names the key without revealing it (an HMAC of a constant).
        self.key_id = hmac.new(secret, b"genie cursor key id", hashlib.sha256).digest()[
            :_KEY_ID_BYTES
        ]

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self._secret, body, hashlib.sha256).digest()[:_SIGNATURE_BYTES]

    def encode(self, position: Position, filters: Filters) -> str:
        payload: _Payload = (
            position.after_micros,
            position.after_id,
            position.horizon_micros,
            filters.digest(),
            self.key_id,
        )
        body = msgspec.msgpack.encode(payload)
        return base64.urlsafe_b64encode(body + self._sign(body)).rstrip(b"=").decode()

    def decode(self, cursor: str, filters: Filters) -> Position:
        """The position in ``cursor``, if it is genuine and made for ``filters``."""
        raw = _canonical_base64url(cursor)
        body, signature = raw[:-_SIGNATURE_BYTES], raw[-_SIGNATURE_BYTES:]
        if len(raw) <= _SIGNATURE_BYTES:
            raise CursorError("not a cursor this API issued")
        after_micros, after_id, horizon_micros, digest, key_id = _payload(body)
        if key_id != self.key_id:
            raise ForeignCursorError("signed with a key this server does not use")
        if not hmac.compare_digest(signature, self._sign(body)):
            raise CursorError("not a cursor this API issued")
        if not hmac.compare_digest(digest, filters.digest()):
            raise CursorError("made for another resource or different filters")
        return Position(after_micros, after_id, horizon_micros)


def _payload(body: bytes) -> _Payload:
    try:
        payload: _Payload = msgspec.msgpack.decode(body, type=_Payload)
    except msgspec.DecodeError:
        pass
    else:
        return payload
    try:
        msgspec.msgpack.decode(body, type=_OldPayload)
    except msgspec.DecodeError:
        raise CursorError("not a cursor this API issued") from None
    raise ForeignCursorError("signed with a key this server does not use")
