"""Torrents that download in a download path (``downloadPath`` on add, qBittorrent's "incomplete
downloads" folder) move to their save path once finished, through the post-processing worker (as
``setSavePath`` moves do; the engine moves a torrent whose files the worker cannot move as one)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web

from revaer.api.qbittorrent.extras import EXTRAS
from revaer.engine.errors import EngineError
from revaer.engine.protocol import EngineEvent, TorrentCompleted
from revaer.fsops.worker import PostProcessor
from revaer.tasks import Spawned
from revaer.torrents import TorrentService

log = logging.getLogger(__name__)


def mover(
    qb: web.Application, torrents: TorrentService, worker: PostProcessor, moves: Spawned
) -> Callable[[EngineEvent], None]:
    """A pump listener: on ``TorrentCompleted``, move a torrent out of its download path (in a
    task of ``moves``, its owner's)."""

    async def move(h: str, target: str) -> None:
        try:
            if await worker.enqueue_move(h, target) is None:
                torrents.move_storage(h, target)
        except (EngineError, OSError) as e:
            log.warning("move to the save path failed", extra={"info_hash": h, "error": str(e)})
            return
        qb[EXTRAS].edit(h).save_path = ""
        log.info("finished download moves to its save path", extra={"info_hash": h, "save_path": target})

    def on_event(ev: EngineEvent) -> None:
        if not isinstance(ev, TorrentCompleted):
            return
        rec = qb[EXTRAS].get(ev.info_hash)
        row = torrents.get(ev.info_hash)
        if not rec.save_path or row is None or row.save_path != rec.download_path:
            return
        moves.spawn(move(ev.info_hash, rec.save_path))

    return on_event
