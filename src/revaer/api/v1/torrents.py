"""Torrent routes: list, get, add (JSON magnet or multipart .torrent files), actions."""

from __future__ import annotations

import asyncio
import base64
import binascii
import bisect
import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from revaer.api.errors import Problem, bad_request, problem_for, unprocessable
from revaer.api.keys import API_OPTIONS, BUS, TORRENTS
from revaer.api.params import ParamError, info_hash, is_info_hash, parse_bool, parse_int
from revaer.api.v1.body import check_fields, json_object, json_response
from revaer.engine.errors import EngineError, TorrentNotFoundError
from revaer.engine.protocol import TorrentState, TorrentSummary
from revaer.events import Subscription
from revaer.labels import (
    CATEGORY_RULE,
    MAGNET_RULE,
    PATH_RULE,
    TAG_RULE,
    Labels,
    magnet_link,
    split_tags,
    valid_category,
    valid_path,
    valid_tag,
)
from revaer.paths import PathNotAllowedError
from revaer.registry import TorrentNotStored
from revaer.torrents import AddOptions, TorrentService

routes = web.RouteTableDef()
"""This module's part of ``/v1`` (added by ``revaer.api.v1.build_v1``)."""

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100


def torrent_json(row: TorrentSummary, labels: Labels) -> dict[str, Any]:
    remaining = row.total_wanted - row.total_wanted_done
    rate = row.download_rate
    return {
        "info_hash": row.info_hash,
        "info_hash_v2": row.info_hash_v2 or None,
        "name": row.name,
        "state": row.state.value,
        "progress": row.progress,
        "size": row.total_wanted,
        "total_size": row.total_size,
        "done": row.total_wanted_done,
        "download_rate": rate,
        "upload_rate": row.upload_rate,
        "downloaded": row.downloaded_total,
        "uploaded": row.uploaded_total,
        "ratio": (row.uploaded_total / row.downloaded_total) if row.downloaded_total else 0.0,
        "eta": (remaining // rate) if rate > 0 and remaining > 0 else None,
        "peers": row.num_peers,
        "seeds": row.num_seeds,
        "category": labels.category,
        "tags": list(labels.tags),
        "save_path": row.save_path,
        "added_at": row.added_time or None,
        "completed_at": row.completed_time or None,
        "paused": row.paused,
        "sequential": row.sequential,
        "has_metadata": row.has_metadata,
        "queue_position": row.queue_position,
        "upload_limit": row.upload_limit,
        "download_limit": row.download_limit,
        "error": row.error or None,
    }


def _hash(request: web.Request) -> str:
    return info_hash(request.match_info["info_hash"])


# ---- listing --------------------------------------------------------------------------------------


def _encode_cursor(row: TorrentSummary) -> str:
    return base64.urlsafe_b64encode(f"{row.added_time}:{row.info_hash}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        t, h = raw.split(":", 1)
        if not is_info_hash(h):
            raise ValueError(h)
        return int(t), h
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise unprocessable("invalid cursor", field="cursor") from None


_STATES = frozenset(st.value for st in TorrentState)
_NO_LABELS = Labels()


@dataclass(frozen=True, slots=True)
class ListQuery:
    """``GET /v1/torrents``'s query: the filters, the page size and where the page starts."""

    states: frozenset[str] | None = None
    category: str | None = None
    tag: str | None = None
    needle: str = ""  # casefolded name substring
    limit: int = DEFAULT_LIMIT
    after: tuple[int, str] | None = None  # the listing key of the previous page's last torrent

    @classmethod
    def parse(cls, q: Mapping[str, str]) -> ListQuery:
        """The query of a request; 422 naming the field for a value that does not parse."""
        states: frozenset[str] | None = None
        if q.get("state"):
            states = frozenset(x.strip() for x in q["state"].split(",") if x.strip())
            bad = states - _STATES
            if bad:
                raise unprocessable(f"unknown state(s): {', '.join(sorted(bad))}", field="state")
        limit = parse_int(q["limit"], default=None, field="limit") if "limit" in q else DEFAULT_LIMIT
        if not 1 <= limit <= MAX_LIMIT:
            raise unprocessable(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
        return cls(
            states=states,
            category=q.get("category"),
            tag=q.get("tag"),
            needle=q.get("q", "").casefold(),
            limit=limit,
            after=_decode_cursor(q["cursor"]) if q.get("cursor") else None,
        )

    @property
    def filtered(self) -> bool:
        return (
            self.states is not None or self.category is not None or self.tag is not None or bool(self.needle)
        )

    def matches(self, row: TorrentSummary, labels: Mapping[str, Labels]) -> bool:
        """Whether ``row`` passes every filter."""
        if self.states is not None and row.state.value not in self.states:
            return False
        if self.category is not None or self.tag is not None:
            lab = labels.get(row.info_hash, _NO_LABELS)
            if self.category is not None and lab.category != self.category:
                return False
            if self.tag is not None and self.tag not in lab.tags:
                return False
        return not self.needle or self.needle in row.name.casefold()


def list_page(torrents: TorrentService, query: ListQuery) -> tuple[list[TorrentSummary], bool]:
    """The page of rows ``query`` selects, in listing order, and whether more follow.

    Walks the sorted listing index from the cursor. Unfiltered, only the page's rows are looked up;
    filtered, one snapshot is taken and walked in order.
    """
    order = torrents.order
    start = bisect.bisect_right(order, query.after) if query.after is not None else 0
    lookup: Callable[[str], TorrentSummary | None] = torrents.get
    labels = torrents.labels
    filtered = query.filtered
    if filtered:
        lookup = {r.info_hash: r for r in torrents.snapshot()}.get
    page: list[TorrentSummary] = []
    for i in range(start, len(order)):
        row = lookup(order[i][1])
        if row is None or (filtered and not query.matches(row, labels)):
            continue
        if len(page) == query.limit:
            return page, True
        page.append(row)
    return page, False


@routes.get("/torrents")
async def list_torrents(request: web.Request) -> web.Response:
    torrents = request.config_dict[TORRENTS]
    page, more = list_page(torrents, ListQuery.parse(request.query))
    labels = torrents.labels
    body = {
        "torrents": [torrent_json(r, labels.get(r.info_hash, _NO_LABELS)) for r in page],
        "next_cursor": _encode_cursor(page[-1]) if more else None,
    }
    return json_response(body)


# ---- one torrent ----------------------------------------------------------------------------------


def _row(torrents: TorrentService, h: str) -> TorrentSummary:
    row = torrents.get(h)
    if row is None:
        raise TorrentNotFoundError(f"unknown torrent: {h}")
    return row


@routes.get("/torrents/{info_hash}")
async def get_torrent(request: web.Request) -> web.Response:
    torrents = request.config_dict[TORRENTS]
    h = _hash(request)
    body = torrent_json(_row(torrents, h), torrents.labels_of(h))
    body["files"] = [
        {"index": f.index, "path": f.path, "size": f.size, "progress": f.progress, "priority": f.priority}
        for f in await torrents.files(h)
    ]
    body["trackers"] = [
        {"url": t.url, "tier": t.tier, "status": t.status.name.lower(), "message": t.message}
        for t in await torrents.trackers(h)
    ]
    return json_response(body)


# ---- adding ---------------------------------------------------------------------------------------


_ADD_FIELDS: dict[str, type] = {
    "magnet": str,
    "category": str,
    "tags": list,
    "save_path": str,
    "paused": bool,
    "sequential": bool,
}


def _options(fields: dict[str, Any]) -> AddOptions:
    """The add's options, every user string checked first (a value the database refuses never gets in)."""
    category = fields.get("category") or ""
    if category and not valid_category(category):
        raise unprocessable(f"field 'category' must be a category name: {CATEGORY_RULE}", field="category")
    tags = fields.get("tags") or ()
    # Empty tags are dropped (as ever); any other must be a valid tag once stripped.
    if not all(isinstance(t, str) and (not t.strip() or valid_tag(t.strip())) for t in tags):
        raise unprocessable(f"field 'tags' must be a list of tags: {TAG_RULE}", field="tags")
    save_path = fields.get("save_path") or None
    if save_path is not None and not valid_path(save_path):
        raise unprocessable(f"field 'save_path' must be a path: {PATH_RULE}", field="save_path")
    return AddOptions(
        category=category,
        tags=tuple(tags),
        save_path=save_path,
        paused=bool(fields.get("paused", False)),
        sequential=bool(fields.get("sequential", False)),
    )


async def _add_all(
    torrents: TorrentService, sources: Sequence[tuple[str | None, bytes | None]], options: AddOptions
) -> list[str]:
    """Add every source or none, committed: on the first refusal, the ones added by this request are
    removed. Returns once the torrents' rows (with what they can be re-added from) are committed."""
    added: list[str] = []
    try:
        for magnet, data in sources:
            added.append(torrents.add(magnet=magnet, torrent=data, options=options))
    except (EngineError, PathNotAllowedError) as e:
        for h in added:
            torrents.remove(h)
        p = problem_for(e)
        assert p is not None
        raise p from None
    try:
        await torrents.commit(added)
    except TorrentNotStored as e:
        for h in added:
            if h not in e.refused:
                torrents.remove(h)
        await torrents.commit()
        raise Problem(500, "not_stored", "Not stored", f"the database refused the torrent: {e}") from None
    return added


async def _multipart(request: web.Request, limit: int) -> tuple[list[bytes], dict[str, Any]]:
    try:
        return await _read_parts(request, limit)
    except (ValueError, HttpProcessingError) as e:
        if isinstance(e, ParamError):
            raise
        # No boundary, a malformed part header, a body cut short: the client's upload is broken.
        raise bad_request(f"malformed multipart body: {e}") from None


async def _read_parts(request: web.Request, limit: int) -> tuple[list[bytes], dict[str, Any]]:
    files: list[bytes] = []
    fields: dict[str, Any] = {}
    reader = await request.multipart()
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader):
            raise bad_request("nested multipart bodies are not supported")
        if part.filename is not None or part.name in ("torrent", "torrents"):
            data = bytearray()
            while chunk := await part.read_chunk(64 * 1024):
                data += chunk
                if len(data) > limit:
                    raise Problem(
                        413,
                        "payload_too_large",
                        "Payload too large",
                        f"a .torrent file may be at most {limit} bytes",
                    )
            files.append(bytes(data))
            continue
        name = part.name or ""
        text = (await part.read(decode=True)).decode("utf-8", "replace")
        if name == "tags":
            fields["tags"] = split_tags(text)
        elif name in ("paused", "sequential"):
            fields[name] = parse_bool(text, strict=True, field=name)
        elif name in ("category", "save_path"):
            fields[name] = text
        else:
            raise unprocessable(
                f"unknown field '{name}' (known: torrents, category, tags, save_path, paused, sequential)",
                field=name,
            )
    return files, fields


@routes.post("/torrents/add")
async def add_torrents(request: web.Request) -> web.Response:
    torrents = request.config_dict[TORRENTS]
    if request.content_type.startswith("multipart/"):
        files, fields = await _multipart(request, request.config_dict[API_OPTIONS].max_upload)
        if not files:
            raise unprocessable("no .torrent file in the upload", field="torrents")
        hashes = await _add_all(torrents, [(None, f) for f in files], _options(fields))
    else:
        body = await json_object(request)
        check_fields(body, _ADD_FIELDS, required=("magnet",))
        if not magnet_link(body["magnet"]):
            # What the engine would refuse (the OpenAPI document's pattern), refused before it.
            raise unprocessable(
                "invalid magnet link: field 'magnet' needs an info-hash (xt=urn:btih: or xt=urn:btmh:) and"
                f" only the parameters the OpenAPI document's pattern lists, {MAGNET_RULE}",
                "invalid_torrent",
                field="magnet",
            )
        hashes = await _add_all(torrents, [(body["magnet"], None)], _options(body))
    return json_response({"info_hashes": hashes}, 201)


# ---- actions --------------------------------------------------------------------------------------

_COMMANDS: dict[str, Callable[[TorrentService, str], None]] = {
    "pause": TorrentService.pause,
    "resume": TorrentService.resume,
    "recheck": TorrentService.recheck,
    "reannounce": TorrentService.reannounce,
}
_ACTIONS = frozenset({*_COMMANDS, "remove"})


@routes.post("/torrents/{info_hash}/{action}")
async def torrent_action(request: web.Request) -> web.Response:
    torrents = request.config_dict[TORRENTS]
    action = request.match_info["action"]
    if action not in _ACTIONS:
        raise Problem(
            404, "not_found", "Not found", f"unknown action '{action}' (known: {', '.join(sorted(_ACTIONS))})"
        )
    h = _hash(request)
    _row(torrents, h)
    if action == "remove":
        body = await json_object(request) if request.can_read_body else {}
        check_fields(body, {"with_data": bool})
        with_data = bool(body.get("with_data", False))
        torrents.remove(h, with_data)
        await torrents.commit()
        return json_response({"info_hash": h, "removed": True, "with_data": with_data})
    with request.config_dict[BUS].subscribe(queue_size=256) as updates:
        _COMMANDS[action](torrents, h)
        row = await _produced(torrents, updates, h, _PRODUCES.get(action))
    return json_response(torrent_json(row, torrents.labels_of(h)))


# What an action's answer must already show: the engine applies it on its own thread and the row
# follows within milliseconds, so the answer waits for that rather than showing the state before.
_PRODUCES: dict[str, Callable[[TorrentSummary], bool]] = {
    "pause": lambda row: row.paused and row.state is TorrentState.PAUSED,
    "resume": lambda row: not row.paused and row.state is not TorrentState.PAUSED,
}
_SETTLE_WITHIN = 2.0


async def _produced(
    torrents: TorrentService, updates: Subscription, h: str, done: Callable[[TorrentSummary], bool] | None
) -> TorrentSummary:
    """The torrent's row once it shows what the action produced (bounded: after ``_SETTLE_WITHIN``
    seconds, the row as it is)."""
    row = _row(torrents, h)
    if done is None:
        return row
    with contextlib.suppress(TimeoutError, EOFError):
        async with asyncio.timeout(_SETTLE_WITHIN):
            while not done(row):
                await updates.get()
                row = _row(torrents, h)
    return row
