"""``search/*`` as a qBittorrent without Python answers it.

qBittorrent's search runs Python plugins downloaded from the internet inside the client. Revaer runs
no fetched code, so it answers as a qBittorrent on a machine without Python: no plugins, a search
cannot start (409 ``Python must be installed to use the Search Engine.``), a job id is never known
(404), and the plugin management calls change nothing.
"""

from __future__ import annotations

from aiohttp import web

from revaer.api.qbittorrent.errors import NOT_FOUND, QbError, bad_request, text_response
from revaer.api.qbittorrent.reading import json_response, params

NO_PYTHON = "Python must be installed to use the Search Engine."


async def start(request: web.Request) -> web.Response:
    p = await params(request)
    if not all(k in p for k in ("pattern", "category", "plugins")):
        raise bad_request()
    raise QbError(409, NO_PYTHON)


async def status(request: web.Request) -> web.Response:
    """Every job's status (none); an ``id`` is unknown."""
    p = await params(request)
    if p.get("id", "0") not in ("", "0"):
        raise NOT_FOUND
    return json_response([])


async def by_id(request: web.Request) -> web.Response:
    """``stop``, ``results``, ``delete``: 400 without ``id``, else 404 (no job exists)."""
    p = await params(request)
    if "id" not in p:
        raise bad_request()
    raise NOT_FOUND


async def plugins(request: web.Request) -> web.Response:
    return json_response([])


async def manage_plugins(request: web.Request) -> web.Response:
    """``installPlugin``, ``uninstallPlugin``, ``enablePlugin``, ``updatePlugins``: nothing to do."""
    return text_response("")
