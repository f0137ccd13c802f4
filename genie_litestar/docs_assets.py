"""Swagger UI's own files, served from the installed ``swagger-ui-py`` package.

Litestar's Swagger page loads them from a CDN by default, which leaves ``/docs`` blank
offline, in a classroom behind a firewall, or where a CDN is blocked.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from litestar.static_files import create_static_files_router

if TYPE_CHECKING:
    from litestar.router import Router

SWAGGER_ASSETS = "/docs/assets"
FAVICON = f"<link rel='icon' type='image/png' href='{SWAGGER_ASSETS}/favicon-32x32.png'>"
_FILES = (
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "swagger-ui.css",
    "favicon-32x32.png",
)


def swagger_ui_folder() -> Path:
    """The ``static`` folder of ``swagger_ui``, found without importing the package."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        msg = "swagger-ui-py is not installed; reinstall fauxgenie"
        raise RuntimeError(msg)
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def swagger_assets_router() -> Router:
    folder = swagger_ui_folder()
    missing = [name for name in _FILES if not (folder / name).is_file()]
    if missing:
        msg = f"swagger-ui-py at {folder} lacks {', '.join(missing)}"
        raise RuntimeError(msg)
    return create_static_files_router(
        path=SWAGGER_ASSETS,
        directories=[folder],
        include_in_schema=False,
        name="swagger-assets",
    )
