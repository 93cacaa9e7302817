"""``sync/maindata`` and ``sync/torrentPeers``: qBittorrent's incremental updates, per web session.

Each session remembers the last response id (``rid``), the listing generation it was sent and
what it was sent. When the client's ``rid`` is that id, the answer holds only what changed since:
the listing (refreshed once per request, shared with ``torrents/info``) names the torrents changed
and removed after the session's generation, and only their items are compared key by key with
what the session holds. Any other ``rid`` (0, stale, unknown, not a number) gets a full update.
"""

from __future__ import annotations

import functools
import shutil
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from revaer.api.keys import CONFIG, TORRENTS
from revaer.api.params import parse_int
from revaer.api.qbittorrent.auth import session_of
from revaer.api.qbittorrent.errors import NOT_FOUND
from revaer.api.qbittorrent.items import Item, without_hash
from revaer.api.qbittorrent.keys import SESSIONS
from revaer.api.qbittorrent.listing import Listing, listing_of
from revaer.api.qbittorrent.reading import joined, json_response, named_torrent, params, send_json
from revaer.categories import CategoryStore
from revaer.config.model import Config
from revaer.engine.errors import EngineError
from revaer.engine.protocol import PeerInfo, SessionStats

MAX_RID = 1_000_000
MAX_PEER_RIDS = 64  # torrents whose sync/torrentPeers rid a session keeps


def _global_ratio(up: int, down: int) -> str:
    if down <= 0:
        return "-"
    ratio = up / down
    return f"{ratio:.2f}" if ratio < 9999 else "-"


FREE_SPACE_SECONDS = 2.0


@functools.lru_cache(maxsize=4)
def _free_space(path: str, _tick: int) -> int:
    """Free bytes under ``path``, asked of the system at most every ``FREE_SPACE_SECONDS``."""
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return 0


def server_state(stats: SessionStats, config: Config | None, free_space: int) -> dict[str, Any]:
    """``server_state`` (qBittorrent 4.6.7 keys); Revaer has no disk cache, queueing or alternative limits."""
    return {
        "alltime_dl": stats.downloaded,
        "alltime_ul": stats.uploaded,
        "average_time_queue": 0,
        "connection_status": "firewalled" if stats.listen_port > 0 else "disconnected",
        "dht_nodes": stats.dht_nodes,
        "dl_info_data": stats.downloaded,
        "dl_info_speed": stats.download_rate,
        "dl_rate_limit": config.engine.effective_limits[0] if config is not None else 0,
        "free_space_on_disk": free_space,
        "global_ratio": _global_ratio(stats.uploaded, stats.downloaded),
        "queued_io_jobs": 0,
        "queueing": False,
        "read_cache_hits": "0",
        "read_cache_overload": "0",
        "refresh_interval": 1500,
        "total_buffers_size": 0,
        "total_peer_connections": stats.peers_connected,
        "total_queued_size": 0,
        "total_wasted_session": 0,
        "up_info_data": stats.uploaded,
        "up_info_speed": stats.upload_rate,
        "up_rate_limit": config.engine.effective_limits[1] if config is not None else 0,
        "use_alt_speed_limits": config.engine.alt_enabled if config is not None else False,
        "use_subcategories": False,
        "write_cache_overload": "0",
    }


def _server_state_of(request: web.Request) -> dict[str, Any]:
    torrents = request.config_dict[TORRENTS]
    listener = request.config_dict.get(CONFIG)
    free = _free_space(str(torrents.download_root), int(time.monotonic() / FREE_SPACE_SECONDS))
    return server_state(torrents.stats(), listener.config if listener is not None else None, free)


@dataclass(slots=True)
class SyncState:
    """What one session was last sent."""

    rid: int = 0
    generation: int = 0  # Listing.generation when last sent
    items: dict[str, Item] = field(default_factory=dict)
    trackers: dict[str, tuple[str, ...]] = field(default_factory=dict)  # info-hash -> tracker URLs
    categories_version: int = -1
    categories: dict[str, str] = field(default_factory=dict)
    tags: set[str] = field(default_factory=set)
    server_state: dict[str, Any] = field(default_factory=dict)


