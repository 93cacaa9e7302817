"""``sync/maindata`` and ``sync/torrentPeers``: qBittorrent's incremental updates, per web session.

Each session remembers the last response id (``rid``) and what it was sent.
When the client's ``rid`` is that id, the answer holds only what changed since:
the engine's versioned table names the changed rows (``changed_since``), and
only their items are compared key by key with what the session holds. Any
other ``rid`` (0, stale, unknown, not a number) gets a full update.
"""

from __future__ import annotations

import functools
import shutil
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from revaer.api.keys import SERVICES, Services
from revaer.api.qbittorrent.auth import session_of
from revaer.api.qbittorrent.errors import HEADERS, NOT_FOUND, bad_request
from revaer.api.qbittorrent.extras import TorrentExtras
from revaer.api.qbittorrent.info import json_response, params, to_int
from revaer.api.qbittorrent.serialize import Item, ItemCache, Listing, extras_of, items_of, listing_of
from revaer.engine.protocol import TorrentSummary

MAX_RID = 1_000_000


def _no_hash(item: Item) -> Item:
    return {k: v for k, v in item.items() if k != "hash"}


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


def server_state(services: Services) -> dict[str, Any]:
    """``server_state`` (qBittorrent 4.6.7 keys); Revaer has no disk cache, queueing or alternative limits."""
    stats = services.engine.stats()
    config = services.listener.config if services.listener is not None else None
    free = _free_space(str(services.torrents.download_root), int(time.monotonic() / FREE_SPACE_SECONDS))
    return {
        "alltime_dl": stats.downloaded,
        "alltime_ul": stats.uploaded,
        "average_time_queue": 0,
        "connection_status": "firewalled" if stats.listen_port > 0 else "disconnected",
        "dht_nodes": stats.dht_nodes,
        "dl_info_data": stats.downloaded,
        "dl_info_speed": stats.download_rate,
        "dl_rate_limit": config.engine.download_limit if config is not None else 0,
        "free_space_on_disk": free,
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
        "up_rate_limit": config.engine.upload_limit if config is not None else 0,
        "use_alt_speed_limits": False,
        "use_subcategories": False,
        "write_cache_overload": "0",
    }


@dataclass(slots=True)
class SyncState:
    """What one session was last sent."""

    rid: int = 0
    version: int = 0
    items: dict[str, Item] = field(default_factory=dict)
    trackers: dict[str, tuple[str, ...]] = field(default_factory=dict)  # info-hash -> tracker URLs
    categories_version: int = -1
    categories: dict[str, str] = field(default_factory=dict)
    tags: set[str] = field(default_factory=set)
    server_state: dict[str, Any] = field(default_factory=dict)
    label_clock: int = 0  # TorrentService.label_clock when last sent
    extras_clock: int = 0  # TorrentExtras.clock when last sent


