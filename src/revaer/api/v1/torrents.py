"""Torrent routes: list, get, add (JSON magnet or multipart .torrent files), actions."""

from __future__ import annotations

import base64
import binascii
import bisect
import re
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import BodyPartReader, web

from revaer.api.errors import Problem, bad_request, problem_for, unprocessable
from revaer.api.keys import SERVICES, Services
from revaer.api.v1.body import check_fields, json_object, json_response
from revaer.engine.errors import EngineError, TorrentNotFoundError
from revaer.engine.protocol import TorrentState, TorrentSummary
from revaer.torrents import AddOptions, Labels, PathNotAllowedError

_HASH = re.compile(r"^[0-9a-fA-F]{40}$")
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
    h = request.match_info["info_hash"]
    if not _HASH.match(h):
        raise Problem(
            400, "invalid_hash", "Invalid info-hash", f"'{h}' is not an info-hash (40 hex characters)"
        )
    return h.lower()


def _encode_cursor(row: TorrentSummary) -> str:
    return base64.urlsafe_b64encode(f"{row.added_time}:{row.info_hash}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        t, h = raw.split(":", 1)
        if not _HASH.match(h):
            raise ValueError(h)
        return int(t), h
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise unprocessable("invalid cursor", field="cursor") from None


async def list_torrents(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    q = request.query
    states: set[str] | None = None
    if q.get("state"):
        states = {x.strip() for x in q["state"].split(",") if x.strip()}
        bad = states - {st.value for st in TorrentState}
        if bad:
            raise unprocessable(f"unknown state(s): {', '.join(sorted(bad))}", field="state")
    try:
        limit = int(q.get("limit", DEFAULT_LIMIT))
    except ValueError:
        raise unprocessable("limit must be an integer", field="limit") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise unprocessable(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    category = q.get("category")
    tag = q.get("tag")
    needle = q.get("q", "").casefold()
    after = _decode_cursor(q["cursor"]) if q.get("cursor") else None

    labels = s.torrents.labels
    empty = Labels()
    order = s.torrents.order
    start = bisect.bisect_right(order, after) if after is not None else 0
    filtered = states is not None or category is not None or tag is not None or bool(needle)
    # Unfiltered: look up only the rows of the page. Filtered: one snapshot, walked in order.
    lookup: Callable[[str], TorrentSummary | None]
    lookup = {r.info_hash: r for r in s.torrents.rows()}.get if filtered else s.engine.get
    page: list[TorrentSummary] = []
    more = False
    for i in range(start, len(order)):
        row = lookup(order[i][1])
        if row is None:
            continue
        if states is not None and row.state.value not in states:
            continue
        if category is not None or tag is not None:
            lab = labels.get(row.info_hash, empty)
            if category is not None and lab.category != category:
                continue
            if tag is not None and tag not in lab.tags:
                continue
        if needle and needle not in row.name.casefold():
            continue
        if len(page) == limit:
            more = True
            break
        page.append(row)
    body = {
        "torrents": [torrent_json(r, labels.get(r.info_hash, empty)) for r in page],
        "next_cursor": _encode_cursor(page[-1]) if more else None,
    }
    return json_response(body)


async def get_torrent(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    h = _hash(request)
    row = s.engine.get(h)
    if row is None:
        raise TorrentNotFoundError(f"unknown torrent: {h}")
    body = torrent_json(row, s.torrents.labels_of(h))
    body["files"] = [
        {"index": f.index, "path": f.path, "size": f.size, "progress": f.progress, "priority": f.priority}
        for f in s.engine.files(h)
    ]
    body["trackers"] = [
        {"url": t.url, "tier": t.tier, "status": t.status.name.lower(), "message": t.message}
        for t in s.engine.trackers(h)
    ]
    return json_response(body)


_ADD_FIELDS: dict[str, type] = {
    "magnet": str,
    "category": str,
    "tags": list,
    "save_path": str,
    "paused": bool,
    "sequential": bool,
}


def _options(fields: dict[str, Any]) -> AddOptions:
    category = fields.get("category") or ""
    if category and ("/" in category or category.strip() != category):
        raise unprocessable("category must not contain '/' or surrounding spaces", field="category")
    return AddOptions(
        category=category,
        tags=tuple(fields.get("tags") or ()),
        save_path=fields.get("save_path") or None,
        paused=bool(fields.get("paused", False)),
        sequential=bool(fields.get("sequential", False)),
    )


def _add_all(
    s: Services, sources: Sequence[tuple[str | None, bytes | None]], options: AddOptions
) -> list[str]:
    """Add every source or none: on the first refusal, the ones added by this request are removed."""
    added: list[str] = []
    try:
        for magnet, data in sources:
            added.append(s.torrents.add(magnet=magnet, torrent=data, options=options))
    except (EngineError, PathNotAllowedError) as e:
        for h in added:
            s.torrents.remove(h)
        p = problem_for(e)
        assert p is not None
        raise p from None
    return added


async def _multipart(request: web.Request, limit: int) -> tuple[list[bytes], dict[str, Any]]:
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
            fields["tags"] = [t for t in text.split(",") if t.strip()]
        elif name in ("paused", "sequential"):
            if text.lower() not in ("true", "false", "1", "0"):
                raise unprocessable(f"field '{name}' must be true or false", field=name)
            fields[name] = text.lower() in ("true", "1")
        elif name in ("category", "save_path"):
            fields[name] = text
        else:
            raise unprocessable(
                f"unknown field '{name}' (known: torrents, category, tags, save_path, paused, sequential)",
                field=name,
            )
    return files, fields


async def add_torrents(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    if request.content_type.startswith("multipart/"):
        files, fields = await _multipart(request, s.max_upload)
        if not files:
            raise unprocessable("no .torrent file in the upload", field="torrents")
        hashes = _add_all(s, [(None, f) for f in files], _options(fields))
    else:
        body = await json_object(request)
        check_fields(body, _ADD_FIELDS, required=("magnet",))
        hashes = _add_all(s, [(body["magnet"], None)], _options(body))
    return json_response({"info_hashes": hashes}, 201)


_ACTIONS = {"pause", "resume", "recheck", "reannounce", "remove"}


async def torrent_action(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    action = request.match_info["action"]
    if action not in _ACTIONS:
        raise Problem(
            404, "not_found", "Not found", f"unknown action '{action}' (known: {', '.join(sorted(_ACTIONS))})"
        )
    h = _hash(request)
    if s.engine.get(h) is None:
        raise TorrentNotFoundError(f"unknown torrent: {h}")
    if action == "remove":
        body = await json_object(request) if request.can_read_body else {}
        check_fields(body, {"with_data": bool})
        s.torrents.remove(h, bool(body.get("with_data", False)))
        return json_response(
            {"info_hash": h, "removed": True, "with_data": bool(body.get("with_data", False))}
        )
    getattr(s.engine, action)(h)
    row = s.engine.get(h)
    assert row is not None
    return json_response(torrent_json(row, s.torrents.labels_of(h)))
