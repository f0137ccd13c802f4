"""Which database to use, how to connect to it, and how its failures read to a user.

A URL comes from ``--db``, else the ``DATABASE_URL`` environment variable, else the
embedded Postgres (started on first use, reused afterwards). Users type plain
``postgresql://`` URLs; psycopg takes them as they are and SQLAlchemy gets the same URL
with the ``postgresql+psycopg`` driver, so no second driver is ever needed.

Every connection failure becomes a :class:`DatabaseError` naming the URL (password
masked) and what to do, so the CLI can print one line instead of a traceback.
"""

from __future__ import annotations

import difflib
import os
import re
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict

from fauxsim.errors import FauxError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from psycopg.rows import TupleRow

DATABASE_URL_ENV = "DATABASE_URL"
_SCHEMES = ("postgresql", "postgres")
_DRIVERS = ("", "psycopg", "psycopg2", "psycopg2cffi", "asyncpg")
_CONNECT_TIMEOUT_SECONDS = 10
_MASK = "***"
_KEYWORDS_URL = "https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-PARAMKEYWORDS"


class DatabaseError(FauxError):
    """The database is unreachable, refuses us, or holds something we must not touch."""

    exit_code = 3


def resolve_database_url(explicit: str | None) -> str:
    """The URL to use: ``explicit`` (``--db``), else ``DATABASE_URL``, else embedded Postgres."""
    if explicit:
        return validate_url(explicit)
    from_env = os.environ.get(DATABASE_URL_ENV, "").strip()
    if from_env:
        return validate_url(from_env)
    # Imported here: starting the embedded server is only needed when no URL was given.
    from fauxsim.sinks.postgres.embedded import ensure_embedded_server  # noqa: PLC0415

    return ensure_embedded_server().url


def validate_url(url: str) -> str:
    """``url`` stripped of blanks, or a :class:`DatabaseError` if it is not a Postgres URL
    libpq can read."""
    url = url.strip()
    scheme, _, rest = url.partition("://")
    base, _, driver = scheme.partition("+")
    if not rest or base not in _SCHEMES or driver not in _DRIVERS:
        msg = (
            f"database URL {mask_password(url)!r} is not a Postgres URL. "
            "Valid forms are: postgresql://user:password@host:5432/database, "
            "postgres://..., postgresql+psycopg://... "
            "Pass one with --db or DATABASE_URL, or pass neither to use the embedded Postgres."
        )
        raise DatabaseError(msg)
    _check_parameters(url, f"{base}://{rest}")
    return url


