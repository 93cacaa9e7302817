"""``torrents/*`` actions: delete, pause/resume (and the 5.x stop/start), recheck, limits, queue, files.

Each answers as qBittorrent 4.6.7 does: 400 ``Bad Request`` when a required
parameter is missing, 200 with an empty body when done, and unknown or
malformed hashes are skipped silently (``all`` alone means every torrent).
Where qBittorrent parses a number leniently (``"abc"`` becomes 0), Revaer
answers 400 and changes nothing.

qBittorrent's own per-torrent settings (force start, share limits, super
seeding, first/last piece priority, automatic torrent management, a display
name) are kept in ``TorrentExtras`` and stored in PostgreSQL
(``extras_store``); super seeding and first/last piece priority are applied
through libtorrent, share limits are enforced (``share_limits``).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from aiohttp import web

from revaer.api.keys import TORRENTS
from revaer.api.params import ParamError, is_info_hash, parse_bool, parse_float, parse_hashes, parse_int
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
from revaer.api.qbittorrent.routes import Handler
from revaer.engine.errors import EngineError
from revaer.engine.protocol import QueueMove, TorrentSummary
from revaer.labels import valid_name, valid_path
from revaer.paths import PathNotAllowedError
from revaer.torrents import TorrentService

log = logging.getLogger(__name__)


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


def targets(torrents: TorrentService, hashes: str, *, allow_all: bool = True) -> list[str]:
    """The existing torrents that ``hashes`` (``|``-separated, any case) names; ``all`` alone: every
    one (unless not ``allow_all``: then none)."""
    wanted = parse_hashes(hashes)
    if wanted is None and not allow_all:
        return []
    return torrents.existing(wanted)


def one(torrents: TorrentService, p: dict[str, str]) -> TorrentSummary:
    """The torrent named by ``hash`` (404 when unknown or malformed)."""
    h = p["hash"].strip().lower()
    row = torrents.get(h) if is_info_hash(h) else None
    if row is None:
        raise NOT_FOUND
    return row


def json_response(value: Any) -> web.Response:
    return web.Response(
        body=orjson.dumps(value), content_type="application/json", charset="utf-8", headers=HEADERS
    )


OK = ""


# ---- running an action on each torrent ----------------------------------------------------------

Step = Callable[[str], object]
Prepare = Callable[[web.Request, dict[str, str]], Step]


def _each(hashes: Iterable[str], step: Step) -> None:
    for h in hashes:
        try:
            step(h)
        except EngineError as e:  # removed meanwhile: qBittorrent skips torrents it cannot find
            log.info("torrent action skipped", extra={"info_hash": h, "error": str(e)})


def per_torrent(*required: str, commit: bool = False) -> Callable[[Prepare], Handler]:
    """The handler of an action over the torrents ``hashes`` names (``required`` parameters too).

    ``prepare(request, params)`` checks the other parameters, so a bad one is refused before any
    torrent changes, and returns the step run for each torrent. With ``commit``, the answer waits
    until what the steps wrote to the registry is committed.
    """

    def wrap(prepare: Prepare) -> Handler:
        @functools.wraps(prepare)
        async def handler(request: web.Request) -> web.Response:
            p = await params(request)
            require(p, "hashes", *required)
            step = prepare(request, p)
            torrents = request.config_dict[TORRENTS]
            _each(targets(torrents, p["hashes"]), step)
            if commit:
                await torrents.commit()
            return text_response(OK)

        return handler

    return wrap


def _services(request: web.Request) -> tuple[TorrentService, TorrentExtras]:
    return request.config_dict[TORRENTS], request.app[EXTRAS]


# ---- handlers -----------------------------------------------------------------------------------


@per_torrent("deleteFiles", commit=True)
def delete(request: web.Request, p: dict[str, str]) -> Step:
    with_data = parse_bool(p["deleteFiles"]) or False
    torrents, extras = _services(request)

    def remove(h: str) -> None:
        torrents.remove(h, with_data)
        extras.drop(h)

    return remove


@per_torrent()
def pause(request: web.Request, p: dict[str, str]) -> Step:
    torrents, extras = _services(request)

    def stop(h: str) -> None:
        torrents.pause(h)
        if extras.get(h).force_start:
            extras.edit(h).force_start = False

    return stop


def _command(command: Callable[[TorrentService, str], None]) -> Handler:
    """An action that runs one command of the service for each torrent (resume, recheck, reannounce)."""

    def prepare(request: web.Request, p: dict[str, str]) -> Step:
        return functools.partial(command, request.config_dict[TORRENTS])

    return per_torrent()(prepare)


resume = _command(TorrentService.resume)
recheck = _command(TorrentService.recheck)
reannounce = _command(TorrentService.reannounce)


@per_torrent("value")
def set_force_start(request: web.Request, p: dict[str, str]) -> Step:
    value = parse_bool(p["value"]) or False
    torrents, extras = _services(request)

    def force(h: str) -> None:
        # qBittorrent starts the torrent either way (forced, or under the queue).
        torrents.resume(h)
        extras.edit(h).force_start = value

    return force


@per_torrent("value")
def set_super_seeding(request: web.Request, p: dict[str, str]) -> Step:
    value = parse_bool(p["value"]) or False
    torrents, extras = _services(request)

    def seed(h: str) -> None:
        torrents.set_super_seeding(h, value)
        extras.edit(h).super_seeding = value

    return seed


@per_torrent()
def toggle_sequential(request: web.Request, p: dict[str, str]) -> Step:
    return request.config_dict[TORRENTS].toggle_sequential


@per_torrent()
def toggle_first_last(request: web.Request, p: dict[str, str]) -> Step:
    torrents, extras = _services(request)

    def toggle(h: str) -> None:
        on = not extras.get(h).first_last_piece_prio
        row = torrents.get(h)
        if row is not None and row.has_metadata:
            torrents.set_first_last_priority(h, on)
        extras.edit(h).first_last_piece_prio = on

    return toggle


def clamp_ratio(value: float) -> float:
    """qBittorrent's rule: below −2 means no limit; above 9999 is 9999."""
    if value < USE_GLOBAL:
        return NO_LIMIT
    return min(value, MAX_RATIO)


