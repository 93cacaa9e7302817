"""``torrents/info``: the torrent list with qBittorrent's filters, sort and paging.

A request is parsed into an ``InfoQuery``, then the listing's items are filtered, sorted and paged
and the kept fragments of what is left are joined. A question with no filter, sort or page is one
join over every fragment; whole bodies are reused while no clock moved (``ResponseCache``).
"""

from __future__ import annotations

import asyncio
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from revaer.api.keys import RESPONSES, TORRENTS
from revaer.api.params import parse_bool, parse_int
from revaer.api.qbittorrent.errors import HEADERS, bad_request
from revaer.api.qbittorrent.items import ITEM_KEYS, Item
from revaer.api.qbittorrent.listing import Listing, extras_of, global_share, listing_of
from revaer.api.qbittorrent.reading import joined, params, send_json

T = TypeVar("T")

# qBittorrent's state groups (TorrentImpl::isDownloading, isUploading, isCompleted, ...).
_DOWNLOADING = frozenset(
    {
        "downloading",
        "metaDL",
        "forcedMetaDL",
        "stalledDL",
        "checkingDL",
        "pausedDL",
        "queuedDL",
        "forcedDL",
    }
)
_UPLOADING = frozenset({"uploading", "stalledUP", "checkingUP", "queuedUP", "forcedUP"})
_COMPLETED = _UPLOADING | {"pausedUP"}
_PAUSED = frozenset({"pausedUP", "pausedDL"})
_CHECKING = frozenset({"checkingUP", "checkingDL", "checkingResumeData"})
_ERRORED = frozenset({"error", "missingFiles"})
_ACTIVE = frozenset({"metaDL", "forcedMetaDL", "downloading", "forcedDL", "uploading", "forcedUP", "moving"})


def is_active(item: Item) -> bool:
    state = item["state"]
    if state == "stalledDL":
        return bool(item["upspeed"] > 0)
    return state in _ACTIVE


FILTERS: dict[str, Callable[[Item], bool]] = {
    "downloading": lambda i: i["state"] in _DOWNLOADING,
    "seeding": lambda i: i["state"] in _UPLOADING,
    "completed": lambda i: i["state"] in _COMPLETED,
    "paused": lambda i: i["state"] in _PAUSED,
    "stopped": lambda i: i["state"] in _PAUSED,
    "resumed": lambda i: i["state"] not in _PAUSED,
    "running": lambda i: i["state"] not in _PAUSED,
    "active": is_active,
    "inactive": lambda i: not is_active(i),
    "stalled": lambda i: i["state"] in ("stalledUP", "stalledDL"),
    "stalled_uploading": lambda i: i["state"] == "stalledUP",
    "stalled_downloading": lambda i: i["state"] == "stalledDL",
    "checking": lambda i: i["state"] in _CHECKING,
    "moving": lambda i: i["state"] == "moving",
    "errored": lambda i: i["state"] in _ERRORED,
}


def sort_key(value: Any) -> Any:
    """Strings case-insensitively, numbers and booleans as they are.

    qbittorrent-nox 4.5.2 on Debian orders strings without treating digit runs
    as numbers ("627a..." before "8b6..."), as observed by the differential test.
    """
    return value.casefold() if isinstance(value, str) else value


_SORTABLE = frozenset(ITEM_KEYS)


@dataclass(frozen=True, slots=True)
class InfoQuery:
    """What a ``torrents/info`` request asks for (absent filters are None)."""

    category: str | None = None  # "" = uncategorized
    tag: str | None = None  # "" = untagged
    hashes: frozenset[str] | None = None
    state: Callable[[Item], bool] | None = None  # the ``filter`` (an unknown one means all)
    sort: str = ""
    reverse: bool = False
    offset: int = 0  # negative counts from the end
    limit: int = 0  # 0 or less: no limit

    @classmethod
    def parse(cls, p: Mapping[str, str]) -> InfoQuery:
        hashes = (
            frozenset(h.strip().lower() for h in p["hashes"].split("|") if h.strip())
            if "hashes" in p
            else None
        )
        return cls(
            category=p.get("category"),
            tag=p.get("tag"),
            hashes=hashes or None,
            state=FILTERS.get(p.get("filter", "all")),
            sort=p.get("sort", ""),
            reverse=parse_bool(p.get("reverse")) or False,
            offset=parse_int(p.get("offset"), strict=False),
            limit=parse_int(p.get("limit"), strict=False),
        )

    @property
    def unfiltered(self) -> bool:
        """Every torrent (sorted and paged, maybe)."""
        return self.category is None and self.tag is None and self.hashes is None and self.state is None

    @property
    def everything(self) -> bool:
        """Every torrent, in listing order: nothing to filter, sort or page."""
        return self.unfiltered and not self.sort and not self.offset and self.limit <= 0


