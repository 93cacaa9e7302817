"""Engine rows as qBittorrent 4.6.7 serializes torrents (``torrents/info``, ``sync/maindata``).

Conventions follow qBittorrent's ``serialize_torrent.cpp`` and ``TorrentImpl``:
``hash`` is the lower-case info-hash; ``ratio`` is -1 at 9999 or more; ``eta``
8640000 means infinite; per-torrent rate limits are 0 when unlimited; share
limits are -2 ("use global") and their effective values -1 (disabled, as
Revaer has no share limits); ``priority`` is the queue position + 1, or 0 for
finished torrents. Floats that are whole numbers are written as integers, as
Qt's JSON writer does.

Items are cached per torrent and reused while the row's version and the
torrent's category and tags are unchanged, so a listing of many idle torrents
builds nothing.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

from revaer.api.qbittorrent.extras import EXTRAS, NO_EXTRAS, Extras, TorrentExtras
from revaer.engine.errors import EngineError
from revaer.engine.protocol import Engine, TorrentState, TorrentSummary
from revaer.torrents import Labels, TorrentService

MAX_ETA = 8640000
MAX_RATIO = 9999.0

Item = dict[str, Any]

# Every key of a torrents/info item in qBittorrent 4.6.7, in its (sorted) order.
ITEM_KEYS: tuple[str, ...] = (
    "added_on",
    "amount_left",
    "auto_tmm",
    "availability",
    "category",
    "completed",
    "completion_on",
    "content_path",
    "dl_limit",
    "dlspeed",
    "download_path",
    "downloaded",
    "downloaded_session",
    "eta",
    "f_l_piece_prio",
    "force_start",
    "hash",
    "inactive_seeding_time_limit",
    "infohash_v1",
    "infohash_v2",
    "last_activity",
    "magnet_uri",
    "max_inactive_seeding_time",
    "max_ratio",
    "max_seeding_time",
    "name",
    "num_complete",
    "num_incomplete",
    "num_leechs",
    "num_seeds",
    "priority",
    "progress",
    "ratio",
    "ratio_limit",
    "save_path",
    "seeding_time",
    "seeding_time_limit",
    "seen_complete",
    "seq_dl",
    "size",
    "state",
    "super_seeding",
    "tags",
    "time_active",
    "total_size",
    "tracker",
    "trackers_count",
    "up_limit",
    "uploaded",
    "uploaded_session",
    "upspeed",
)


def number(x: float) -> int | float:
    """A float as Qt writes it: whole numbers without a fraction."""
    return int(x) if float(x).is_integer() else x


def is_seed(row: TorrentSummary) -> bool:
    return row.is_seeding or row.is_finished


def qb_state(row: TorrentSummary, force_start: bool = False) -> str:
    """qBittorrent's state name for a row (``TorrentImpl::updateState``).

    ``force_start`` is qBittorrent's per-torrent flag (kept by the façade): a
    running torrent with it is ``forced*``. ``queued*`` means paused by the
    engine's queue (paused and auto-managed). A failed torrent whose error is a missing file
    is ``missingFiles``, as qBittorrent flags it.
    """
    st = row.state
    if st is TorrentState.MOVING or row.moving_storage:
        return "moving"
    if st is TorrentState.ERROR or row.error:
        err = row.error.lower()
        if "no such file" in err or "not found" in err:
            return "missingFiles"
        return "error"
    queued = row.paused and row.auto_managed
    paused = row.paused and not row.auto_managed
    if row.checking_resume_data and not paused:
        return "checkingResumeData"
    if not row.has_metadata:
        if paused:
            return "pausedDL"
        if queued:
            return "queuedDL"
        return "metaDL"
    seed = is_seed(row)
    if st is TorrentState.CHECKING and not paused:
        return "checkingUP" if seed else "checkingDL"
    if seed:
        if paused:
            return "pausedUP"
        if queued:
            return "queuedUP"
        if force_start:
            return "forcedUP"
        return "uploading" if row.upload_rate > 0 else "stalledUP"
    if paused:
        return "pausedDL"
    if queued:
        return "queuedDL"
    if force_start:
        return "forcedDL"
    return "downloading" if row.download_rate > 0 else "stalledDL"


def real_ratio(row: TorrentSummary) -> float:
    """``TorrentImpl::realRatio``: uploaded / downloaded, capped at 9999."""
    up = row.uploaded_total
    down = row.downloaded_total
    if down < row.total_done * 0.01:
        down = row.total_done
    if down == 0:
        return 0.0 if up == 0 else MAX_RATIO
    r = up / down
    return MAX_RATIO if r > MAX_RATIO else r


def ratio_value(row: TorrentSummary) -> int | float:
    r = real_ratio(row)
    return -1 if r >= MAX_RATIO else number(r)


def eta(row: TorrentSummary) -> int:
    """Seconds until done; 8640000 when paused, seeding (no share limits) or not downloading."""
    if row.paused or is_seed(row) or row.download_rate <= 0:
        return MAX_ETA
    left = row.total_wanted - row.total_wanted_done
    return min(MAX_ETA, left // row.download_rate)


def priority(row: TorrentSummary) -> int:
    pos = row.queue_position
    return 0 if pos < 0 or is_seed(row) else pos + 1


def limit(value: int) -> int:
    """A per-torrent rate limit as torrents/info shows it: 0 when unlimited."""
    return value if value > 0 else 0


def content_path(row: TorrentSummary) -> str:
    # Single file: the file under the save path; multi-file: the root folder. Without metadata: none.
    if not row.has_metadata:
        return ""
    base = row.save_path.rstrip("/") or "/"
    return f"{base}/{row.name}" if base != "/" else f"/{row.name}"


_UNRESERVED = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_!.~*()")


def lt_escape(text: str) -> str:
    """libtorrent's ``escape_string`` (lower-case hex), as in the magnet links qBittorrent shows."""
    return "".join(chr(b) if b in _UNRESERVED else f"%{b:02x}" for b in text.encode("utf-8"))