def clamp_minutes(value: int) -> int:
    if value < USE_GLOBAL:
        return NO_LIMIT
    return min(value, MAX_SEEDING_MINUTES)


@per_torrent("ratioLimit", "seedingTimeLimit", "inactiveSeedingTimeLimit")  # 4.6.7 requires the last
def set_share_limits(request: web.Request, p: dict[str, str]) -> Step:
    ratio = clamp_ratio(parse_float(p["ratioLimit"]))
    seeding = clamp_minutes(parse_int(p["seedingTimeLimit"]))
    inactive = clamp_minutes(parse_int(p["inactiveSeedingTimeLimit"]))
    extras = request.app[EXTRAS]

    def limit(h: str) -> None:
        rec = extras.edit(h)
        rec.ratio_limit, rec.seeding_time_limit, rec.inactive_seeding_time_limit = ratio, seeding, inactive

    return limit


def _limit(p: dict[str, str]) -> int:
    """A per-torrent rate limit in bytes/s; 0 or negative: unlimited (the engine's −1)."""
    value = parse_int(p["limit"])
    return value if value > 0 else -1


@per_torrent("limit")
def set_upload_limit(request: web.Request, p: dict[str, str]) -> Step:
    return functools.partial(request.config_dict[TORRENTS].set_limits, upload=_limit(p))


@per_torrent("limit")
def set_download_limit(request: web.Request, p: dict[str, str]) -> Step:
    return functools.partial(request.config_dict[TORRENTS].set_limits, download=_limit(p))


def _limits(torrents: TorrentService, hashes: str, pick: Callable[[TorrentSummary], int]) -> dict[str, int]:
    """``{hash as given: limit}``: 0 is unlimited (as qBittorrent shows it), −1 for an unknown hash."""
    out: dict[str, int] = {}
    for part in hashes.split("|"):
        h = part.strip().lower()
        row = torrents.get(h) if is_info_hash(h) else None
        out[part] = -1 if row is None else max(pick(row), 0)
    return out


