"""The token format: ``fg_test_<id><secret><checksum>``.

- ``fg_test_`` is a fixed prefix that secret scanners (and people) can recognise;
  ``test`` because the data behind it is made up.
- ``<id>`` (8 characters) names the token in ``fauxsim token list`` and revocation.
- ``<secret>`` (32 characters, about 190 bits) is what makes it unguessable.
- ``<checksum>`` (6 characters, CRC32 of everything before it) rejects a mistyped or
  truncated token before any database lookup.

Only a SHA-256 digest of the whole token is stored. A slow password hash is not needed:
the token is random with far more entropy than any brute force can cover.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import zlib
from dataclasses import dataclass

PREFIX = "fg_test_"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_LENGTH = 8
_SECRET_LENGTH = 32
_CHECKSUM_LENGTH = 6
_SHAPE = re.compile(
    rf"{PREFIX}[0-9A-Za-z]{{{_ID_LENGTH + _SECRET_LENGTH}}}[0-9A-Za-z]{{{_CHECKSUM_LENGTH}}}"
)


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str  # shown once, never stored
    token_id: str
    secret_hash: str


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, len(_ALPHABET))
        digits.append(_ALPHABET[digit])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), _CHECKSUM_LENGTH)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token() -> IssuedToken:
    random_part = "".join(secrets.choice(_ALPHABET) for _ in range(_ID_LENGTH + _SECRET_LENGTH))
    body = PREFIX + random_part
    token = body + _checksum(body)
    return IssuedToken(token=token, token_id=token_id_of(token), secret_hash=hash_token(token))


def token_id_of(token: str) -> str:
    return token[: len(PREFIX) + _ID_LENGTH]


def id_from_user_text(text: str) -> str:
    """The id a user means: a whole token's id, or the text as typed (an id, or a mistake).

    Only a well-formed token is cut to its id; anything else is kept whole, so that an
    unknown id is reported as the user typed it, not cut to the length of an id.
    """
    text = text.strip()
    return token_id_of(text) if is_well_formed(text) else text


def is_well_formed(token: str) -> bool:
    """Prefix, length, alphabet and checksum are right: worth a database lookup."""
    if not _SHAPE.fullmatch(token):
        return False
    body, checksum = token[:-_CHECKSUM_LENGTH], token[-_CHECKSUM_LENGTH:]
    return secrets.compare_digest(checksum, _checksum(body))