def magnet_uri(row: TorrentSummary, trackers: tuple[str, ...]) -> str:
    """``lt::make_magnet_uri``: the v1 hash (and v2 as btmh), the name, every tracker."""
    return _magnet(row.info_hash, row.info_hash_v2, row.name, trackers)


@functools.lru_cache(maxsize=32768)
def _magnet(info_hash: str, info_hash_v2: str, name: str, trackers: tuple[str, ...]) -> str:
    # Rebuilt items of a torrent mostly carry the same magnet: escaping it again is the costliest
    # part of an item, so the result is kept while the inputs stay the same.
    parts = []
    if info_hash and (not info_hash_v2 or info_hash != info_hash_v2[:40]):
        parts.append(f"xt=urn:btih:{info_hash}")
    if info_hash_v2:
        parts.append(f"xt=urn:btmh:1220{info_hash_v2}")
    if name:
        parts.append(f"dn={lt_escape(name)}")
    parts.extend(f"tr={lt_escape(url)}" for url in trackers)
    return "magnet:?" + "&".join(parts)


def v1_hash(row: TorrentSummary) -> str:
    """The v1 info-hash, or empty for a v2-only torrent (whose id is the truncated v2 hash)."""
    if row.info_hash_v2 and row.info_hash == row.info_hash_v2[:40]:
        return ""
    return row.info_hash


def build_item(
    row: TorrentSummary, labels: Labels, trackers: tuple[str, ...], extras: Extras = NO_EXTRAS
) -> Item:
    """The 51-key item of one torrent (``extras``: the qBittorrent-only settings the façade keeps)."""
    avail = row.availability
    last_activity = row.last_activity or row.added_time
    return {
        "added_on": row.added_time,
        "amount_left": max(0, row.total_wanted - row.total_wanted_done),
        "auto_tmm": extras.auto_tmm,
        "availability": number(avail) if avail > 0 else 0,
        "category": labels.category,
        "completed": row.total_wanted_done,
        "completion_on": row.completed_time,
        "content_path": content_path(row),
        "dl_limit": limit(row.download_limit),
        "dlspeed": row.download_rate,
        "download_path": "",
        "downloaded": row.downloaded_total,
        "downloaded_session": row.downloaded_session,
        "eta": eta(row),
        "f_l_piece_prio": extras.first_last_piece_prio,
        "force_start": extras.force_start,
        "hash": row.info_hash,
        "inactive_seeding_time_limit": extras.inactive_seeding_time_limit,
        "infohash_v1": v1_hash(row),
        "infohash_v2": row.info_hash_v2,
        "last_activity": last_activity,
        "magnet_uri": magnet_uri(row, trackers),
        "max_inactive_seeding_time": -1,
        "max_ratio": -1,
        "max_seeding_time": -1,
        "name": extras.name or row.name,
        "num_complete": row.num_complete if row.num_complete > -1 else row.list_seeds,
        "num_incomplete": (
            row.num_incomplete if row.num_incomplete > -1 else max(0, row.list_peers - row.list_seeds)
        ),
        "num_leechs": max(0, row.num_peers - row.num_seeds),
        "num_seeds": row.num_seeds,
        "priority": priority(row),
        "progress": number(row.progress) if row.has_metadata else 0,
        "ratio": ratio_value(row),
        "ratio_limit": number(extras.ratio_limit),
        "save_path": row.save_path,
        "seeding_time": row.seeding_duration,
        "seeding_time_limit": extras.seeding_time_limit,
        "seen_complete": row.last_seen_complete,
        "seq_dl": row.sequential,
        "size": row.total_wanted if row.has_metadata else 0,
        "state": qb_state(row, extras.force_start),
        "super_seeding": row.super_seeding or extras.super_seeding,
        "tags": ", ".join(labels.tags),
        "time_active": row.active_duration,
        "total_size": row.total_size if row.has_metadata else -1,
        "tracker": row.current_tracker,
        "trackers_count": row.num_trackers,
        "up_limit": limit(row.upload_limit),
        "uploaded": row.uploaded_total,
        "uploaded_session": row.uploaded_session,
        "upspeed": row.upload_rate,
    }


