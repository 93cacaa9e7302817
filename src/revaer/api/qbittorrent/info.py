"""``torrents/info``: the torrent list with qBittorrent's filters, sort and paging."""

from __future__ import annotations

import asyncio
import zlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from aiohttp import web

from revaer.api.keys import SERVICES
from revaer.api.qbittorrent.errors import HEADERS, bad_request
from revaer.api.qbittorrent.serialize import Item, extras_of, listing_of


async def params(request: web.Request) -> Mapping[str, str]:
    """The request's parameters: the query, and for POST the form body over it (read endpoints take both)."""
    if request.method != "POST" or not request.can_read_body:
        return request.query
    out: dict[str, str] = dict(request.query)
    form = await request.post()
    for k, v in form.items():
        if isinstance(v, str):
            out[k] = v
    return out


def to_int(text: str | None, default: int = 0) -> int:
    """``QString::toInt``: a decimal integer, else ``default`` (qBittorrent's 0)."""
    if text is None:
        return default
    try:
        return int(text.strip())
    except ValueError:
        return default


def to_bool(text: str | None) -> bool | None:
    """qBittorrent's ``parseBool``: "true"/"false" in any case, else None."""
    if text is None:
        return None
    t = text.strip().lower()
    return True if t == "true" else False if t == "false" else None


def json_response(data: Any) -> web.Response:
    return web.Response(body=orjson.dumps(data), content_type="application/json", headers=HEADERS)


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


def split_hashes(text: str) -> set[str]:
    return {h.strip().lower() for h in text.split("|") if h.strip()}


class ResponseCache:
    """Whole torrents/info bodies by (table version, label clock, settings clock, parameters).

    Nothing a listing shows changes without moving one of those clocks, so while
    they stand still the same question gets the same bytes without any work; a
    few shapes are kept (clients poll with one or two parameter sets).
    """

    __slots__ = ("_bytes", "_entries")
    SIZE = 8
    MAX_BYTES = 32 * 1024 * 1024  # a full listing of 10,000 torrents is about 11 MB

    def __init__(self) -> None:
        self._entries: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._bytes = 0

    def get(self, key: tuple[Any, ...]) -> bytes | None:
        body = self._entries.get(key)
        if body is not None:
            self._entries.move_to_end(key)
        return body

    def put(self, key: tuple[Any, ...], body: bytes) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old)
        self._entries[key] = body
        self._bytes += len(body)
        while self._entries and (len(self._entries) > self.SIZE or self._bytes > self.MAX_BYTES):
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= len(dropped)


RESPONSES = web.AppKey("qb_info_responses", ResponseCache)
GZIP_MIN = 1024


def _gzip(data: bytes) -> bytes:
    # Level 1: several times faster than the default for about the same ratio on this JSON.
    c = zlib.compressobj(1, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


async def respond(request: web.Request, body: bytes, key: tuple[Any, ...] | None) -> web.Response:
    """The JSON ``body``, gzip-compressed (off the event loop, cached) only when the client asks."""
    headers = HEADERS
    if len(body) >= GZIP_MIN and "gzip" in request.headers.get("Accept-Encoding", ""):
        responses = request.app.get(RESPONSES)
        zkey = (*key, "gzip") if key is not None else None
        compressed = responses.get(zkey) if responses is not None and zkey is not None else None
        if compressed is None:
            compressed = await asyncio.to_thread(_gzip, body)
            if responses is not None and zkey is not None:
                responses.put(zkey, compressed)
        body = compressed
        headers = {**HEADERS, "Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
    return web.Response(body=body, content_type="application/json", headers=headers)


async def torrents_info(request: web.Request) -> web.Response:
    p = await params(request)
    services = request.app[SERVICES]
    torrents = services.torrents
    extras = extras_of(request.app)
    responses = request.app.get(RESPONSES)
    key = (torrents.engine.version, torrents.label_clock, extras.clock, *sorted(p.items()))
    if responses is not None:
        hit = responses.get(key)
        if hit is not None:
            return await respond(request, hit, key)
    listing = listing_of(request.app, torrents)
    cache = listing.cache

    category = p.get("category")
    tag = p.get("tag")
    hashes = split_hashes(p["hashes"]) if "hashes" in p else None
    if hashes is not None and not hashes:
        hashes = None
    match = FILTERS.get(p.get("filter", "all"))
    sort = p.get("sort", "")
    offset = to_int(p.get("offset"))
    limit = to_int(p.get("limit"))
    if (
        category is None
        and tag is None
        and hashes is None
        and match is None
        and not sort
        and not offset
        and limit <= 0
    ):
        # Everything, as it is: one join over the kept fragments.
        body = b"[" + b",".join(listing.fragments.values()) + b"]"
        if responses is not None:
            responses.put(key, body)
        return await respond(request, body, key)

    out: list[Item] = []
    items = listing.items
    for h, item in items.items():
        if hashes is not None and h not in hashes:
            continue
        if category is not None and item["category"] != category:
            continue
        if tag is not None:
            tags = item["tags"]
            if (tag == "" and tags) or (tag != "" and tag not in tags.split(", ")):
                continue
        if match is not None and not match(item):
            continue
        out.append(item)

    reverse = to_bool(p.get("reverse")) or False
    if sort and out:
        if sort not in out[0]:
            raise bad_request("'sort' parameter is invalid")
        out.sort(key=lambda i: sort_key(i[sort]), reverse=reverse)

    size = len(out)
    if offset < 0:
        offset += size
    if offset >= size or offset < 0:
        offset = 0
    if limit > 0 or offset > 0:
        out = out[offset : offset + limit] if limit > 0 else out[offset:]
    body = cache.join(out)
    if responses is not None:
        responses.put(key, body)
    return await respond(request, body, key)


def register(app: web.Application) -> None:
    from revaer.api.qbittorrent import read

    read(app.router, "/torrents/info", torrents_info)
    app[RESPONSES] = ResponseCache()
