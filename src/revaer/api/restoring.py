"""While a start re-adds the stored torrents, the API already serves (ADR 0015).

Reads answer at once from the torrents restored so far (``/v1/health`` says how far the restore
is). A request that changes torrents or settings waits until every stored torrent is back: an
action on a torrent not restored yet then finds it, an add meets the stored copy instead of racing
it, and a change of the defaults reaches every torrent. Nothing is lost or answered wrongly; such a
request is only answered later (10,000 torrents: about a second).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from revaer.api.keys import RESTORE

# What waits: changes to torrents and to the settings that act on them.
_GATED = ("/api/v2/torrents/", "/v1/torrents", "/v1/config", "/api/v2/app/setPreferences")
# qBittorrent's read endpoints, which clients may also POST to: served at once.
_READS = frozenset(
    {"info", "properties", "trackers", "webseeds", "files", "pieceStates", "pieceHashes"}
    | {"categories", "tags", "count", "export"}
)


def waits(method: str, path: str) -> bool:
    """Whether a request waits for the restore to end."""
    if method in ("GET", "HEAD", "OPTIONS") or not path.startswith(_GATED):
        return False
    return path.rsplit("/", 1)[-1] not in _READS


@web.middleware
async def restore_gate(request: web.Request, handler: Any) -> web.StreamResponse:
    """Hold a changing request until the stored torrents are all restored."""
    restore = request.config_dict.get(RESTORE)
    if restore is not None and restore.running and waits(request.method, request.path):
        await restore.wait()
    resp: web.StreamResponse = await handler(request)
    return resp
