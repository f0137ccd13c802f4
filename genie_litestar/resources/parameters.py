"""The query parameters of list routes, and the guard that refuses any other."""

from __future__ import annotations

import datetime as dt
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