def _check_parameters(url: str, target: str) -> None:
    """Raise :class:`DatabaseError` for what libpq cannot read in ``target`` (``url`` without
    its driver): an unknown or malformed query parameter, a bad percent-encoding, an
    unclosed IPv6 bracket, a connect_timeout that is not a number. Checked before any
    connection, as psycopg would raise them as programming errors, with a traceback."""
    query = target.partition("?")[2]
    for name in (unquote(pair.partition("=")[0]) for pair in query.split("&") if pair):
        if name not in _libpq_keywords():
            close = difflib.get_close_matches(name, _libpq_keywords(), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "."
            reason = (
                f"unknown query parameter {name!r}{hint} Valid parameters are libpq's "
                f"connection keywords: {_KEYWORDS_URL}"
            )
            raise DatabaseError(_malformed(url, reason))
    try:
        params = conninfo_to_dict(target)
    except psycopg.ProgrammingError as error:
        raise DatabaseError(_malformed(url, _without_secrets(_first_line(error), url))) from None
    timeout = params.get("connect_timeout")
    if timeout is not None and not re.fullmatch(r"\s*[-+]?\d+\s*", str(timeout)):
        reason = f"connect_timeout must be a whole number of seconds, not {timeout!r}"
        raise DatabaseError(_malformed(url, reason))


@cache
def _libpq_keywords() -> list[str]:
    """The connection keywords this libpq knows (a URL's query parameters are these)."""
    return sorted(option.keyword.decode() for option in pq.Conninfo.get_defaults())


def _malformed(url: str, reason: str) -> str:
    return f"database URL {mask_password(url)!r} is malformed: {reason}"


def _without_secrets(text: str, url: str) -> str:
    """libpq's reason with the secrets it may quote masked: the whole URL, or the token it
    could not decode (the password itself, for a bad percent-encoding)."""
    passwords = {_raw_password(url), *re.findall(r"[?&]password=([^&#]*)", url)} - {""}

    def masked(quoted: re.Match[str]) -> str:
        token = quoted[1]
        if "://" in token:
            return f'"{mask_password(token)}"'
        return f'"{_MASK}"' if token in passwords else quoted[0]

    return re.sub(r'"([^"]*)"', masked, text)


def _raw_password(url: str) -> str:
    """The password in ``url``'s authority as typed (not decoded), "" if none."""
    authority = re.split(r"[/?#]", url.partition("://")[2], maxsplit=1)[0]
    userinfo, at, _ = authority.rpartition("@")
    return userinfo.partition(":")[2] if at else ""


def libpq_url(url: str) -> str:
    """``url`` as libpq (psycopg) reads it: any ``+driver`` suffix removed."""
    scheme, sep, rest = validate_url(url).partition("://")
    return f"{scheme.partition('+')[0]}{sep}{rest}"


def sqlalchemy_url(url: str) -> str:
    """``url`` for SQLAlchemy, always through psycopg 3 (``postgresql+psycopg://``)."""
    _, sep, rest = validate_url(url).partition("://")
    return f"postgresql+psycopg{sep}{rest}"


def mask_password(url: str) -> str:
    """``url`` with any password replaced by ``***``, safe to print or log."""
    if "://" not in url:  # libpq "key=value" form
        return re.sub(r"(password\s*=\s*)(\S+)", rf"\g<1>{_MASK}", url)
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed "[" of an IPv6 host: mask by position instead
        password = _raw_password(url)
        if password:
            scheme, _, rest = url.partition("://")
            user, _, after = rest.partition(f":{password}@")
            url = f"{scheme}://{user}:{_MASK}@{after}"
        return re.sub(r"([?&]password=)[^&#]*", rf"\g<1>{_MASK}", url)
    netloc = parts.netloc
    userinfo, at, hostinfo = netloc.rpartition("@")
    if at and ":" in userinfo:
        user = userinfo.partition(":")[0]
        netloc = f"{user}:{_MASK}@{hostinfo}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(key, _MASK if key == "password" else value) for key, value in pairs], safe="/*"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection[TupleRow]:
    """A psycopg connection to ``url``; failures raise a :class:`DatabaseError` that says why."""
    target = libpq_url(url)  # validated: connect_timeout, if given, is a number
    # A URL may set its own timeout; otherwise do not hang for minutes on a dead host.
    given = conninfo_to_dict(target).get("connect_timeout")
    timeout = _CONNECT_TIMEOUT_SECONDS if given is None else int(given)
    with translate_errors(url, "connect to"):
        return psycopg.connect(
            target,
            autocommit=autocommit,
            connect_timeout=timeout,
            application_name="fauxsim",
        )


@contextmanager
def translate_errors(url: str, action: str) -> Iterator[None]:
    """Turn the Postgres failures a user can fix into a :class:`DatabaseError`.

    ``action`` completes "could not <action> <url>", e.g. "connect to" or "write to".
    Programming errors (bad SQL, wrong types) keep their traceback.
    """
    try:
        yield
    except Exception as error:
        # SQLAlchemy (migrations) wraps the driver's error; judge the original.
        cause = getattr(error, "orig", None) if not isinstance(error, psycopg.Error) else error
        if isinstance(cause, psycopg.Error) and _user_can_fix(cause):
            raise DatabaseError(describe_failure(cause, url, action)) from error
        raise


def _user_can_fix(error: psycopg.Error) -> bool:
    """Connection, permission, space and read-only failures; not bad SQL or bad data."""
    return isinstance(
        error,
        psycopg.OperationalError
        | pg_errors.InsufficientPrivilege
        | pg_errors.ReadOnlySqlTransaction,
    )


def describe_failure(error: psycopg.Error, url: str, action: str) -> str:
    """One line: what failed, where (password masked), why, and what to do."""
    where = mask_password(url)
    reason = _first_line(error)
    advice = _advice(error, reason, url)
    return f"could not {action} {where}: {reason}. {advice}"


def _first_line(error: psycopg.Error) -> str:
    text = str(error).strip()
    line = text.splitlines()[0] if text else type(error).__name__
    # libpq wraps the server's reason in the address it tried; keep only the reason.
    line = re.sub(r"^connection failed: ", "", line)
    line = re.sub(r"^connection to server (at|on) .*? failed: ", "", line)
    return line.removeprefix("FATAL:  ").removeprefix("ERROR:  ").strip().rstrip(".")


# (sqlstates, pattern in the reason, what to do); the first match wins. libpq reports
# connection failures without a sqlstate, so the reason's wording is the only clue.
_ADVICE: tuple[tuple[frozenset[str], str, str], ...] = (
    (
        frozenset({"3D000"}),
        r'database ".*" does not exist',
        (
            "Create it first (createdb {database}, or CREATE DATABASE {database}), "
            "or point --db / DATABASE_URL at an existing database."
        ),
    ),
    (
        frozenset({"28P01", "28000"}),
        r'password|authentication failed|role ".*" does not exist',
        (
            "Check the user ({user}) and password in the URL, "
            "or leave out --db and DATABASE_URL to use the embedded Postgres."
        ),
    ),
    (
        frozenset({"42501"}),
        r"permission denied",
        (
            "Grant {user} what it needs (CONNECT on the database, CREATE on its schema, "
            "ownership of the fauxsim tables), or use a database that {user} owns."
        ),
    ),
    (
        frozenset({"53100"}),
        r"no space left|disk full|could not extend file",
        (
            "The server's disk is full: free space (or use another database), then run the "
            "same command again; every committed batch is kept and the run resumes."
        ),
    ),
    (
        frozenset({"25006"}),
        r"read-only",
        "The server accepts no writes (a standby?): point --db at the primary.",
    ),
)


def _advice(error: psycopg.Error, reason: str, url: str) -> str:
    state = error.sqlstate or ""
    user, database = _user_and_database(url)
    for states, pattern, advice in _ADVICE:
        if state in states or (not state and re.search(pattern, reason, re.IGNORECASE)):
            return advice.format(user=user, database=database)
    if state.startswith(("08", "57")) or not state:
        return (
            "Check that the server is running and that host and port are right, "
            "or leave out --db and DATABASE_URL to use the embedded Postgres."
        )
    return "Check the server's log for details."


def _user_and_database(url: str) -> tuple[str, str]:
    try:
        params = conninfo_to_dict(libpq_url(url))
    except psycopg.ProgrammingError:
        return "the user", "the database"
    user = str(params.get("user") or "the user")
    return user, str(params.get("dbname") or user)