def _tracker_map(trackers: dict[str, tuple[str, ...]], urls: set[str] | None = None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for h, tr in trackers.items():
        for url in tr:
            if urls is None or url in urls:
                out.setdefault(url, []).append(h)
    return out


def _categories_of(store: CategoryStore) -> dict[str, str]:
    return {c.name: c.save_path for c in store.categories.values()}


def full_update(
    listing: Listing, store: CategoryStore, server: dict[str, Any], state: SyncState
) -> tuple[dict[str, Any], list[bytes]]:
    """A full update: everything but the torrents as a dict, the torrents as the listing's fragments."""
    state.items = dict(listing.items)
    state.trackers = dict(listing.trackers)
    state.generation = listing.generation
    state.categories_version = store.version
    state.categories = _categories_of(store)
    state.tags = set(store.tags)
    state.server_state = server
    rest = {
        "categories": {n: {"name": n, "savePath": p} for n, p in state.categories.items()},
        "full_update": True,
        "server_state": server,
        "tags": sorted(state.tags),
        "trackers": _tracker_map(state.trackers),
    }
    return rest, list(listing.keyed().values())


def changed_item(old: Item | None, new: Item, keys: tuple[str, ...] | None = None) -> Item | None:
    """The keys of ``new`` that differ from ``old`` (all of them for a new torrent), without ``hash``;
    ``keys``: those keys, when the listing knows them (it updated ``new`` from ``old``)."""
    if old is None:
        return without_hash(new)
    if old is new:
        return None
    if keys is not None:
        return {k: new[k] for k in keys if k != "hash"} or None
    diff = {k: v for k, v in new.items() if old.get(k) != v}
    diff.pop("hash", None)
    return diff or None


def _torrents_delta(listing: Listing, state: SyncState, changed: list[str], out: dict[str, Any]) -> set[str]:
    """Changed keys of the changed torrents into ``out``; the tracker URLs whose torrents changed."""
    diffs: dict[str, Item] = {}
    touched: set[str] = set()
    for h in changed:
        new = listing.items[h]
        old = state.items.get(h)
        diff = changed_item(old, new, listing.changed_keys(h, old) if old is not None else None)
        state.items[h] = new
        if diff:
            diffs[h] = diff
        urls = listing.trackers[h]
        old_urls = state.trackers.get(h)
        if old_urls != urls:
            touched.update(urls)
            touched.update(old_urls or ())
            state.trackers[h] = urls
    if diffs:
        out["torrents"] = diffs
    return touched


def _removed_delta(state: SyncState, removed: list[str], out: dict[str, Any]) -> set[str]:
    """The removed torrents the session knew into ``out``; the tracker URLs they had."""
    gone = [h for h in removed if h in state.items]
    touched: set[str] = set()
    for h in gone:
        del state.items[h]
        touched.update(state.trackers.pop(h, ()))
    if gone:
        out["torrents_removed"] = gone
    return touched


def _trackers_delta(state: SyncState, touched: set[str], out: dict[str, Any]) -> None:
    if not touched:
        return
    tmap = _tracker_map(state.trackers, touched)
    if tmap:
        out["trackers"] = tmap
    gone = sorted(touched - set(tmap))
    if gone:
        out["trackers_removed"] = gone


def _labels_delta(store: CategoryStore, state: SyncState, out: dict[str, Any]) -> None:
    """Categories and tags added, changed and removed (when the store's version moved)."""
    if store.version == state.categories_version:
        return
    cats = _categories_of(store)
    new_cats = {n: {"name": n, "savePath": p} for n, p in cats.items() if state.categories.get(n) != p}
    gone_cats = [n for n in state.categories if n not in cats]
    new_tags = sorted(store.tags - state.tags)
    gone_tags = sorted(state.tags - store.tags)
    for key, value in (
        ("categories", new_cats),
        ("categories_removed", gone_cats),
        ("tags", new_tags),
        ("tags_removed", gone_tags),
    ):
        if value:
            out[key] = value
    state.categories = cats
    state.tags = set(store.tags)
    state.categories_version = store.version


def delta(
    listing: Listing, store: CategoryStore, server: dict[str, Any], state: SyncState
) -> dict[str, Any] | None:
    """Only what changed since the session's last response; None when a full update is needed."""
    since = listing.changes_since(state.generation)
    if since is None:
        return None
    changed, removed = since
    out: dict[str, Any] = {}
    touched = _torrents_delta(listing, state, changed, out)
    touched |= _removed_delta(state, removed, out)
    _trackers_delta(state, touched, out)
    state.generation = listing.generation
    _labels_delta(store, state, out)
    ss_diff = {k: v for k, v in server.items() if state.server_state.get(k) != v}
    if ss_diff:
        out["server_state"] = ss_diff
        state.server_state = server
    return out


def _sync_state(request: web.Request) -> SyncState:
    sync = request.app[SESSIONS].syncs(session_of(request))
    state = sync.get("maindata")
    if not isinstance(state, SyncState):
        state = sync["maindata"] = SyncState()
    return state


def answer(
    listing: Listing, store: CategoryStore, server: dict[str, Any], state: SyncState, rid: int
) -> list[bytes]:
    """The ``sync/maindata`` body (in pieces) for a client that sent ``rid``: a delta when it is
    the session's last id, else a full update."""
    changes = delta(listing, store, server, state) if rid != 0 and rid == state.rid else None
    # As qBittorrent counts: a client with no rid (0, or not a number) starts again at 1.
    state.rid = 1 if rid <= 0 else state.rid % MAX_RID + 1
    if changes is not None:
        changes["rid"] = state.rid
        return [orjson.dumps(changes)]
    rest, fragments = full_update(listing, store, server, state)
    rest["rid"] = state.rid
    return joined(orjson.dumps(rest)[:-1] + b',"torrents":{', fragments, b"}}")


async def maindata(request: web.Request) -> web.StreamResponse:
    p = await params(request)
    state = _sync_state(request)
    listing = listing_of(request)
    store = request.config_dict[TORRENTS].categories
    pieces = answer(listing, store, _server_state_of(request), state, parse_int(p.get("rid"), strict=False))
    return await send_json(request, pieces)


def peer_item(p: PeerInfo) -> dict[str, Any]:
    """One peer as qBittorrent 4.6 lists it (no country: Revaer resolves none, as qBittorrent with
    ``Connection\\ResolvePeerCountries`` off)."""
    return {
        "client": p.client,
        "connection": "μTP" if p.utp else "BT",
        "country": "",
        "country_code": "",
        "dl_speed": p.download_rate,
        "downloaded": p.downloaded,
        "files": "",
        "flags": " ".join(p.flags),
        "flags_desc": "",
        "ip": p.ip,
        "port": p.port,
        "progress": p.progress,
        "relevance": 0,
        "up_speed": p.upload_rate,
        "uploaded": p.uploaded,
    }


async def torrent_peers(request: web.Request) -> web.Response:
    """The torrent's connected peers, from the engine: a full update each time (keyed "ip:port")."""
    _, row = await named_torrent(request)
    rids: dict[str, int] = request.app[SESSIONS].syncs(session_of(request)).setdefault("peers", {})
    if row.info_hash not in rids and len(rids) >= MAX_PEER_RIDS:
        rids.clear()  # bounded: a client walking every torrent starts over with full updates
    rid = rids.get(row.info_hash, 0) % MAX_RID + 1
    rids[row.info_hash] = rid
    try:
        found = await request.config_dict[TORRENTS].peers(row.info_hash)
    except EngineError:
        raise NOT_FOUND from None
    peers = {(f"[{p.ip}]:{p.port}" if ":" in p.ip else f"{p.ip}:{p.port}"): peer_item(p) for p in found}
    return json_response({"full_update": True, "peers": peers, "rid": rid, "show_flags": True})
