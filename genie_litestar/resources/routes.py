"""Route handlers for every resource, made by one factory from the resource catalog.

The list, get and schema handlers of all resources differ only in their table, so a
factory builds them; the wire types are set on each handler so that the OpenAPI
document still shows each resource's own record and page schema.
"""

import datetime as dt
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import msgspec
from litestar import Response, Router, get
from litestar.datastructures import ResponseHeader, State
from litestar.di import NamedDependency, Provide
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath
from psycopg import AsyncConnection

from genie_litestar.auth.guards import (
    requires_no_credentials_in_query,
    requires_one_authorization_header,
    requires_read_scope,
    requires_valid_token,
)
from genie_litestar.database import provide_connection
from genie_litestar.problems import PROBLEM_MEDIA_TYPE, Problem, ProblemError
from genie_litestar.resources.catalog import RESOURCES, Resource, json_schema
from genie_litestar.resources.cursor import (
    CursorCodec,
    CursorError,
    Filters,
    ForeignCursorError,
    Position,
)
from genie_litestar.resources.parameters import (
    DEFAULT_LIMIT,
    LIST_PARAMETERS,
    Cursor,
    Limit,
    UpdatedBefore,
    UpdatedSince,
    filters_from,
    requires_canonical_id,
    requires_canonical_values,
    requires_known_parameters,
    requires_single_values,
)
from genie_litestar.resources.queries import fetch_page, fetch_row, fix_horizon

if TYPE_CHECKING:
    from genie_litestar.settings import GenieSettings

_BIGINT_MAX = 2**63 - 1


def _problem(description: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=Problem,
        media_type=PROBLEM_MEDIA_TYPE,
        description=description,
        generate_examples=False,
    )


_COMMON_RESPONSES = {
    400: _problem("Unknown or invalid query parameter, or a token in the query string"),
    401: _problem("Missing, malformed, unknown, expired or revoked token"),
    403: _problem("The token lacks the scope for this resource"),
    429: _problem("Rate limited; see Retry-After"),
    503: _problem("Temporarily unavailable; see Retry-After"),
}
_RATE_HEADERS = [
    ResponseHeader(name=name, documentation_only=True, description=text)
    for name, text in (
        ("RateLimit-Limit", "Requests the bucket holds when full."),
        ("RateLimit-Remaining", "Requests left right now."),
        ("RateLimit-Reset", "Seconds until the bucket is full again."),
        ("X-Request-Id", "Quote it when reporting a problem."),
    )
]
_GUARDS = [
    requires_no_credentials_in_query,
    requires_one_authorization_header,
    requires_valid_token,
    requires_read_scope,
    requires_known_parameters,
    requires_single_values,
    requires_canonical_values,
]


def _next_link(base_url: str, resource: Resource, params: dict[str, str]) -> str:
    return f'<{base_url}/v1/{resource.name}?{urlencode(params)}>; rel="next"'


def _list_handler(resource: Resource) -> HTTPRouteHandler:
    async def list_rows(
        state: State,
        connection: NamedDependency[AsyncConnection],
        limit: Limit = DEFAULT_LIMIT,
        updated_since: UpdatedSince = None,
        updated_before: UpdatedBefore = None,
        cursor: Cursor = None,
    ) -> Response[Any]:
        settings: GenieSettings = state.settings
        codec: CursorCodec = state.cursor_codec
        filters = filters_from(resource.name, updated_since, updated_before)
        position = await _start(connection, codec, filters, cursor, settings.settle_seconds)
        page = await fetch_page(
            connection, resource, filters, position, first_page=cursor is None, limit=limit
        )
        next_cursor = None
        headers = {}
        if page.next_position is not None:
            next_cursor = codec.encode(page.next_position, filters)
            headers["Link"] = _next_link(
                settings.base_url,
                resource,
                _query(limit, updated_since, updated_before, next_cursor),
            )
        body = resource.page_struct(page.rows, page.next_position is not None, next_cursor)
        return Response(body, headers=headers)

    list_rows.__annotations__["return"] = Response[resource.page_struct]  # type: ignore[name-defined]
    return get(
        f"/{resource.name}",
        operation_id=f"list_{resource.name}",
        summary=f"List {resource.name}",
        description=f"Keyset-paged on ({resource.paging_column}, {resource.id_column}),"
        f" oldest first. Filters apply to {resource.paging_column}.",
        tags=[resource.name],
        opt={"scope": resource.scope, "query_parameters": LIST_PARAMETERS},
        responses=_COMMON_RESPONSES,
        response_headers=[
            *_RATE_HEADERS,
            ResponseHeader(name="Link", documentation_only=True, description='rel="next" page'),
        ],
    )(list_rows)