def _tracker_map(trackers: dict[str, tuple[str, ...]], urls: set[str] | None = None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for h, tr in trackers.items():
        for url in tr:
            if urls is None or url in urls:
                out.setdefault(url, []).append(h)
    return out


def _full(services: Services, listing: Listing, state: SyncState) -> tuple[dict[str, Any], list[bytes]]:
    """A full update: everything but the torrents as a dict, the torrents as the listing's fragments."""
    torrents = services.torrents
    state.items = dict(listing.items)
    state.trackers = dict(listing.trackers)
    state.label_clock = listing.label_clock
    state.extras_clock = listing.extras_clock
    version = listing.version
    fragments = list(listing.keyed.values())
    store = torrents.categories
    state.version = version
    state.categories_version = store.version
    state.categories = {c.name: c.save_path for c in store.categories.values()}
    state.tags = set(store.tags)
    state.server_state = server_state(services)
    rest = {
        "categories": {n: {"name": n, "savePath": p} for n, p in state.categories.items()},
        "full_update": True,
        "server_state": state.server_state,
        "tags": sorted(state.tags),
        "trackers": _tracker_map(state.trackers),
    }
    return rest, fragments


def _changed_item(old: Item | None, new: Item) -> Item | None:
    if old is None:
        return _no_hash(new)
    if old is new:
        return None
    diff = {k: v for k, v in new.items() if old.get(k) != v}
    diff.pop("hash", None)
    return diff or None


def _delta(
    services: Services, cache: ItemCache, state: SyncState, extras: TorrentExtras
) -> dict[str, Any] | None:
    """Only what changed since the session's last response; None when a full update is needed."""
    torrents = services.torrents
    engine = services.engine
    changes = engine.changed_since(state.version)
    if changes.resync:
        return None
    labels = torrents.labels
    out: dict[str, Any] = {}
    changed: dict[str, Item] = {}
    touched_urls: set[str] = set()

    def update(row: TorrentSummary) -> None:
        h = row.info_hash
        new = cache.item(row, labels.get(h), extras.get(h))
        diff = _changed_item(state.items.get(h), new)
        state.items[h] = new
        if diff:
            changed[h] = diff
        urls = cache.trackers_of(row)
        old_urls = state.trackers.get(h)
        if old_urls != urls:
            touched_urls.update(urls)
            touched_urls.update(old_urls or ())
            state.trackers[h] = urls

    for row in changes.rows:
        update(row)
    # Category, tags and the façade's own settings live outside the engine's table: their clocks
    # say whether anything changed at all, and only records stamped since are looked at.
    seen = {r.info_hash for r in changes.rows}
    stale: set[str] = set()
    if torrents.label_clock != state.label_clock:
        stale.update(h for h, lab in labels.items() if lab.version > state.label_clock)
        state.label_clock = torrents.label_clock
    if extras.clock != state.extras_clock:
        stale.update(extras.changed_since(state.extras_clock))
        state.extras_clock = extras.clock
    for h in stale - seen:
        if h in state.items:
            current = engine.get(h)
            if current is not None:
                update(current)

    removed = [h for h in changes.removed if h in state.items]
    for h in removed:
        del state.items[h]
        touched_urls.update(state.trackers.pop(h, ()))
    state.version = changes.version

    if changed:
        out["torrents"] = changed
    if removed:
        out["torrents_removed"] = removed
    if touched_urls:
        tmap = _tracker_map(state.trackers, touched_urls)
        if tmap:
            out["trackers"] = tmap
        gone = sorted(touched_urls - set(tmap))
        if gone:
            out["trackers_removed"] = gone

    store = torrents.categories
    if store.version != state.categories_version:
        cats = {c.name: c.save_path for c in store.categories.values()}
        new_cats = {n: {"name": n, "savePath": p} for n, p in cats.items() if state.categories.get(n) != p}
        gone_cats = [n for n in state.categories if n not in cats]
        new_tags = sorted(store.tags - state.tags)
        gone_tags = sorted(state.tags - store.tags)
        if new_cats:
            out["categories"] = new_cats
        if gone_cats:
            out["categories_removed"] = gone_cats
        if new_tags:
            out["tags"] = new_tags
        if gone_tags:
            out["tags_removed"] = gone_tags
        state.categories = cats
        state.tags = set(store.tags)
        state.categories_version = store.version

    ss = server_state(services)
    ss_diff = {k: v for k, v in ss.items() if state.server_state.get(k) != v}
    if ss_diff:
        out["server_state"] = ss_diff
        state.server_state = ss
    return out


async def maindata(request: web.Request) -> web.Response:
    p = await params(request)
    services = request.app[SERVICES]
    session = session_of(request)
    state = session.sync.get("maindata")
    if not isinstance(state, SyncState):
        state = session.sync["maindata"] = SyncState()
    cache = items_of(request.app, services.engine)
    extras = extras_of(request.app)
    rid = to_int(p.get("rid"))
    delta: dict[str, Any] | None = None
    if rid != 0 and rid == state.rid:
        delta = _delta(services, cache, state, extras)
    full = _full(services, listing_of(request.app, services.torrents), state) if delta is None else None
    # As qBittorrent counts: a client with no rid (0, or not a number) starts again at 1.
    state.rid = 1 if rid <= 0 else state.rid % MAX_RID + 1
    if full is None:
        assert delta is not None
        delta["rid"] = state.rid
        return json_response(delta)
    rest, fragments = full
    rest["rid"] = state.rid
    head = orjson.dumps(rest)
    body = head[:-1] + b',"torrents":{' + b",".join(fragments) + b"}}"
    return web.Response(body=body, content_type="application/json", headers=HEADERS)


async def torrent_peers(request: web.Request) -> web.Response:
    """Peers of one torrent. The engine does not list peers yet: always a full update with none."""
    p = await params(request)
    h = p.get("hash")
    if h is None:
        raise bad_request()
    services = request.app[SERVICES]
    h = h.strip().lower()
    if len(h) != 40 or services.engine.get(h) is None:
        raise NOT_FOUND
    session = session_of(request)
    rids: dict[str, int] = session.sync.setdefault("peers", {})
    rid = rids.get(h, 0) % MAX_RID + 1
    rids[h] = rid
    return json_response({"full_update": True, "peers": {}, "rid": rid, "show_flags": True})


def register(router: web.UrlDispatcher) -> None:
    from revaer.api.qbittorrent import read

    read(router, "/sync/maindata", maindata)
    read(router, "/sync/torrentPeers", torrent_peers)