_NO_LABELS = Labels()


def _exact(data: bytes) -> bytes:
    """A copy of exactly ``len(data)`` bytes. orjson's output keeps the capacity of its working
    buffer (about 16 KiB): kept for 10,000 torrents that would be 160 MB instead of 12."""
    return memoryview(data).tobytes()


class ItemCache:
    """Items per info-hash, rebuilt only when the row's version or the torrent's labels change.

    Items are shared: callers must not mutate them. Tracker URLs (for
    ``magnet_uri``) are asked of the engine only when a torrent's tracker count
    changes.
    """

    __slots__ = ("_encoded", "_engine", "_items", "_keyed", "_trackers")

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._items: dict[str, tuple[int, int, int, Item]] = {}
        self._trackers: dict[str, tuple[int, tuple[str, ...]]] = {}
        # Each item's JSON, encoded once per item object: a listing joins these fragments.
        self._encoded: dict[str, tuple[Item, bytes]] = {}
        # The same without "hash", keyed by the hash (sync/maindata's full update).
        self._keyed: dict[str, tuple[Item, bytes]] = {}

    def trackers_of(self, row: TorrentSummary) -> tuple[str, ...]:
        n = row.num_trackers
        if n == 0:
            return ()
        h = row.info_hash
        cached = self._trackers.get(h)
        if cached is not None and cached[0] == n:
            return cached[1]
        try:
            urls = tuple(t.url for t in self._engine.trackers(h))
        except EngineError:
            urls = ()
        self._trackers[h] = (n, urls)
        return urls

    def item(self, row: TorrentSummary, labels: Labels | None, extras: Extras = NO_EXTRAS) -> Item:
        lab = labels or _NO_LABELS
        h = row.info_hash
        hit = self._items.get(h)
        if hit is not None and hit[0] == row.version and hit[1] == lab.version and hit[2] == extras.version:
            return hit[3]
        item = build_item(row, lab, self.trackers_of(row), extras)
        self._items[h] = (row.version, lab.version, extras.version, item)
        return item

    def encoded(self, item: Item) -> bytes:
        """The item's JSON (cached while the item is the current one of its torrent)."""
        h: str = item["hash"]
        hit = self._encoded.get(h)
        if hit is not None and hit[0] is item:
            return hit[1]
        data = _exact(orjson.dumps(item))
        self._encoded[h] = (item, data)
        return data

    def keyed(self, item: Item) -> bytes:
        """``"<hash>":{item without hash}``, as sync/maindata lists torrents (cached like ``encoded``)."""
        h: str = item["hash"]
        hit = self._keyed.get(h)
        if hit is not None and hit[0] is item:
            return hit[1]
        data = b'"' + h.encode() + b'":' + orjson.dumps({k: v for k, v in item.items() if k != "hash"})
        self._keyed[h] = (item, data)
        return data

    def join(self, items: list[Item]) -> bytes:
        """A JSON array of ``items`` from their cached fragments."""
        encoded = self.encoded
        return b"[" + b",".join([encoded(i) for i in items]) + b"]"

    def prune(self, live: Callable[[str], bool]) -> None:
        """Forget torrents that are gone (called when the cache outgrows the table)."""
        for h in [h for h in self._items if not live(h)]:
            del self._items[h]
            self._trackers.pop(h, None)
            self._encoded.pop(h, None)
            self._keyed.pop(h, None)

    def __len__(self) -> int:
        return len(self._items)


