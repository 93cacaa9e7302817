"""``torrents/*`` edits of one torrent through the engine: trackers, peers, file and folder names,
the exported .torrent, and the torrent count.

Each answers as qBittorrent 4.6.7 does (``torrentscontroller.cpp``): 400 for a missing parameter,
404 for an unknown hash, 409 with qBittorrent's sentence when the edit cannot be made.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping

from aiohttp import web

from revaer.api.keys import TORRENTS
from revaer.api.qbittorrent.actions import json_response, one, params, require, targets
from revaer.api.qbittorrent.errors import HEADERS, NOT_FOUND, QbError, text_response
from revaer.engine.errors import EngineError, EngineRefusedError
from revaer.torrents import TorrentService

log = logging.getLogger(__name__)


async def _tracker_list(torrents: TorrentService, h: str) -> list[tuple[str, int]]:
    return [(t.url, t.tier) for t in await torrents.trackers(h)]


async def _torrent(request: web.Request, *names: str) -> tuple[Mapping[str, str], TorrentService, str]:
    p = await params(request)
    require(p, "hash", *names)
    torrents = request.config_dict[TORRENTS]
    return p, torrents, one(torrents, p).info_hash


async def add_trackers(request: web.Request) -> web.Response:
    """``urls`` newline-separated; those the torrent has already are left as they are."""
    p, torrents, h = await _torrent(request, "urls")
    current = await _tracker_list(torrents, h)
    known = {url for url, _ in current}
    tier = max((t for _, t in current), default=-1) + 1
    new = [u.strip() for u in p["urls"].splitlines() if u.strip()]
    added = [(u, tier) for u in dict.fromkeys(new) if u not in known]
    if added:
        torrents.replace_trackers(h, [*current, *added])
    return text_response("")


async def edit_tracker(request: web.Request) -> web.Response:
    p, torrents, h = await _torrent(request, "origUrl", "newUrl")
    orig, new = p["origUrl"].strip(), p["newUrl"].strip()
    if not new:
        raise QbError(400, "New tracker URL is invalid")
    current = await _tracker_list(torrents, h)
    urls = [url for url, _ in current]
    if orig not in urls:
        raise QbError(409, "Tracker not found")
    if new in urls:
        raise QbError(409, "New tracker URL already exists")
    torrents.replace_trackers(h, [(new if url == orig else url, tier) for url, tier in current])
    return text_response("")


async def remove_trackers(request: web.Request) -> web.Response:
    """``urls`` ``|``-separated; ``hash`` may name several torrents (``|``) or ``all`` (WebAPI 2.9)."""
    p = await params(request)
    require(p, "hash", "urls")
    torrents = request.config_dict[TORRENTS]
    gone = {u.strip() for u in p["urls"].split("|")}
    found = targets(torrents, p["hash"])
    if not found and p["hash"].strip().lower() != "all":
        raise NOT_FOUND
    for h in found:
        current = await _tracker_list(torrents, h)
        kept = [(url, tier) for url, tier in current if url not in gone]
        if len(kept) != len(current):
            torrents.replace_trackers(h, kept)
    return text_response("")


def _peer(text: str) -> tuple[str, int] | None:
    """``host:port`` or ``[v6]:port`` as (address, port); None when it is not one."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) <= 65535:
        return None
    host = host.removeprefix("[").removesuffix("]")
    try:
        return str(ipaddress.ip_address(host)), int(port)
    except ValueError:
        return None


async def add_peers(request: web.Request) -> web.Response:
    """``peers`` ``|``-separated ``host:port``; ``{hash: {added, failed}}`` per torrent."""
    p = await params(request)
    require(p, "hashes", "peers")
    peers = [peer for peer in map(_peer, p["peers"].split("|")) if peer is not None]
    if not peers:
        raise QbError(400, "No valid peers were specified")
    torrents = request.config_dict[TORRENTS]
    out: dict[str, dict[str, int]] = {}
    for h in targets(torrents, p["hashes"]):
        added = 0
        for ip, port in peers:
            try:
                torrents.connect_peer(h, ip, port)
                added += 1
            except EngineError as e:
                log.info("peer not added", extra={"info_hash": h, "peer": f"{ip}:{port}", "error": str(e)})
        out[h] = {"added": added, "failed": len(peers) - added}
    return json_response(out)


async def _rename(torrents: TorrentService, h: str, moves: list[tuple[int, str]]) -> None:
    try:
        await torrents.rename_files(h, moves)
    except (EngineRefusedError, ValueError) as e:
        raise QbError(409, str(e)) from None


async def rename_file(request: web.Request) -> web.Response:
    """``oldPath``/``newPath`` (WebAPI 2.7), or the older ``id``/``name``."""
    p = await params(request)
    torrents = request.config_dict[TORRENTS]
    require(p, "hash")
    h = one(torrents, p).info_hash
    files = await torrents.files(h)
    if "oldPath" in p and "newPath" in p:
        old, new = p["oldPath"].strip("/"), p["newPath"].strip("/")
        index = next((f.index for f in files if f.path == old), None)
        if index is None:
            raise QbError(409, "No such file or folder")
    elif "id" in p and "name" in p:
        index = int(p["id"]) if p["id"].isdigit() else -1
        if not 0 <= index < len(files):
            raise QbError(409, "ID is not valid")
        new = p["name"].strip("/")
    else:
        raise QbError(400, "Bad Request")
    if not new:
        raise QbError(409, "The new path is empty")
    await _rename(torrents, h, [(index, new)])
    return text_response("")


async def rename_folder(request: web.Request) -> web.Response:
    p, torrents, h = await _torrent(request, "oldPath", "newPath")
    old, new = p["oldPath"].strip("/"), p["newPath"].strip("/")
    if not old or not new:
        raise QbError(409, "The folder path is empty")
    moves = [
        (f.index, new + f.path[len(old) :]) for f in await torrents.files(h) if f.path.startswith(old + "/")
    ]
    if not moves:
        raise QbError(409, "No such file or folder")
    await _rename(torrents, h, moves)
    return text_response("")


async def export(request: web.Request) -> web.Response:
    """The .torrent file (``application/x-bittorrent``); 409 while the torrent has no metadata."""
    _, torrents, h = await _torrent(request)
    try:
        data = await torrents.torrent_file(h)
    except EngineRefusedError as e:
        raise QbError(409, str(e)) from None
    return web.Response(body=data, content_type="application/x-bittorrent", headers=HEADERS)


async def count(request: web.Request) -> web.Response:
    """How many torrents there are, as text (WebAPI 2.9.0)."""
    return text_response(str(len(request.config_dict[TORRENTS].snapshot())))