def select(items: Mapping[str, Item], q: InfoQuery) -> list[Item]:
    """The items that pass every filter of ``q``, in listing order."""
    hashes = q.hashes
    out: Iterable[Item] = items.values() if hashes is None else [i for h, i in items.items() if h in hashes]
    if q.category is not None:
        category = q.category
        out = [i for i in out if i["category"] == category]
    if q.tag is not None:
        tag = q.tag
        out = [i for i in out if tag in i["tags"].split(", ")] if tag else [i for i in out if not i["tags"]]
    if q.state is not None:
        out = filter(q.state, out)
    return out if isinstance(out, list) else list(out)


def order(out: list[Item], q: InfoQuery) -> None:
    """Sort ``out`` in place by ``q.sort`` (400 when it is not an item key and there are items)."""
    if not q.sort or not out:
        return
    if q.sort not in _SORTABLE:
        raise bad_request("'sort' parameter is invalid")
    sort = q.sort
    out.sort(key=lambda i: sort_key(i[sort]), reverse=q.reverse)


def page(out: list[T], q: InfoQuery) -> list[T]:
    """The ``offset``/``limit`` window of ``out``, as qBittorrent cuts it."""
    offset, limit = q.offset, q.limit
    size = len(out)
    if offset < 0:
        offset += size
    if offset >= size or offset < 0:
        offset = 0
    if limit <= 0 and offset <= 0:
        return out
    return out[offset : offset + limit] if limit > 0 else out[offset:]


def render(listing: Listing, q: InfoQuery) -> list[bytes]:
    """The JSON array ``q`` asks for, joined from the listing's kept fragments (in pieces)."""
    fragments = listing.fragments()
    if q.everything:
        return joined(b"[", list(fragments.values()), b"]")
    if q.sort and q.unfiltered and listing.items:
        # Every torrent in a kept order (what a client paging a sorted list asks): only the page is read.
        if q.sort not in _SORTABLE:
            raise bad_request("'sort' parameter is invalid")
        ranked = listing.ordered(q.sort, q.reverse, sort_key)
        return joined(b"[", [fragments[h] for h in page(ranked, q)], b"]")
    out = select(listing.items, q)
    order(out, q)
    return joined(b"[", [fragments[i["hash"]] for i in page(out, q)], b"]")


Body = list[bytes]  # a response body in pieces (see reading.joined)


class ResponseCache:
    """Whole torrents/info bodies by (table version, label clock, settings clock, parameters).

    Nothing a listing shows changes without moving one of those clocks, so while
    they stand still the same question gets the same bytes without any work; a
    few shapes are kept (clients poll with one or two parameter sets).
    """

    __slots__ = ("_bytes", "_entries")
    SIZE = 8
    MAX_BYTES = 32 * 1024 * 1024  # a full listing of 10,000 torrents is about 12 MB

    def __init__(self) -> None:
        self._entries: OrderedDict[tuple[Any, ...], tuple[Body, int]] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple[Any, ...]) -> Body | None:
        hit = self._entries.get(key)
        if hit is None:
            return None
        self._entries.move_to_end(key)
        return hit[0]

    def put(self, key: tuple[Any, ...], body: Body) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old[1]
        size = sum(map(len, body))
        self._entries[key] = (body, size)
        self._bytes += size
        while self._entries and (len(self._entries) > self.SIZE or self._bytes > self.MAX_BYTES):
            _, (_, dropped) = self._entries.popitem(last=False)
            self._bytes -= dropped


GZIP_MIN = 1024


def _gzip(pieces: Body) -> Body:
    # Level 1: several times faster than the default for about the same ratio on this JSON.
    c = zlib.compressobj(1, zlib.DEFLATED, 31)
    return [b"".join([*map(c.compress, pieces), c.flush()])]


async def respond(request: web.Request, body: Body, key: tuple[Any, ...] | None) -> web.StreamResponse:
    """The JSON ``body``, gzip-compressed (off the event loop, cached) only when the client asks."""
    headers = HEADERS
    if sum(map(len, body)) >= GZIP_MIN and "gzip" in request.headers.get("Accept-Encoding", ""):
        responses = request.app.get(RESPONSES)
        zkey = (*key, "gzip") if key is not None else None
        compressed = responses.get(zkey) if responses is not None and zkey is not None else None
        if compressed is None:
            compressed = await asyncio.to_thread(_gzip, body)
            if responses is not None and zkey is not None:
                responses.put(zkey, compressed)
        body = compressed
        headers = {**HEADERS, "Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
    return await send_json(request, body, headers)


async def torrents_info(request: web.Request) -> web.StreamResponse:
    p = await params(request)
    torrents = request.config_dict[TORRENTS]
    responses = request.app.get(RESPONSES)
    # Nothing a listing shows changes without one of these clocks moving.
    key = (
        torrents.table_version,
        torrents.label_clock,
        extras_of(request).clock,
        global_share(request),
        *sorted(p.items()),
    )
    body = responses.get(key) if responses is not None else None
    if body is None:
        body = render(listing_of(request), InfoQuery.parse(p))
        if responses is not None:
            responses.put(key, body)
    return await respond(request, body, key)
