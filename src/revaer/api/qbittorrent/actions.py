"""``torrents/*`` actions: delete, pause/resume (and the 5.x stop/start), recheck, limits, queue, files.

Each answers as qBittorrent 4.6.7 does: 400 ``Bad Request`` when a required
parameter is missing, 200 with an empty body when done, and unknown or
malformed hashes are skipped silently (``all`` alone means every torrent).
Where qBittorrent parses a number leniently (``"abc"`` becomes 0), Revaer
answers 400 and changes nothing.

Some per-torrent settings have no engine command: force start, share limits,
super seeding (the engine reports it but cannot set it), first/last piece
priority, automatic torrent management and a renamed display name. They are
kept in ``TorrentExtras`` (in memory, per process) so they are accepted and
returned by the read endpoints; they do not change what the engine does.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from revaer.api.keys import SERVICES, Services
from revaer.api.qbittorrent.errors import HEADERS, NOT_FOUND, QbError, bad_request, text_response
from revaer.api.qbittorrent.extras import (
    EXTRAS,
    MAX_RATIO,
    MAX_SEEDING_MINUTES,
    NO_LIMIT,
    USE_GLOBAL,
    TorrentExtras,
)
from revaer.api.qbittorrent.preferences_write import PREFERENCES
from revaer.engine.errors import EngineError
from revaer.engine.protocol import QueueMove, TorrentSummary
from revaer.torrents import PathNotAllowedError, confine

log = logging.getLogger(__name__)

_HASH = re.compile(r"^[0-9a-fA-F]{40}$")


# qBittorrent's file priorities (its values are libtorrent's, but it sets every file to 1 as
# "normal" where libtorrent's default is 4). Revaer's engine keeps libtorrent's default, so 1 is
# sent as 4; the read side shows 1..4 as 1.
QB_FILE_PRIORITIES = {0: 0, 1: 4, 6: 6, 7: 7}


# ---- parameters ---------------------------------------------------------------------------------


async def params(request: web.Request) -> dict[str, str]:
    """Query and form parameters together (qBittorrent reads both); the body wins on a clash."""
    out = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        form = await request.post()
        for k, v in form.items():
            if isinstance(v, str):
                out[k] = v
    return out


def require(p: dict[str, str], *names: str) -> None:
    if any(n not in p for n in names):
        raise bad_request()


def parse_bool(text: str | None) -> bool | None:
    """qBittorrent's ``parseBool``: ``true``/``false`` in any case, else None."""
    if text is None:
        return None
    t = text.strip().lower()
    return True if t == "true" else False if t == "false" else None


def parse_int(text: str, *, default: int = 0) -> int:
    """An integer; empty is ``default``; anything else is 400."""
    t = text.strip()
    if not t:
        return default
    try:
        return int(t)
    except ValueError:
        raise bad_request() from None


def parse_float(text: str, *, default: float = 0.0) -> float:
    t = text.strip()
    if not t:
        return default
    try:
        v = float(t)
    except ValueError:
        raise bad_request() from None
    if not math.isfinite(v):
        raise bad_request()
    return v


def targets(s: Services, hashes: str, *, allow_all: bool = True) -> list[str]:
    """The existing torrents that ``hashes`` (``|``-separated, any case) names; ``all`` alone: every one."""
    if allow_all and hashes.strip() == "all":
        return [r.info_hash for r in s.engine.snapshot()]
    out: list[str] = []
    for part in hashes.split("|"):
        h = part.strip().lower()
        if _HASH.match(h) and h not in out and s.engine.get(h) is not None:
            out.append(h)
    return out


def one(s: Services, p: dict[str, str]) -> TorrentSummary:
    """The torrent named by ``hash`` (404 when unknown or malformed)."""
    h = p["hash"].strip().lower()
    row = s.engine.get(h) if _HASH.match(h) else None
    if row is None:
        raise NOT_FOUND
    return row


def json_response(value: Any) -> web.Response:
    return web.Response(
        body=orjson.dumps(value), content_type="application/json", charset="utf-8", headers=HEADERS
    )


def _each(s: Services, hashes: list[str], fn: Callable[[str], None]) -> None:
    for h in hashes:
        try:
            fn(h)
        except EngineError as e:  # removed meanwhile: qBittorrent skips torrents it cannot find
            log.info("torrent action skipped", extra={"info_hash": h, "error": str(e)})


OK = ""


# ---- handlers -----------------------------------------------------------------------------------