async def _start(
    connection: AsyncConnection,
    codec: CursorCodec,
    filters: Filters,
    cursor: str | None,
    settle_seconds: float,
) -> Position:
    if cursor is None:
        horizon = await fix_horizon(connection, filters, settle_seconds)
        return Position(after_micros=0, after_id=0, horizon_micros=horizon)
    try:
        return codec.decode(cursor, filters)
    except ForeignCursorError:
        raise ProblemError(
            400,
            "expired-cursor",
            "cursor has expired: it was signed with a key this server does not use (another"
            " server's or database's, or one since replaced with GENIE_CURSOR_SECRET). Drop"
            " the cursor and start the paging run over with the same filters",
        ) from None
    except CursorError as error:
        raise ProblemError(
            400,
            "invalid-cursor",
            f"cursor is {error}: send next_cursor unchanged, with the same updated_since and"
            " updated_before as the first page, or drop the cursor to start over",
        ) from None


def _query(
    limit: int, since: dt.datetime | None, before: dt.datetime | None, cursor: str
) -> dict[str, str]:
    params = {"limit": str(limit)}
    if since is not None:
        params["updated_since"] = since.isoformat()
    if before is not None:
        params["updated_before"] = before.isoformat()
    params["cursor"] = cursor
    return params


def _get_handler(resource: Resource) -> HTTPRouteHandler:
    async def get_row(
        connection: NamedDependency[AsyncConnection], row_id: FromPath[int]
    ) -> msgspec.Struct:
        row = None
        if 0 <= row_id <= _BIGINT_MAX:
            row = await fetch_row(connection, resource, row_id)
        if row is None:
            raise ProblemError(404, "not-found", f"no {resource.name} row with id {row_id}")
        return row

    get_row.__annotations__["return"] = resource.row_struct
    return get(
        f"/{resource.name}/{{row_id:int}}",
        operation_id=f"get_{resource.name}",
        summary=f"One {resource.name} row by {resource.id_column}",
        tags=[resource.name],
        opt={"scope": resource.scope},
        guards=[requires_canonical_id],
        responses={**_COMMON_RESPONSES, 404: _problem("No row with this id")},
        response_headers=_RATE_HEADERS,
    )(get_row)


def _schema_handler(resource: Resource) -> HTTPRouteHandler:
    schema = json_schema(resource)

    async def get_schema() -> dict[str, Any]:
        return schema

    return get(
        f"/schemas/{resource.name}",
        operation_id=f"schema_{resource.name}",
        summary=f"JSON Schema of one {resource.name} record",
        tags=["schemas"],
        opt={"scope": resource.scope},
        responses=_COMMON_RESPONSES,
        response_headers=_RATE_HEADERS,
    )(get_schema)


def api_router() -> Router:
    handlers: list[HTTPRouteHandler] = []
    for resource in RESOURCES.values():
        handlers += [_list_handler(resource), _get_handler(resource), _schema_handler(resource)]
    return Router(
        path="/v1",
        route_handlers=handlers,
        guards=_GUARDS,
        dependencies={"connection": Provide(provide_connection)},
        security=[{"BearerToken": []}],
    )
