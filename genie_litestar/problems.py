"""Errors as RFC 9457 ``application/problem+json``, the same shape for every status.

Handlers are registered on the app, so they also answer the 404 and 405 that Litestar
raises while routing, before any middleware has run. A 500 says only that something
failed and which request id to quote; the traceback goes to the server log.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR, HTTP_503_SERVICE_UNAVAILABLE
from psycopg import OperationalError
from psycopg.errors import QueryCanceled
from psycopg_pool import PoolTimeout

from genie_litestar.request_context import response_headers_for

if TYPE_CHECKING:
    from litestar.types import ExceptionHandlersMap

PROBLEM_MEDIA_TYPE = "application/problem+json"

logger = logging.getLogger("genie")


class ProblemDetail(msgspec.Struct, omit_defaults=True):
    """What went wrong with one parameter."""

    parameter: str
    message: str
    received: str | None = None


class Problem(msgspec.Struct, omit_defaults=True):
    """An error response (RFC 9457)."""

    type: str
    title: str
    status: int
    detail: str
    request_id: str
    instance: str | None = None
    errors: list[ProblemDetail] | None = None


class ProblemError(HTTPException):
    """An HTTP error with a problem type slug and, optionally, per-parameter details."""

    def __init__(
        self,
        status_code: int,
        slug: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        errors: list[ProblemDetail] | None = None,
    ) -> None:
        super().__init__(detail=detail, status_code=status_code, headers=headers)
        self.slug = slug
        self.errors = errors


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

_ROUTING_DETAILS = {
    404: "nothing at {path}; resources are listed at /v1/{{resource}} (see /docs)",
    405: "{method} is not allowed on {path}; Genie is read-only, use GET",
}

# What each query parameter accepts, so that a 400 says what would have worked.
PARAMETER_HINTS = {
    "limit": "an integer from 1 to 1000",
    "updated_since": "an RFC 3339 timestamp with a timezone, e.g. 2024-11-28T00:00:00Z"
    " (URL-encode a '+' offset as %2B)",
    "updated_before": "an RFC 3339 timestamp with a timezone, e.g. 2024-12-01T00:00:00Z"
    " (URL-encode a '+' offset as %2B)",
    "cursor": "the next_cursor of the previous page, unchanged",
}


def _problem_type(slug: str) -> str:
    return f"urn:fauxgenie:problem:{slug}"


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    slug: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    errors: list[ProblemDetail] | None = None,
) -> Response[Problem]:
    all_headers = response_headers_for(request.scope)
    all_headers.update(headers or {})
    problem = Problem(
        type=_problem_type(slug),
        title=_TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        request_id=all_headers["X-Request-Id"],
        instance=request.url.path,
        errors=errors,
    )
    return Response(problem, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=all_headers)


def _validation_details(
    request: Request[Any, Any, Any], error: ValidationException
) -> list[ProblemDetail]:
    details = []
    extra = error.extra if isinstance(error.extra, list) else []
    for item in extra:
        key = str(item.get("key", "")) if isinstance(item, dict) else ""
        message = str(item.get("message", "invalid")) if isinstance(item, dict) else str(item)
        hint = PARAMETER_HINTS.get(key)
        details.append(
            ProblemDetail(
                parameter=key,
                message=f"{message}; expected {hint}" if hint else message,
                received=request.query_params.get(key),
            )
        )
    return details


def _on_http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[Problem]:
    if isinstance(error, ProblemError):
        return problem_response(
            request,
            error.status_code,
            error.slug,
            error.detail,
            headers=error.headers,
            errors=error.errors,
        )
    if isinstance(error, ValidationException):
        errors = _validation_details(request, error)
        detail = "; ".join(f"{e.parameter}: {e.message}" for e in errors) or error.detail
        return problem_response(
            request, 400, "invalid-parameter", f"invalid query: {detail}", errors=errors
        )
    status = error.status_code
    slug = _TITLES.get(status, "error").lower().replace(" ", "-")
    detail = _ROUTING_DETAILS.get(status, "{detail}").format(
        detail=error.detail, method=request.method, path=request.url.path
    )
    return problem_response(request, status, slug, detail, headers=error.headers)


def _on_database_busy(request: Request[Any, Any, Any], error: Exception) -> Response[Problem]:
    # A statement timeout, an exhausted pool or a lost connection: all transient.
    logger.warning("database unavailable: %s", type(error).__name__)
    retry_after = str(request.app.state.settings.retry_after_seconds)
    return problem_response(
        request,
        HTTP_503_SERVICE_UNAVAILABLE,
        "database-busy",
        "the database did not answer in time; retry after the Retry-After delay",
        headers={"Retry-After": retry_after},
    )


def _on_unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[Problem]:
    request_id = response_headers_for(request.scope)["X-Request-Id"]
    logger.error("unhandled error in request %s", request_id, exc_info=error)
    return problem_response(
        request,
        HTTP_500_INTERNAL_SERVER_ERROR,
        "internal-error",
        f"the server failed to answer; quote request id {request_id} when reporting it",
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    HTTPException: _on_http_error,
    QueryCanceled: _on_database_busy,
    PoolTimeout: _on_database_busy,
    OperationalError: _on_database_busy,
    Exception: _on_unexpected,
}