async def delete(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    p = await params(request)
    require(p, "hashes", "deleteFiles")
    with_data = parse_bool(p["deleteFiles"]) or False
    extras = request.app[EXTRAS]

    def remove(h: str) -> None:
        s.torrents.remove(h, with_data)
        extras.drop(h)

    _each(s, targets(s, p["hashes"]), remove)
    return text_response(OK)


async def pause(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    p = await params(request)
    require(p, "hashes")
    extras = request.app[EXTRAS]

    def stop(h: str) -> None:
        s.engine.pause(h)
        if extras.get(h).force_start:
            extras.edit(h).force_start = False

    _each(s, targets(s, p["hashes"]), stop)
    return text_response(OK)


def _per_torrent(command: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An action that runs one engine command for each of ``hashes`` (resume, recheck, reannounce)."""

    async def handler(request: web.Request) -> web.Response:
        s = request.app[SERVICES]
        p = await params(request)
        require(p, "hashes")
        _each(s, targets(s, p["hashes"]), getattr(s.engine, command))
        return text_response(OK)

    return handler


resume = _per_torrent("resume")
recheck = _per_torrent("recheck")
reannounce = _per_torrent("reannounce")


async def set_force_start(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    p = await params(request)
    require(p, "hashes", "value")
    value = parse_bool(p["value"]) or False
    extras = request.app[EXTRAS]

    def force(h: str) -> None:
        # qBittorrent starts the torrent either way (forced, or under the queue).
        s.engine.resume(h)
        extras.edit(h).force_start = value

    _each(s, targets(s, p["hashes"]), force)
    return text_response(OK)


async def set_super_seeding(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    p = await params(request)
    require(p, "hashes", "value")
    value = parse_bool(p["value"]) or False
    extras = request.app[EXTRAS]
    for h in targets(s, p["hashes"]):
        extras.edit(h).super_seeding = value
    return text_response(OK)


async def toggle_sequential(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    p = await params(request)
    require(p, "hashes")

    def toggle(h: str) -> None:
        row = s.engine.get(h)
        if row is not None:
            s.engine.set_sequential(h, not row.sequential)

    _each(s, targets(s, p["hashes"]), toggle)
    return text_response(OK)


async def toggle_first_last(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    p = await params(request)
    require(p, "hashes")
    extras = request.app[EXTRAS]
    for h in targets(s, p["hashes"]):
        rec = extras.edit(h)
        rec.first_last_piece_prio = not rec.first_last_piece_prio
    return text_response(OK)


def clamp_ratio(value: float) -> float:
    """qBittorrent's rule: below −2 means no limit; above 9999 is 9999."""
    if value < USE_GLOBAL:
        return NO_LIMIT
    return min(value, MAX_RATIO)


def clamp_minutes(value: int) -> int:
    if value < USE_GLOBAL:
        return NO_LIMIT
    return min(value, MAX_SEEDING_MINUTES)


async def set_share_limits(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    p = await params(request)
    # 4.6.7 requires inactiveSeedingTimeLimit too (4.5 did not have it).
    require(p, "hashes", "ratioLimit", "seedingTimeLimit", "inactiveSeedingTimeLimit")
    ratio = clamp_ratio(parse_float(p["ratioLimit"]))
    seeding = clamp_minutes(parse_int(p["seedingTimeLimit"]))
    inactive = clamp_minutes(parse_int(p["inactiveSeedingTimeLimit"]))
    extras = request.app[EXTRAS]
    for h in targets(s, p["hashes"]):
        rec = extras.edit(h)
        rec.ratio_limit, rec.seeding_time_limit, rec.inactive_seeding_time_limit = ratio, seeding, inactive
    return text_response(OK)


def _limit(p: dict[str, str]) -> int:
    """A per-torrent rate limit in bytes/s; 0 or negative: unlimited (the engine's −1)."""
    value = parse_int(p["limit"])
    return value if value > 0 else -1


async def set_upload_limit(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    p = await params(request)
    require(p, "hashes", "limit")
    limit = _limit(p)

    def apply(h: str) -> None:
        row = s.engine.get(h)
        if row is not None:
            s.engine.set_limits(h, limit, row.download_limit)

    _each(s, targets(s, p["hashes"]), apply)
    return text_response(OK)


async def set_download_limit(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    p = await params(request)
    require(p, "hashes", "limit")
    limit = _limit(p)

    def apply(h: str) -> None:
        row = s.engine.get(h)
        if row is not None:
            s.engine.set_limits(h, row.upload_limit, limit)

    _each(s, targets(s, p["hashes"]), apply)
    return text_response(OK)


def _limits(s: Services, hashes: str, pick: Callable[[TorrentSummary], int]) -> dict[str, int]:
    """``{hash as given: limit}``: 0 is unlimited (as qBittorrent shows it), −1 for an unknown hash."""
    out: dict[str, int] = {}
    for part in hashes.split("|"):
        h = part.strip().lower()
        row = s.engine.get(h) if _HASH.match(h) else None
        out[part] = -1 if row is None else max(pick(row), 0)
    return out


async def upload_limit(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    p = await params(request)
    require(p, "hashes")
    return json_response(_limits(s, p["hashes"], lambda r: r.upload_limit))


async def download_limit(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    p = await params(request)
    require(p, "hashes")
    return json_response(_limits(s, p["hashes"], lambda r: r.download_limit))


def _queue(move: QueueMove) -> Callable[[web.Request], Any]:
    # Several torrents keep their relative order: to the top or bottom, the one nearest the end
    # moves last; one step up or down, the one nearest the direction moves first.
    descending = move in (QueueMove.TOP, QueueMove.DOWN)

    async def handler(request: web.Request) -> web.Response:
        s = request.app[SERVICES]
        p = await params(request)
        require(p, "hashes")
        if not request.app[PREFERENCES].queueing_enabled:
            raise QbError(409, "Torrent queueing must be enabled")
        rows = [r for h in targets(s, p["hashes"], allow_all=False) if (r := s.engine.get(h)) is not None]
        rows.sort(key=lambda r: r.queue_position, reverse=descending)
        _each(s, [r.info_hash for r in rows], lambda h: s.engine.queue(h, move))
        return text_response(OK)

    return handler


async def set_location(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    p = await params(request)
    require(p, "hashes", "location")
    location = p["location"].strip()
    if not location:
        raise bad_request("Save path cannot be empty")
    try:
        path = confine(location, s.torrents.roots)
        os.makedirs(path, exist_ok=True)
    except (PathNotAllowedError, OSError):
        raise QbError(409, "Cannot make save path") from None
    extras = request.app[EXTRAS]

    def move(h: str) -> None:
        s.engine.move_storage(h, path)
        if extras.get(h).auto_tmm:
            extras.edit(h).auto_tmm = False

    _each(s, targets(s, p["hashes"]), move)
    return text_response(OK)


async def rename(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    p = await params(request)
    require(p, "hash", "name")
    name = re.sub(r"\r?\n|\r", " ", p["name"].strip())
    if not name:
        raise QbError(409, "Incorrect torrent name")
    row = one(s, p)
    request.app[EXTRAS].edit(row.info_hash).name = name
    return text_response(OK)


async def file_prio(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    p = await params(request)
    require(p, "hash", "id", "priority")
    try:
        priority = int(p["priority"].strip())
    except ValueError:
        raise bad_request("Priority must be an integer") from None
    if priority not in QB_FILE_PRIORITIES:
        raise bad_request("Priority is not valid")
    row = one(s, p)
    if not row.has_metadata:
        raise QbError(409, "Torrent's metadata has not yet downloaded")
    count = len(s.engine.files(row.info_hash))
    wanted: dict[int, int] = {}
    for part in p["id"].split("|"):
        try:
            index = int(part.strip())
        except ValueError:
            raise bad_request("File IDs must be integers") from None
        if not 0 <= index < count:
            raise QbError(409, "File ID is not valid")
        wanted[index] = QB_FILE_PRIORITIES[priority]
    s.engine.set_file_priorities(row.info_hash, wanted)
    return text_response(OK)


def register(app: web.Application) -> None:
    """Routes of this module, and the per-torrent record they share with the read endpoints."""
    from revaer.api.qbittorrent import action, read

    app[EXTRAS] = TorrentExtras()
    r = app.router
    action(r, "/torrents/delete", delete)
    for path, handler in (
        ("pause", pause),
        ("stop", pause),
        ("resume", resume),
        ("start", resume),
        ("recheck", recheck),
        ("reannounce", reannounce),
        ("setForceStart", set_force_start),
        ("setSuperSeeding", set_super_seeding),
        ("toggleSequentialDownload", toggle_sequential),
        ("toggleFirstLastPiecePrio", toggle_first_last),
        ("setShareLimits", set_share_limits),
        ("setUploadLimit", set_upload_limit),
        ("setDownloadLimit", set_download_limit),
        ("setLocation", set_location),
        ("rename", rename),
        ("filePrio", file_prio),
        ("topPrio", _queue(QueueMove.TOP)),
        ("bottomPrio", _queue(QueueMove.BOTTOM)),
        ("increasePrio", _queue(QueueMove.UP)),
        ("decreasePrio", _queue(QueueMove.DOWN)),
    ):
        action(r, f"/torrents/{path}", handler)
    read(r, "/torrents/uploadLimit", upload_limit)
    read(r, "/torrents/downloadLimit", download_limit)
