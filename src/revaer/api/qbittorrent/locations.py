"""``torrents/setSavePath``, ``setDownloadPath`` and ``setAutoManagement``.

A new save path moves the torrent's payload through the post-processing worker (an ``fs_jobs`` row:
pause, atomic or verified cross-device move, the engine pointed at the new place, resume; retried
and resumed after a restart like a category move). A torrent with nothing on disk yet, or whose
files have several top-level entries, is moved by the engine itself. The download path is where an
unfinished torrent's files go (qBittorrent's "incomplete downloads" path): set, an unfinished torrent
moves there; it reads back as ``download_path``.

Paths answer as qBittorrent does: 403 ``Cannot write to directory`` where Revaer may not write (an
existing directory outside the allowed roots, or one it lacks permission for), 409 ``Cannot create
target directory`` where it cannot make the directory.
"""

from __future__ import annotations

import logging
import os

from aiohttp import web

from revaer.api.keys import POSTPROCESSOR, TORRENTS
from revaer.api.params import parse_bool
from revaer.api.qbittorrent.actions import Step, params, per_torrent, require, targets
from revaer.api.qbittorrent.errors import QbError, text_response
from revaer.api.qbittorrent.extras import EXTRAS
from revaer.engine.errors import EngineError
from revaer.paths import PathNotAllowedError
from revaer.torrents import TorrentService

log = logging.getLogger(__name__)


def target_directory(torrents: TorrentService, text: str) -> str:
    """The confined, created directory ``text`` names (403/409 as qBittorrent answers)."""
    path = text.strip()
    cannot_create = QbError(409, "Cannot create target directory")
    if not path or not os.path.isabs(path):
        raise cannot_create
    try:
        confined = torrents.confine(path)
    except PathNotAllowedError:
        if os.path.isdir(path):
            raise QbError(403, "Cannot write to directory") from None
        raise cannot_create from None
    try:
        os.makedirs(confined, exist_ok=True)
    except OSError:
        raise cannot_create from None
    if not os.access(confined, os.W_OK | os.X_OK):
        raise QbError(403, "Cannot write to directory")
    return confined


async def move_to(request: web.Request, h: str, directory: str) -> None:
    """Move one torrent's payload into ``directory`` (see the module docstring)."""
    torrents = request.config_dict[TORRENTS]
    row = torrents.get(h)
    if row is None:
        return
    worker = request.config_dict.get(POSTPROCESSOR)
    if worker is not None and row.total_done > 0 and await worker.enqueue_move(h, directory) is not None:
        return
    try:
        torrents.move_storage(h, directory)
    except EngineError as e:  # removed meanwhile
        log.info("torrent move skipped", extra={"info_hash": h, "error": str(e)})


async def _set_path(request: web.Request, *, download: bool) -> web.Response:
    p = await params(request)
    require(p, "id", "path")
    torrents = request.config_dict[TORRENTS]
    extras = request.app[EXTRAS]
    found = targets(torrents, p["id"])
    if download and not p["path"].strip():  # an empty download path: the torrent has none
        for h in found:
            extras.edit(h).download_path = ""
        return text_response("")
    directory = target_directory(torrents, p["path"])
    for h in found:
        row = torrents.get(h)
        if download:
            extras.edit(h).download_path = directory
            if row is None or row.is_finished or row.is_seeding:
                continue  # a finished torrent stays in its save path
        else:
            extras.edit(h).auto_tmm = False
        await move_to(request, h, directory)
    return text_response("")


async def set_save_path(request: web.Request) -> web.Response:
    return await _set_path(request, download=False)


async def set_download_path(request: web.Request) -> web.Response:
    return await _set_path(request, download=True)


@per_torrent("enable")
def set_auto_management(request: web.Request, p: dict[str, str]) -> Step:
    value = parse_bool(p["enable"]) or False
    extras = request.app[EXTRAS]

    def manage(h: str) -> None:
        extras.edit(h).auto_tmm = value

    return manage
