"""``transfer/*``: session totals and the global rate limits (``engine.limits`` in the config)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from revaer.api.keys import CONFIG, CONFIG_STORE, TORRENTS
from revaer.api.params import parse_int
from revaer.api.qbittorrent.errors import bad_request, text_response
from revaer.api.qbittorrent.reading import json_response, params


def _limits(request: web.Request) -> tuple[int, int]:
    """(download, upload) global limits in bytes/s, 0 unlimited."""
    listener = request.config_dict.get(CONFIG)
    if listener is None:
        return 0, 0
    e = listener.config.engine
    return e.download_limit, e.upload_limit


async def transfer_info(request: web.Request) -> web.Response:
    stats = request.config_dict[TORRENTS].stats()
    down, up = _limits(request)
    return json_response(
        {
            "connection_status": "firewalled" if stats.listen_port > 0 else "disconnected",
            "dht_nodes": stats.dht_nodes,
            "dl_info_data": stats.downloaded,
            "dl_info_speed": stats.download_rate,
            "dl_rate_limit": down,
            "up_info_data": stats.uploaded,
            "up_info_speed": stats.upload_rate,
            "up_rate_limit": up,
        }
    )


async def download_limit(request: web.Request) -> web.Response:
    return text_response(str(_limits(request)[0]))


async def upload_limit(request: web.Request) -> web.Response:
    return text_response(str(_limits(request)[1]))


async def _set_limit(request: web.Request, which: str) -> web.Response:
    p = await params(request)
    if "limit" not in p:
        raise bad_request()
    # qBittorrent: 0 or anything not a positive number means unlimited.
    value = max(0, parse_int(p["limit"], strict=False))
    value = min(value, 2**31 - 1)
    app = request.config_dict
    app[TORRENTS].apply_session_settings({f"{which}_rate_limit": value})
    store, listener = app.get(CONFIG_STORE), app.get(CONFIG)
    if store is not None and listener is not None:
        e = listener.config.engine
        limits = {"download": e.download_limit, "upload": e.upload_limit, "connections": e.connections_limit}
        limits[which] = value
        versions = await store.patch({"engine.limits": limits})
        # Read-your-writes: the next uploadLimit/downloadLimit sees the new value.
        await asyncio.wait_for(listener.wait_for("engine.limits", versions["engine.limits"]), 5)
    return text_response("")


async def set_download_limit(request: web.Request) -> web.Response:
    return await _set_limit(request, "download")


async def set_upload_limit(request: web.Request) -> web.Response:
    return await _set_limit(request, "upload")
