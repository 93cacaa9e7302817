"""The qBittorrent-compatible ``/api/v2``: identity pinned to qBittorrent v4.6.7, WebAPI 2.9.3."""

from __future__ import annotations

from aiohttp import web

from revaer.api.qbittorrent import (
    actions,
    add,
    app_routes,
    auth,
    categories,
    details,
    info,
    preferences_write,
    sync,
    transfer,
)
from revaer.api.qbittorrent.keys import SESSIONS
from revaer.api.qbittorrent.routes import action
from revaer.api.qbittorrent.session import Sessions


def build_qbittorrent(
    client_max_size: int = 10 * 1024 * 1024 + 64 * 1024, sessions: Sessions | None = None
) -> web.Application:
    """The ``/api/v2`` sub-app; the services it uses are on the root app (``revaer.app.build_app``)."""
    app = web.Application(middlewares=[auth.qb_guard], client_max_size=client_max_size)
    app[SESSIONS] = sessions or Sessions()
    r = app.router
    action(r, "/auth/login", auth.login)
    action(r, "/auth/logout", auth.logout)
    app_routes.register(r)
    info.register(app)
    details.register(r)
    sync.register(r)
    transfer.register(r)
    actions.register(app)
    add.register(r)
    categories.register(r)
    preferences_write.register(app)
    return app
