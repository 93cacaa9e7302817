"""One torrent in detail: ``torrents/properties``, ``files``, ``trackers``, ``webseeds``,
``pieceStates`` and ``pieceHashes``.

A missing ``hash`` is 400 ``Bad Request``; an unknown or malformed one is 404
``Not Found``, as qBittorrent answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web

from revaer.api.keys import CONFIG, TORRENTS
from revaer.api.params import parse_int
from revaer.api.qbittorrent.errors import NOT_FOUND, QbError
from revaer.api.qbittorrent.extras import EXTRAS
from revaer.api.qbittorrent.items import MAX_RATIO, eta, is_seed, number, real_ratio, v1_hash
from revaer.api.qbittorrent.reading import json_response, named_torrent
from revaer.engine.errors import EngineError
from revaer.engine.protocol import TorrentMeta, TorrentSummary

T = TypeVar("T")


async def _or_not_found(read: Callable[[str], Awaitable[T]], row: TorrentSummary) -> T:
    """``await read(info_hash)``; a torrent removed meanwhile is 404."""
    try:
        return await read(row.info_hash)
    except EngineError:
        raise NOT_FOUND from None


def properties(row: TorrentSummary, meta_info: TorrentMeta, download_path: str = "") -> dict[str, Any]:
    """``torrents/properties`` (qBittorrent's ``propertiesAction``)."""
    meta = row.has_metadata
    active = row.active_duration
    dl_duration = active - row.finished_duration
    ratio = real_ratio(row)
    return {
        "addition_date": row.added_time,
        "comment": meta_info.comment,
        "completion_date": row.completed_time if meta and row.completed_time > 0 else -1,
        "created_by": meta_info.creator,
        "creation_date": meta_info.creation_date,
        "dl_limit": row.download_limit if row.download_limit > 0 else -1,
        "dl_speed": row.download_rate,
        "dl_speed_avg": row.downloaded_total // dl_duration if dl_duration > 0 else -row.downloaded_total,
        "download_path": download_path,
        "eta": eta(row),
        "hash": row.info_hash,
        "infohash_v1": v1_hash(row),
        "infohash_v2": row.info_hash_v2,
        "is_private": row.is_private,
        "last_seen": row.last_seen_complete if meta and row.last_seen_complete > 0 else -1,
        "name": row.name,
        "nb_connections": row.num_peers,
        "nb_connections_limit": row.max_connections if row.max_connections > 0 else 100,
        "peers": max(0, row.num_peers - row.num_seeds),
        "peers_total": (
            row.num_incomplete if row.num_incomplete > -1 else max(0, row.list_peers - row.list_seeds)
        ),
        "piece_size": row.piece_length if meta else -1,
        "pieces_have": row.pieces_have,
        "pieces_num": row.num_pieces if meta else -1,
        "reannounce": 0,
        "save_path": row.save_path,
        "seeding_time": row.seeding_duration,
        "seeds": row.num_seeds,
        "seeds_total": row.num_complete if row.num_complete > -1 else row.list_seeds,
        "share_ratio": -1 if ratio >= MAX_RATIO else number(ratio),
        "time_elapsed": active,
        "total_downloaded": row.downloaded_total,
        "total_downloaded_session": row.downloaded_session,
        "total_size": row.total_size if meta else -1,
        "total_uploaded": row.uploaded_total,
        "total_uploaded_session": row.uploaded_session,
        "total_wasted": 0,
        "up_limit": row.upload_limit if row.upload_limit > 0 else -1,
        "up_speed": row.upload_rate,
        "up_speed_avg": row.uploaded_total // active if active > 0 else -row.uploaded_total,
    }


async def torrent_properties(request: web.Request) -> web.Response:
    _, row = await named_torrent(request)
    meta_info = await _or_not_found(request.config_dict[TORRENTS].torrent_meta, row)
    return json_response(properties(row, meta_info, request.app[EXTRAS].get(row.info_hash).download_path))


def _qb_priority(lt_priority: int) -> int:
    # qBittorrent's DownloadPriority: 0 ignored, 1 normal, 6 high, 7 maximum.
    if lt_priority <= 0:
        return 0
    return lt_priority if lt_priority in (6, 7) else 1


async def torrent_files(request: web.Request) -> web.Response:
    p, row = await named_torrent(request)
    if not row.has_metadata:
        return json_response([])
    files = await _or_not_found(request.config_dict[TORRENTS].files, row)
    wanted: set[int] | None = None
    if "indexes" in p:
        wanted = set()
        for text in p["indexes"].split("|"):
            index = parse_int(text, default=-1, strict=False)
            if index < 0:
                raise QbError(409, f'"{text}" is not a valid file index.')
            if index >= len(files):
                raise QbError(409, f"Index {text} is out of bounds.")
            wanted.add(index)
    piece = row.piece_length or 1
    seed = is_seed(row)
    # Availability per file needs the swarm's piece counts; with no peers it is 0, as qBittorrent shows.
    avail = 0 if row.num_peers == 0 or row.availability <= 0 else number(min(1.0, row.availability))
    out = []
    for f in files:
        if wanted is not None and f.index not in wanted:
            continue
        first = f.offset // piece
        last = (f.offset + f.size - 1) // piece if f.size > 0 else first
        entry: dict[str, Any] = {
            "availability": avail,
            "index": f.index,
        }
        if f.index == 0:
            entry["is_seed"] = seed
        entry.update(
            name=f.path,
            piece_range=[first, last],
            priority=_qb_priority(f.priority),
            progress=number(f.progress),
            size=f.size,
        )
        out.append(entry)
    return json_response(out)


def _pseudo(url: str, enabled: bool, private: bool) -> dict[str, Any]:
    return {
        "msg": "This torrent is private" if private else "",
        "num_downloaded": 0,
        "num_leeches": 0,
        "num_peers": 0,
        "num_seeds": 0,
        "status": 2 if enabled and not private else 0,
        "tier": -1,
        "url": url,
    }


async def torrent_trackers(request: web.Request) -> web.Response:
    _, row = await named_torrent(request)
    listener = request.config_dict.get(CONFIG)
    config = listener.config if listener is not None else None
    dht = bool(config.engine.dht) if config is not None else False
    settings = config.engine.settings if config is not None else {}
    lsd = bool(settings.get("enable_lsd", False))
    pex = bool(settings.get("enable_pex", False))
    out = [
        _pseudo("** [DHT] **", dht, row.is_private),
        _pseudo("** [PeX] **", pex, row.is_private),
        _pseudo("** [LSD] **", lsd, row.is_private),
    ]
    trackers = await _or_not_found(request.config_dict[TORRENTS].trackers, row)
    out.extend(
        {
            "msg": t.message,
            "num_downloaded": t.downloaded,
            "num_leeches": t.leeches,
            "num_peers": t.peers,
            "num_seeds": t.seeds,
            "status": int(t.status),
            "tier": t.tier,
            "url": t.url,
        }
        for t in trackers
    )
    return json_response(out)


async def torrent_webseeds(request: web.Request) -> web.Response:
    _, row = await named_torrent(request)
    meta_info = await _or_not_found(request.config_dict[TORRENTS].torrent_meta, row)
    return json_response([{"url": url} for url in meta_info.web_seeds])


async def torrent_piece_states(request: web.Request) -> web.Response:
    _, row = await named_torrent(request)
    return json_response(list(await _or_not_found(request.config_dict[TORRENTS].piece_states, row)))


async def torrent_piece_hashes(request: web.Request) -> web.Response:
    _, row = await named_torrent(request)
    return json_response(await _or_not_found(request.config_dict[TORRENTS].piece_hashes, row))
