"""Entry points for ASGI servers: ``genie_litestar.serving:app_from_environment``.

Settings come from ``GENIE_*`` environment variables, e.g. with plain uvicorn::

    GENIE_DATABASE_URL=postgresql://... \\
        uvicorn --factory genie_litestar.serving:app_from_environment

The key that signs cursors is kept in the database; ``GENIE_CURSOR_SECRET`` overrides it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from genie_litestar.app import create_app
from genie_litestar.settings import GenieSettings

if TYPE_CHECKING:
    from litestar import Litestar


def app_from_environment() -> Litestar:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    # Every field comes from the environment; mypy sees only the constructor.
    return create_app(GenieSettings())
