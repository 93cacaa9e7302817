"""The native ``/v1`` API: JSON in and out, problem+json errors, SSE events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from aiohttp import web

from revaer.api.auth import cors, v1_access
from revaer.api.errors import problem_middleware
from revaer.api.qbittorrent.routes import Handler
from revaer.api.v1 import events, fsjobs, openapi, system, torrents

ROUTES: Final[Sequence[tuple[str, str, Handler]]] = (
    ("GET", "/health", system.health),
    ("POST", "/setup/apply", system.setup_apply),
    ("GET", "/config", system.config_get),
    ("PATCH", "/config", system.config_patch),
    ("GET", "/torrents", torrents.list_torrents),
    ("POST", "/torrents/add", torrents.add_torrents),
    ("GET", "/torrents/{info_hash}", torrents.get_torrent),
    ("POST", "/torrents/{info_hash}/relocate", fsjobs.relocate),
    ("POST", "/torrents/{info_hash}/{action}", torrents.torrent_action),
    ("GET", "/fsjobs", fsjobs.jobs_list),
    ("POST", "/fsjobs/{job_id}/retry", fsjobs.job_retry),
    ("GET", "/events/stream", events.stream),
    ("GET", "/openapi.json", openapi.document),
)
"""The whole ``/v1`` API: method, path, handler (a route before the more general one it shadows)."""


def build_v1(client_max_size: int = 10 * 1024 * 1024 + 64 * 1024) -> web.Application:
    """The ``/v1`` sub-app; the services it uses are on the root app (``revaer.app.build_app``)."""
    app = web.Application(
        middlewares=[problem_middleware, cors, v1_access],
        client_max_size=client_max_size,
    )
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, handler)
    return app