_CACHES: weakref.WeakKeyDictionary[web.Application, ItemCache] = weakref.WeakKeyDictionary()


def items_of(app: web.Application, engine: Engine) -> ItemCache:
    """The façade's item cache (one per sub-app)."""
    cache = _CACHES.get(app)
    if cache is None:
        cache = _CACHES[app] = ItemCache(engine)
    return cache


_EMPTY_EXTRAS = TorrentExtras()


def extras_of(app: web.Application) -> TorrentExtras:
    """The façade's per-torrent qBittorrent settings (an empty store when the app has none)."""
    return app.get(EXTRAS) or _EMPTY_EXTRAS


class Listing:
    """Every torrent's current item and JSON fragments, kept up to date from versions.

    ``refresh()`` asks the engine only for the rows changed since the last call
    (and the label and settings clocks for the torrents those touched), so the
    work per request is proportional to what changed; an unfiltered listing is
    then one ``bytes.join`` over the fragments.
    """

    __slots__ = (
        "_extras",
        "_torrents",
        "cache",
        "extras_clock",
        "fragments",
        "items",
        "keyed",
        "label_clock",
        "trackers",
        "version",
    )

    def __init__(self, cache: ItemCache, torrents: TorrentService, extras: TorrentExtras) -> None:
        self.cache = cache
        self._torrents = torrents
        self._extras = extras
        self.version = -1
        self.label_clock = 0
        self.extras_clock = 0
        self.items: dict[str, Item] = {}
        self.fragments: dict[str, bytes] = {}  # info-hash -> the item's JSON
        self.keyed: dict[str, bytes] = {}  # info-hash -> "hash":{item without hash} (sync/maindata)
        self.trackers: dict[str, tuple[str, ...]] = {}

    def _put(self, row: TorrentSummary) -> None:
        h = row.info_hash
        item = self.cache.item(row, self._torrents.labels.get(h), self._extras.get(h))
        if self.items.get(h) is item:
            return
        self.items[h] = item
        self.fragments[h] = self.cache.encoded(item)
        self.keyed[h] = self.cache.keyed(item)
        self.trackers[h] = self.cache.trackers_of(row)

    def _drop(self, h: str) -> None:
        self.items.pop(h, None)
        self.fragments.pop(h, None)
        self.keyed.pop(h, None)
        self.trackers.pop(h, None)

    def refresh(self) -> None:
        engine = self._torrents.engine
        torrents, extras = self._torrents, self._extras
        changes = engine.changed_since(max(self.version, 0))
        if self.version < 0 or changes.resync:
            rows = engine.snapshot()
            for d in (self.items, self.fragments, self.keyed, self.trackers):
                d.clear()
            self.version = engine.version
            self.label_clock, self.extras_clock = torrents.label_clock, extras.clock
            for row in rows:
                self._put(row)
            self.cache.prune(self.items.__contains__)
            return
        for h in changes.removed:
            self._drop(h)
        seen: set[str] = set()
        for row in changes.rows:
            self._put(row)
            seen.add(row.info_hash)
        self.version = changes.version
        stale: set[str] = set()
        if torrents.label_clock != self.label_clock:
            stale.update(h for h, lab in torrents.labels.items() if lab.version > self.label_clock)
            self.label_clock = torrents.label_clock
        if extras.clock != self.extras_clock:
            stale.update(extras.changed_since(self.extras_clock))
            self.extras_clock = extras.clock
        for h in stale - seen:
            current = engine.get(h)
            if current is not None:
                self._put(current)


_LISTINGS: weakref.WeakKeyDictionary[web.Application, Listing] = weakref.WeakKeyDictionary()


def listing_of(app: web.Application, torrents: TorrentService) -> Listing:
    """The façade's listing, refreshed (one per sub-app)."""
    listing = _LISTINGS.get(app)
    if listing is None:
        listing = _LISTINGS[app] = Listing(items_of(app, torrents.engine), torrents, extras_of(app))
    listing.refresh()
    return listing
