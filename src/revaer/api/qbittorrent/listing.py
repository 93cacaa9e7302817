"""Every torrent's current qBittorrent item and JSON fragments, kept current from version clocks.

One ``Listing`` per application (under ``LISTING``, created with the sub-app by ``build_qbittorrent``)
serves ``torrents/info`` and ``sync/maindata``. Each request refreshes it once: one walk of the
engine's ``changed_since`` from the version it last saw, plus the label and settings clocks, so
the work per request is proportional to what changed. An unfiltered listing is then one
``bytes.join`` over the kept fragments, and a sync delta reads the Listing's change log instead of
asking the engine again (see docs/adr/0008-cached-json-fragments.md).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from aiohttp import web

from revaer.api.keys import CONFIG, LISTING, TORRENTS
from revaer.api.qbittorrent.extras import EXTRAS, Extras, TorrentExtras
from revaer.api.qbittorrent.items import (
    NO_GLOBAL_LIMITS,
    Item,
    build_item,
    fragment,
    keyed_fragment,
    update_item,
)
from revaer.config.model import ShareLimits
from revaer.engine.protocol import Changes, TorrentSummary
from revaer.labels import Labels


class TorrentSource(Protocol):
    """What a listing reads of the torrents (``TorrentService`` is one)."""

    @property
    def table_version(self) -> int: ...

    @property
    def label_clock(self) -> int: ...

    def snapshot(self) -> Sequence[TorrentSummary]: ...
    def changed_since(self, version: int) -> Changes: ...
    def get(self, info_hash: str) -> TorrentSummary | None: ...
    def labels_of(self, h: str) -> Labels: ...


class Entry:
    """One torrent's item and its two JSON fragments (encoded when first asked for), with the row
    and versions they were built from; ``base`` and ``changed``: the item this one was updated from
    and the keys that differ from it (None: built whole)."""

    __slots__ = (
        "_fragment",
        "_keyed",
        "base",
        "changed",
        "extras_version",
        "item",
        "label_version",
        "row",
        "row_version",
    )

    def __init__(
        self,
        row: TorrentSummary,
        labels: Labels,
        extras: Extras,
        item: Item,
        base: tuple[Item, tuple[str, ...]] | None = None,
    ) -> None:
        self.row = row
        self.row_version = row.version
        self.label_version = labels.version
        self.extras_version = extras.version
        self.item = item
        self.base: Item | None = None
        self.changed: tuple[str, ...] = ()
        if base is not None:
            self.base, self.changed = base
        self._fragment: bytes | None = None
        self._keyed: bytes | None = None

    def update(self, row: TorrentSummary, item: Item, changed: tuple[str, ...]) -> None:
        """``item`` (updated from this entry's item in ``changed``) for ``row``, in place: entries are
        the cache's alone; the fragments are encoded again when asked for."""
        self.base, self.changed, self.item = self.item, changed, item
        self.row, self.row_version = row, row.version
        self._fragment = self._keyed = None

    @property
    def fragment(self) -> bytes:
        """The item's JSON (torrents/info)."""
        if self._fragment is None:
            self._fragment = fragment(self.item)
        return self._fragment

    @property
    def keyed(self) -> bytes:
        """``"<hash>":{item without hash}`` (sync/maindata's full update)."""
        if self._keyed is None:
            self._keyed = keyed_fragment(self.item, self._fragment)
        return self._keyed


class ItemCache:
    """Entries per info-hash, rebuilt only when the row's, the labels' or the extras' version moves.

    Items are shared: callers must not mutate them. Tracker URLs (for ``magnet_uri``) come from the
    row's ``tracker_urls``, so no listing asks the engine for a torrent's trackers. A torrent whose
    row alone changed has its item updated in the keys that read a changed field (``update_item``);
    when none of them shows a change, its entry stays as it is (with the new row).
    """

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}

    def entry(self, row: TorrentSummary, labels: Labels, extras: Extras, share: ShareLimits) -> Entry:
        """The torrent's current entry (the cached one while no version moved)."""
        h = row.info_hash
        hit = self._entries.get(h)
        if hit is None or hit.label_version != labels.version or hit.extras_version != extras.version:
            entry = self._entries[h] = Entry(row, labels, extras, build_item(row, labels, extras, share))
            return entry
        if hit.row_version == row.version:
            return hit
        item, changed = update_item(hit.item, hit.row, row, labels, extras, share)
        if item is hit.item:
            hit.row, hit.row_version = row, row.version
            return hit
        hit.update(row, item, changed)
        return hit

    def get(self, h: str) -> Entry | None:
        return self._entries.get(h)

    def forget(self, h: str) -> None:
        self._entries.pop(h, None)

    def prune(self, live: Callable[[str], bool]) -> None:
        """Forget every torrent that is not ``live``."""
        for h in [h for h in self._entries if not live(h)]:
            self.forget(h)

    def __len__(self) -> int:
        return len(self._entries)


