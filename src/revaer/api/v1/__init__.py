"""The native ``/v1`` API: JSON in and out, problem+json errors, SSE events."""

from __future__ import annotations

from aiohttp import web

from revaer.api.auth import cors, v1_access
from revaer.api.errors import problem_middleware
from revaer.api.v1 import events, fsjobs, openapi, system, torrents


def build_v1(client_max_size: int = 10 * 1024 * 1024 + 64 * 1024) -> web.Application:
    """The ``/v1`` sub-app; the services it uses are on the root app (``revaer.app.build_app``)."""
    app = web.Application(
        middlewares=[problem_middleware, cors, v1_access],
        client_max_size=client_max_size,
    )
    r = app.router
    r.add_get("/health", system.health)
    r.add_post("/setup/apply", system.setup_apply)
    r.add_get("/config", system.config_get)
    r.add_patch("/config", system.config_patch)
    r.add_get("/torrents", torrents.list_torrents)
    r.add_post("/torrents/add", torrents.add_torrents)
    r.add_get("/torrents/{info_hash}", torrents.get_torrent)
    r.add_post("/torrents/{info_hash}/relocate", fsjobs.relocate)
    r.add_post("/torrents/{info_hash}/{action}", torrents.torrent_action)
    r.add_get("/fsjobs", fsjobs.jobs_list)
    r.add_post("/fsjobs/{job_id}/retry", fsjobs.job_retry)
    r.add_get("/events/stream", events.stream)
    r.add_get("/openapi.json", openapi.document)
    return app
