"""``transfer/*``: session totals and the global rate limits (``engine.limits`` in the config), and
the alternative speed limits (``engine.alt_limits``): while they are on, libtorrent's session
limits are theirs, and ``setDownloadLimit``/``setUploadLimit`` set them, as in qBittorrent."""

from __future__ import annotations

import asyncio
import ipaddress

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
    return listener.config.engine.effective_limits


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
    listener = app.get(CONFIG)
    if listener is not None:
        key = "engine.alt_limits" if listener.config.engine.alt_enabled else "engine.limits"
        await _patch(request, key, {which: value})
    return text_response("")


async def _patch(request: web.Request, key: str, fields: dict[str, object]) -> None:
    """Set ``fields`` of the object setting ``key`` and wait until the hot reload has it
    (read-your-writes: the next read sees the new value)."""
    app = request.config_dict
    store, listener = app.get(CONFIG_STORE), app.get(CONFIG)
    if store is None or listener is None:
        return
    versions = await store.patch({key: {**listener.config.values[key], **fields}})
    await asyncio.wait_for(listener.wait_for(key, versions[key]), 5)


def _alt_enabled(request: web.Request) -> bool:
    listener = request.config_dict.get(CONFIG)
    return listener is not None and listener.config.engine.alt_enabled


async def speed_limits_mode(request: web.Request) -> web.Response:
    """``1`` while the alternative speed limits are in force, else ``0``."""
    return text_response("1" if _alt_enabled(request) else "0")


async def toggle_speed_limits_mode(request: web.Request) -> web.Response:
    await _patch(request, "engine.alt_limits", {"enabled": not _alt_enabled(request)})
    return text_response("")


async def set_download_limit(request: web.Request) -> web.Response:
    return await _set_limit(request, "download")


async def set_upload_limit(request: web.Request) -> web.Response:
    return await _set_limit(request, "upload")


async def set_speed_limits_mode(request: web.Request) -> web.Response:
    """``mode`` 1 turns the alternative speed limits on, 0 off (WebAPI 2.8.14)."""
    p = await params(request)
    if p.get("mode") not in ("0", "1"):
        raise bad_request()
    await _patch(request, "engine.alt_limits", {"enabled": p["mode"] == "1"})
    return text_response("")


def _address(peer: str) -> str | None:
    """The IP of ``host:port`` or ``[v6]:port`` (the port is ignored, as qBittorrent bans an IP)."""
    host, sep, _ = peer.strip().rpartition(":")
    text = (host if sep else peer.strip()).removeprefix("[").removesuffix("]")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


async def ban_peers(request: web.Request) -> web.Response:
    """``peers`` ``|``-separated ``host:port``: their IPs join ``engine.banned_ips`` (the preference
    ``banned_IPs``), blocked by the engine from now on; what does not parse is skipped."""
    p = await params(request)
    if "peers" not in p:
        raise bad_request()
    found = [a for a in map(_address, p["peers"].split("|")) if a is not None]
    listener = request.config_dict.get(CONFIG)
    if found and listener is not None:
        banned = sorted({*listener.config.engine.banned_ips, *found})
        store = request.config_dict.get(CONFIG_STORE)
        if store is not None:
            versions = await store.patch({"engine.banned_ips": banned})
            await asyncio.wait_for(listener.wait_for("engine.banned_ips", versions["engine.banned_ips"]), 5)
    return text_response("")