class Listing:
    """Every torrent's current item and fragments, and a log of when each last changed.

    ``items``, ``trackers``, ``fragments()`` and ``keyed()`` are keyed by info-hash, in listing
    order (the engine's snapshot order, new torrents last). Fragments are encoded when a listing
    first asks for them, so a sync delta, which compares items, never pays for encoding.
    ``generation`` counts the refreshes that changed anything; ``changes_since(g)`` names the
    torrents changed and removed after generation ``g``, which is what a sync session needs for its
    delta. Removals are remembered up to ``MAX_REMOVED``; a session older than what is remembered
    (``floor``) gets a full update.

    ``refresh`` is given its sources on every call (the request's app holds them); other sources
    than last time mean a fresh start.
    """

    MAX_REMOVED = 65536

    __slots__ = (
        "_cache",
        "_changed",
        "_extras",
        "_fragments",
        "_keyed",
        "_orders",
        "_removed",
        "_torrents",
        "_unencoded",
        "_unkeyed",
        "extras_clock",
        "floor",
        "generation",
        "items",
        "label_clock",
        "share",
        "trackers",
        "version",
    )

    def __init__(self) -> None:
        self._torrents: TorrentSource | None = None
        self._extras: TorrentExtras | None = None
        self._cache = ItemCache()
        self.share = NO_GLOBAL_LIMITS
        self.version = -1  # the engine table's version last seen; -1: never refreshed
        self.label_clock = 0
        self.extras_clock = 0
        self.generation = 0
        self.floor = 0
        self.items: dict[str, Item] = {}
        self.trackers: dict[str, tuple[str, ...]] = {}
        # info-hash -> generation it last changed (or was removed), oldest first: a delta reads a tail.
        self._changed: dict[str, int] = {}
        self._removed: dict[str, int] = {}
        self._fragments: dict[str, bytes] = {}  # info-hash -> the item's JSON
        self._keyed: dict[str, bytes] = {}  # info-hash -> "hash":{item without hash}
        # Entries put since their fragments were last asked for.
        self._unencoded: dict[str, Entry] = {}
        self._unkeyed: dict[str, Entry] = {}
        # (key, reverse) -> (generation, info-hashes in that order, each one's sort value then).
        self._orders: dict[tuple[str, bool], tuple[int, list[str], dict[str, Any]]] = {}

    # -- reads ------------------------------------------------------------------------------------
    def changes_since(self, generation: int) -> tuple[list[str], list[str]] | None:
        """(changed, removed) info-hashes after ``generation``, oldest first; None: too old to say."""
        if generation < self.floor:
            return None
        return _tail(self._changed, generation), _tail(self._removed, generation)

    def changed_keys(self, h: str, old: Item) -> tuple[str, ...] | None:
        """The keys in which torrent ``h``'s item differs from ``old`` when its item was updated
        from ``old`` itself (what a session sent last refresh holds); None: compare them."""
        entry = self._cache.get(h)
        return entry.changed if entry is not None and entry.base is old else None

    def fragments(self) -> dict[str, bytes]:
        """Every item's JSON (``torrents/info``), by info-hash in listing order. Read only."""
        return _encode(self._unencoded, self._fragments, _FRAGMENT)

    def keyed(self) -> dict[str, bytes]:
        """Every ``"<hash>":{item without hash}`` (``sync/maindata``), in listing order. Read only."""
        return _encode(self._unkeyed, self._keyed, _KEYED)

    def __len__(self) -> int:
        return len(self.items)

    def ordered(self, key: str, reverse: bool, value: Callable[[Any], Any]) -> list[str]:
        """Every info-hash sorted by ``value(item[key])`` (stable: listing order among equals). Read only.

        Kept between requests: a later generation reuses the order when no torrent was added or
        removed and none of those changed since has another sort value (names rarely change)."""
        kept = self._orders.get((key, reverse))
        if kept is not None and kept[0] != self.generation:
            since = self.changes_since(kept[0])
            values = kept[2]
            if (
                since is None
                or since[1]
                or any(values.get(h, _MISSING) != value(self.items[h][key]) for h in since[0])
            ):
                kept = None
            else:
                kept = self._orders[key, reverse] = (self.generation, kept[1], values)
        if kept is None:
            values = {h: value(i[key]) for h, i in self.items.items()}
            kept = self._orders[key, reverse] = (
                self.generation,
                sorted(values, key=values.__getitem__, reverse=reverse),
                values,
            )
        return kept[1]

    # -- refresh ----------------------------------------------------------------------------------
    def refresh(
        self, torrents: TorrentSource, extras: TorrentExtras, share: ShareLimits = NO_GLOBAL_LIMITS
    ) -> None:
        """Bring every item up to date with what changed since the last refresh (``share``: the
        global share limits in force, which items of torrents that use them report)."""
        if torrents is not self._torrents or extras is not self._extras or share != self.share:
            # New limits are rare (a preference change): every item is built again.
            self._torrents, self._extras, self.share = torrents, extras, share
            self._cache = ItemCache()
            self.version = -1
        changes = torrents.changed_since(self.version) if self.version >= 0 else None
        if changes is None or changes.resync:
            self._rebuild(torrents, extras)
            return
        gen = self.generation + 1
        dirty = False
        for h in changes.removed:
            dirty |= self._drop(h, gen)
        for row in changes.rows:
            dirty |= self._put(row, gen)
        self.version = changes.version
        # Category, tags and the façade's own settings live outside the engine's table: their clocks
        # say whether anything changed at all, and only the torrents stamped since are rebuilt.
        for h in self._stale(torrents, extras).difference(r.info_hash for r in changes.rows):
            current = torrents.get(h)
            if current is not None:
                dirty |= self._put(current, gen)
        if dirty:
            self.generation = gen

    def _stale(self, torrents: TorrentSource, extras: TorrentExtras) -> set[str]:
        stale: set[str] = set()
        if torrents.label_clock != self.label_clock:
            since, labels_of = self.label_clock, torrents.labels_of
            stale.update(h for h in self.items if labels_of(h).version > since)
            self.label_clock = torrents.label_clock
        if extras.clock != self.extras_clock:
            stale.update(extras.changed_since(self.extras_clock))
            self.extras_clock = extras.clock
        return stale

    def _rebuild(self, torrents: TorrentSource, extras: TorrentExtras) -> None:
        rows = torrents.snapshot()
        for d in (self.items, self.trackers, self._changed, self._removed, self._fragments, self._keyed):
            d.clear()
        self._unencoded.clear()
        self._unkeyed.clear()
        self._orders.clear()
        self.version = torrents.table_version
        self.label_clock, self.extras_clock = torrents.label_clock, extras.clock
        gen = self.generation + 1
        for row in rows:
            self._put(row, gen)
        # Every session was sent something this listing no longer accounts for: full updates.
        self.generation = self.floor = gen
        self._cache.prune(self.items.__contains__)

    def _put(self, row: TorrentSummary, gen: int) -> bool:
        assert self._torrents is not None  # set by refresh() before any row is put
        assert self._extras is not None
        h = row.info_hash
        entry = self._cache.entry(row, self._torrents.labels_of(h), self._extras.get(h), self.share)
        if self.items.get(h) is entry.item:
            return False
        self.items[h] = entry.item
        self._unencoded[h] = self._unkeyed[h] = entry
        self.trackers[h] = row.tracker_urls
        self._changed.pop(h, None)
        self._changed[h] = gen
        self._removed.pop(h, None)
        return True

    def _drop(self, h: str, gen: int) -> bool:
        if self.items.pop(h, None) is None:
            return False
        del self.trackers[h], self._changed[h]
        for d in (self._fragments, self._keyed, self._unencoded, self._unkeyed):
            d.pop(h, None)
        self._cache.forget(h)
        self._removed[h] = gen
        if len(self._removed) > self.MAX_REMOVED:
            kept = list(self._removed.items())
            cut = len(kept) // 2
            self.floor = kept[cut - 1][1]
            self._removed = dict(kept[cut:])
        return True


