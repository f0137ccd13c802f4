"""The query parameters of list routes, and the guard that refuses any other."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Annotated, Any

from litestar.params import Parameter

from genie_litestar.problems import PARAMETER_HINTS, ProblemDetail, ProblemError
from genie_litestar.resources.cursor import Filters
from genie_litestar.timestamps import NaiveTimestampError, micros_of

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.handlers import BaseRouteHandler

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

Limit = Annotated[
    int,
    Parameter(
        ge=1,
        le=MAX_LIMIT,
        description=f"Rows per page, 1 to {MAX_LIMIT}. Above {MAX_LIMIT} is refused (400).",
    ),
]
UpdatedSince = Annotated[
    dt.datetime | None,
    Parameter(
        description="Only rows changed at or after this RFC 3339 time (with a timezone)."
        " Events filter on received_at.",
    ),
]
UpdatedBefore = Annotated[
    dt.datetime | None,
    Parameter(
        description="Only rows changed strictly before this RFC 3339 time (with a timezone).",
    ),
]
Cursor = Annotated[
    str | None,
    Parameter(
        description="The next_cursor of the previous page. Send the same filters with it.",
    ),
]

LIST_PARAMETERS = frozenset({"limit", "updated_since", "updated_before", "cursor"})

# The exact text each parameter may have, checked before Litestar converts it: its
# conversion is lenient (``limit=10.0``, ``limit=1e3``, epoch seconds, a space for the
# ``T``), and a client whose mistake is read as something else never learns of it.
_RFC3339 = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
    r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_CANONICAL_TEXT = {
    "limit": re.compile(r"[0-9]{1,9}"),
    "updated_since": re.compile(_RFC3339),
    "updated_before": re.compile(_RFC3339),
    "cursor": re.compile(r"[A-Za-z0-9_-]{1,512}"),
}
_NOT_CANONICAL = {
    "limit": "is not a plain decimal integer",
    "updated_since": "is not an RFC 3339 timestamp",
    "updated_before": "is not an RFC 3339 timestamp",
    "cursor": "is not a cursor this API issued (base64url, sent unchanged)",
}
_WITHOUT_TIMEZONE = re.compile(_RFC3339.rsplit("(?:", 1)[0])
# A row id in a path: a canonical non-negative integer (no sign, no leading zero).
CANONICAL_ID = re.compile(r"0|[1-9][0-9]{0,18}")


def requires_known_parameters(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """A mistyped filter must not silently mean "everything": refuse unknown names."""
    allowed: frozenset[str] = handler.opt.get("query_parameters", frozenset())
    unknown = sorted(set(connection.query_params) - allowed)
    if unknown:
        valid = ", ".join(sorted(allowed)) or "none"
        raise ProblemError(
            400,
            "unknown-parameter",
            f"unknown query parameter(s) {', '.join(map(repr, unknown))}."
            f" Valid values are: {valid}",
            errors=[
                ProblemDetail(parameter=name, message="unknown parameter", received=None)
                for name in unknown
            ],
        )


def requires_single_values(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """``?limit=1&limit=2``: which would count? A client bug either way, so say so.

    Every parameter a route takes (``opt["query_parameters"]``) takes one value.
    """
    allowed: frozenset[str] = handler.opt.get("query_parameters", frozenset())
    params = connection.query_params
    repeated = sorted(name for name in allowed.intersection(params) if len(params.getall(name)) > 1)
    if repeated:
        raise ProblemError(
            400,
            "repeated-parameter",
            f"query parameter(s) {', '.join(map(repr, repeated))} given more than once;"
            " send each at most once",
            errors=[
                ProblemDetail(
                    parameter=name,
                    message="given more than once",
                    received=", ".join(params.getall(name)),
                )
                for name in repeated
            ],
        )


def requires_canonical_values(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """ASCII digits for ``limit``, RFC 3339 for times, base64url for cursors; else 400."""
    errors = []
    for name, value in connection.query_params.items():
        pattern = _CANONICAL_TEXT.get(name)
        if pattern is None or pattern.fullmatch(value):
            continue
        if name.startswith("updated_") and _WITHOUT_TIMEZONE.fullmatch(value):
            message = "has no timezone"
        else:
            message = _NOT_CANONICAL[name]
        errors.append(ProblemDetail(parameter=name, message=message, received=value))
    if errors:
        detail = "; ".join(
            f"{error.parameter} {error.message}; expected {PARAMETER_HINTS[error.parameter]}"
            for error in errors
        )
        raise ProblemError(400, "invalid-parameter", f"invalid query: {detail}", errors=errors)


def requires_canonical_id(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """``/v1/orders/2`` only: not ``+2``, ``00002``, ``2%20`` or a full-width digit (404).

    Litestar's ``int`` path converter reads all of those as 2, so that one row would have
    many addresses; an id is only ever written one way.
    """
    segment = connection.scope["path"].rstrip("/").rsplit("/", 1)[-1]
    if not CANONICAL_ID.fullmatch(segment):
        raise ProblemError(
            404,
            "not-found",
            f"no row with id {segment!r}; ids are written as plain decimal integers",
        )


def _micros(name: str, moment: dt.datetime | None) -> int | None:
    if moment is None:
        return None
    try:
        return micros_of(moment)
    except NaiveTimestampError:
        message = "has no timezone"
    except OverflowError:
        message = "is out of range"
    raise ProblemError(
        400,
        "invalid-parameter",
        f"{name} {message}; expected {PARAMETER_HINTS[name]}",
        errors=[ProblemDetail(parameter=name, message=message, received=moment.isoformat())],
    )


def filters_from(
    resource: str, updated_since: dt.datetime | None, updated_before: dt.datetime | None
) -> Filters:
    since, before = (
        _micros("updated_since", updated_since),
        _micros("updated_before", updated_before),
    )
    if since is not None and before is not None and since > before:
        raise ProblemError(
            400,
            "invalid-parameter",
            "updated_since is after updated_before; the window [updated_since, updated_before)"
            " would be empty",
        )
    return Filters(resource=resource, updated_since=since, updated_before=before)
