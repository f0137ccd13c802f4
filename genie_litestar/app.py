"""``create_app(settings)``: the Genie Litestar application.

Request path, outermost first: app-level ``before_send`` hook (request id, shared
headers, access log) → route middleware (request clock, who is calling, rate limit,
chaos) → guards (no token in the URL, a valid token, the scope, known parameters) →
handler. Errors anywhere, routing's 404/405 included, become problem+json.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from fauxsim import __version__
from genie_litestar.auth.middleware import authentication_middleware
from genie_litestar.auth.throttle import FailedAuthentications
from genie_litestar.chaos import Chaos, chaos_middleware
from genie_litestar.database import create_pool
from genie_litestar.docs_assets import FAVICON, SWAGGER_ASSETS, swagger_assets_router
from genie_litestar.health import health, health_head
from genie_litestar.problems import EXCEPTION_HANDLERS
from genie_litestar.ratelimit.buckets import Buckets, MemoryBuckets
from genie_litestar.ratelimit.middleware import rate_limit_middleware
from genie_litestar.ratelimit.redis_buckets import RedisBuckets
from genie_litestar.request_context import before_send, start_request_middleware
from genie_litestar.resources.cursor import CursorCodec
from genie_litestar.resources.cursor_key import stored_cursor_secret
from genie_litestar.resources.routes import api_router

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from psycopg import AsyncConnection
    from psycopg_pool import AsyncConnectionPool

    from genie_litestar.settings import GenieSettings

DESCRIPTION = """\
Read-only access to a simulated web shop. Authenticate with `Authorization: Bearer
<token>` (create one with `fauxsim token create`). Lists are keyset-paged: follow
`next_cursor` (or the `Link: rel="next"` header) with the same filters until it is null.
`updated_since` is inclusive, `updated_before` exclusive; events filter on `received_at`.
"""


def _buckets(settings: GenieSettings) -> Buckets:
    burst, rate = settings.rate_limit_burst, settings.rate_limit_per_second
    if settings.redis_url:
        return RedisBuckets(settings.redis_url, burst=burst, rate=rate)
    return MemoryBuckets(burst=burst, rate=rate)


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Faux Genie",
        version=__version__,
        description=DESCRIPTION,
        path="/docs",
        # Swagger UI's files come from the installed package, not a CDN: /docs works offline.
        render_plugins=[
            SwaggerRenderPlugin(
                path="/",
                js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
                css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
                standalone_preset_js_url=f"{SWAGGER_ASSETS}/swagger-ui-standalone-preset.js",
                favicon=FAVICON,
            ),
            JsonRenderPlugin(),
        ],
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    bearer_format="fg_test_<40 random characters><6-character checksum>",
                    description="A token from `fauxsim token create`.",
                )
            }
        ),
    )


def create_app(settings: GenieSettings) -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        pool = create_pool(settings)
        await pool.open(wait=True, timeout=30)
        app.state.cursor_codec = CursorCodec(await _cursor_secret(settings, pool))
        buckets = _buckets(settings)
        if isinstance(buckets, RedisBuckets):
            await buckets.warn_if_unreachable()
        app.state.pool = pool
        app.state.buckets = buckets
        try:
            yield
        finally:
            await buckets.close()
            await pool.close()

    chaos = Chaos(settings.chaos, settings.retry_after_seconds) if settings.chaos else None
    cors = (
        CORSConfig(allow_origins=list(settings.cors_allow_origins), allow_methods=["GET"])
        if settings.cors_allow_origins
        else None
    )
    return Litestar(
        route_handlers=[health, health_head, api_router(), swagger_assets_router()],
        lifespan=[lifespan],
        middleware=[
            start_request_middleware,
            authentication_middleware,
            rate_limit_middleware,
            chaos_middleware,
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        before_send=[before_send],
        openapi_config=_openapi(),
        cors_config=cors,
        # A page of 1,000 rows is about half a megabyte of JSON; gzip when asked for.
        compression_config=CompressionConfig(backend="gzip", minimum_size=1024),
        state=_initial_state(settings, chaos),
        debug=False,
        # Logging is set up by whoever runs the app (serving.py, tests), not by the app.
        logging_config=None,
    )


def _initial_state(settings: GenieSettings, chaos: Chaos | None) -> State:
    failures = FailedAuthentications(
        burst=settings.auth_failure_burst, refill_seconds=settings.auth_failure_refill_seconds
    )
    return State({"settings": settings, "chaos": chaos, "failed_authentications": failures})


async def _cursor_secret(
    settings: GenieSettings, pool: AsyncConnectionPool[AsyncConnection]
) -> bytes:
    """GENIE_CURSOR_SECRET when set, else the key kept in the database."""
    if settings.cursor_secret is not None:
        return settings.cursor_secret.get_secret_value().encode()
    async with pool.connection() as connection:
        return await stored_cursor_secret(connection)