_MISSING = object()
_FRAGMENT: Callable[[Entry], bytes] = operator.attrgetter("fragment")
_KEYED: Callable[[Entry], bytes] = operator.attrgetter("keyed")


def _encode(
    pending: dict[str, Entry], into: dict[str, bytes], encoded: Callable[[Entry], bytes]
) -> dict[str, bytes]:
    """``into`` with the fragments of the ``pending`` entries (which are then no longer pending)."""
    if pending:
        for h, entry in pending.items():
            into[h] = encoded(entry)
        pending.clear()
    return into


def _tail(log: dict[str, int], generation: int) -> list[str]:
    """The keys of ``log`` stamped after ``generation`` (the log is in stamp order), oldest first."""
    out: list[str] = []
    for h, stamp in reversed(log.items()):
        if stamp <= generation:
            break
        out.append(h)
    out.reverse()
    return out


_EMPTY_EXTRAS = TorrentExtras()


def extras_of(request: web.Request) -> TorrentExtras:
    """The façade's per-torrent qBittorrent settings (an empty store when the app keeps none)."""
    return request.config_dict.get(EXTRAS) or _EMPTY_EXTRAS


def global_share(request: web.Request) -> ShareLimits:
    """The global share limits in force (the config's ``torrent.share_limits``)."""
    config = request.config_dict.get(CONFIG)
    return config.config.share_limits if config is not None else NO_GLOBAL_LIMITS


def listing_of(request: web.Request) -> Listing:
    """The application's listing, refreshed."""
    listing = request.config_dict[LISTING]
    listing.refresh(request.config_dict[TORRENTS], extras_of(request), global_share(request))
    return listing
