"""The native ``/v1`` API: JSON in and out, problem+json errors, SSE events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from aiohttp import web

from revaer.api.auth import cors, v1_access
from revaer.api.errors import problem_middleware
from revaer.api.v1 import events, fsjobs, openapi, system, torrents

# Each module declares its routes beside its handlers; a route comes before the more general one it
# shadows (fsjobs' /torrents/{info_hash}/relocate before torrents' /torrents/{info_hash}/{action}).
TABLES: Final[Sequence[web.RouteTableDef]] = (system.routes, fsjobs.routes, torrents.routes, events.routes)
"""The whole ``/v1`` API but its own description (``/openapi.json``)."""


def build_v1(client_max_size: int = 10 * 1024 * 1024 + 64 * 1024) -> web.Application:
    """The ``/v1`` sub-app; the services it uses are on the root app (``revaer.app.build_app``)."""
    app = web.Application(
        middlewares=[problem_middleware, cors, v1_access],
        client_max_size=client_max_size,
    )
    for table in TABLES:
        app.router.add_routes(table)
    app.router.add_get("/openapi.json", openapi.document)
    return app