def _read_limit(pick: Callable[[TorrentSummary], int]) -> Handler:
    """``uploadLimit``/``downloadLimit``: the limits of the torrents ``hashes`` names."""

    async def handler(request: web.Request) -> web.Response:
        p = await params(request)
        require(p, "hashes")
        return json_response(_limits(request.config_dict[TORRENTS], p["hashes"], pick))

    return handler


upload_limit = _read_limit(lambda r: r.upload_limit)
download_limit = _read_limit(lambda r: r.download_limit)


def _queue(move: QueueMove) -> Handler:
    # Several torrents keep their relative order: to the top or bottom, the one nearest the end
    # moves last; one step up or down, the one nearest the direction moves first.
    descending = move in (QueueMove.TOP, QueueMove.DOWN)

    async def handler(request: web.Request) -> web.Response:
        torrents = request.config_dict[TORRENTS]
        p = await params(request)
        require(p, "hashes")
        if not request.app[PREFERENCES].queueing_enabled:
            raise QbError(409, "Torrent queueing must be enabled")
        named = targets(torrents, p["hashes"], allow_all=False)
        rows = [r for h in named if (r := torrents.get(h)) is not None]
        rows.sort(key=lambda r: r.queue_position, reverse=descending)
        _each([r.info_hash for r in rows], lambda h: torrents.queue(h, move))
        return text_response(OK)

    return handler


@per_torrent("location")
def set_location(request: web.Request, p: dict[str, str]) -> Step:
    location = p["location"].strip()
    if not location:
        raise bad_request("Save path cannot be empty")
    if not valid_path(location):
        raise QbError(409, "Cannot make save path")
    torrents, extras = _services(request)
    try:
        path = torrents.make_location(location)
    except (PathNotAllowedError, OSError):
        raise QbError(409, "Cannot make save path") from None

    def move(h: str) -> None:
        torrents.move_storage(h, path)
        if extras.get(h).auto_tmm:
            extras.edit(h).auto_tmm = False

    return move


async def rename(request: web.Request) -> web.Response:
    p = await params(request)
    require(p, "hash", "name")
    name = re.sub(r"\r?\n|\r", " ", p["name"].strip())
    if not valid_name(name):
        raise QbError(409, "Incorrect torrent name")
    row = one(request.config_dict[TORRENTS], p)
    request.app[EXTRAS].edit(row.info_hash).name = name
    return text_response(OK)


def _file_ids(text: str, count: int) -> list[int]:
    """The ``|``-separated file indexes of ``filePrio`` (400 when not integers, 409 out of range)."""
    out: list[int] = []
    for part in text.split("|"):
        try:
            index = parse_int(part, default=None)
        except ParamError:
            raise bad_request("File IDs must be integers") from None
        if not 0 <= index < count:
            raise QbError(409, "File ID is not valid")
        out.append(index)
    return out


async def file_prio(request: web.Request) -> web.Response:
    torrents = request.config_dict[TORRENTS]
    p = await params(request)
    require(p, "hash", "id", "priority")
    try:
        priority = parse_int(p["priority"], default=None)
    except ParamError:
        raise bad_request("Priority must be an integer") from None
    if priority not in QB_FILE_PRIORITIES:
        raise bad_request("Priority is not valid")
    row = one(torrents, p)
    if not row.has_metadata:
        raise QbError(409, "Torrent's metadata has not yet downloaded")
    ids = _file_ids(p["id"], len(await torrents.files(row.info_hash)))
    torrents.set_file_priorities(row.info_hash, dict.fromkeys(ids, QB_FILE_PRIORITIES[priority]))
    return text_response(OK)


top_prio = _queue(QueueMove.TOP)
bottom_prio = _queue(QueueMove.BOTTOM)
increase_prio = _queue(QueueMove.UP)
decrease_prio = _queue(QueueMove.DOWN)
