"""While a start re-adds the stored torrents, the API already serves (ADR 0015).

Health, versions, settings and the event stream answer at once (``/v1/health`` says how far the
restore is). A request about torrents, read or change, waits until every stored torrent is back: a
listing is never a partial one (a client such as Sonarr would take a torrent missing from it for a
download removed, and act on that), an action on a torrent not restored yet then finds it, an add
meets the stored copy instead of racing it, and a change of the defaults reaches every torrent.
Nothing is lost or answered wrongly; such a request is only answered later (10,000 torrents: about
a second).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from revaer.api.keys import RESTORE

# What waits: every request about torrents (any method), and changes to the settings that act on them.
_TORRENTS = ("/api/v2/torrents/", "/api/v2/sync/", "/v1/torrents")
_SETTINGS = ("/v1/config", "/api/v2/app/setPreferences")


def waits(method: str, path: str) -> bool:
    """Whether a request waits for the restore to end."""
    if path.startswith(_TORRENTS):
        return True
    return method not in ("GET", "HEAD", "OPTIONS") and path.startswith(_SETTINGS)


@web.middleware
async def restore_gate(request: web.Request, handler: Any) -> web.StreamResponse:
    """Hold a request about torrents (or a change of settings) until the stored torrents are all restored."""
    restore = request.config_dict.get(RESTORE)
    if restore is not None and restore.running and waits(request.method, request.path):
        await restore.wait()
    resp: web.StreamResponse = await handler(request)
    return resp
