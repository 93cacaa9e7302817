"""Share limits enforced: a finished torrent that reaches its ratio, seeding time or inactive seeding
time limit is paused, removed (with or without its files) or set to super seeding, as the
``torrent.share_limits.action`` setting (qBittorrent's ``max_ratio_act``) says.

A torrent's own limits (``setShareLimits``, ``ratioLimit``/``seedingTimeLimit`` on add) win; its
"use global" (−2) takes ``torrent.share_limits``; −1 is none. ``enforce()`` checks every torrent
once; the server runs it every ``INTERVAL`` seconds (Sonarr and Radarr wait for the pause to know
they may remove a download).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence

from aiohttp import web

from revaer.api.keys import CONFIG, RESTORE, TORRENTS
from revaer.api.qbittorrent.extras import EXTRAS, USE_GLOBAL, Extras, TorrentExtras
from revaer.api.qbittorrent.items import is_seed, real_ratio
from revaer.config.model import ShareLimits
from revaer.engine.errors import EngineError
from revaer.engine.protocol import TorrentSummary
from revaer.tasks import cancel_and_wait
from revaer.torrents import TorrentService

log = logging.getLogger(__name__)

INTERVAL = 1.0


def limits_of(extras: Extras, share: ShareLimits) -> tuple[float, int, int]:
    """(ratio, seeding minutes, inactive seeding minutes) in force for a torrent; −1 none."""
    ratio = share.ratio if extras.ratio_limit == USE_GLOBAL else extras.ratio_limit
    seeding = share.seeding_minutes if extras.seeding_time_limit == USE_GLOBAL else extras.seeding_time_limit
    inactive = (
        share.inactive_minutes
        if extras.inactive_seeding_time_limit == USE_GLOBAL
        else extras.inactive_seeding_time_limit
    )
    return ratio, seeding, inactive


def reached(row: TorrentSummary, extras: Extras, share: ShareLimits, now: float) -> str | None:
    """Which limit a seeding torrent has reached ("ratio", "seeding time", "inactive time"), if any."""
    if row.paused or not row.has_metadata or not is_seed(row):
        return None
    ratio, seeding, inactive = limits_of(extras, share)
    if ratio >= 0 and real_ratio(row) >= ratio:
        return "ratio"
    if seeding >= 0 and row.seeding_duration >= seeding * 60:
        return "seeding time"
    if inactive >= 0 and now - (row.last_activity or row.added_time) >= inactive * 60:
        return "inactive time"
    return None


def _candidates(
    torrents: TorrentService, extras: TorrentExtras, share: ShareLimits
) -> Sequence[TorrentSummary]:
    """The torrents a limit can be in force for: every one while a global limit is set, else only
    those with limits of their own (none at all by default: no walk over every torrent each second)."""
    if max(share.ratio, share.seeding_minutes, share.inactive_minutes) >= 0:
        return torrents.snapshot()
    rows = (torrents.get(h) for h in extras.own_limits())
    return [row for row in rows if row is not None]


def enforce(
    torrents: TorrentService, extras: TorrentExtras, share: ShareLimits, now: float | None = None
) -> list[str]:
    """Act on every torrent that reached a limit; the info-hashes acted on."""
    now = time.time() if now is None else now
    acted = []
    for row in _candidates(torrents, extras, share):
        rec = extras.get(row.info_hash)
        if share.action == "super_seeding" and rec.super_seeding:
            continue  # already done; it keeps seeding
        which = reached(row, rec, share, now)
        if which is None:
            continue
        h = row.info_hash
        try:
            if share.action == "pause":
                torrents.pause(h)
            elif share.action == "super_seeding":
                torrents.set_super_seeding(h, True)
                extras.edit(h).super_seeding = True
            else:
                torrents.remove(h, with_data=share.action == "remove_with_data")
                extras.drop(h)
        except EngineError as e:  # removed meanwhile
            log.info("share limit action skipped", extra={"info_hash": h, "error": str(e)})
            continue
        log.info("share limit reached", extra={"info_hash": h, "limit": which, "action": share.action})
        acted.append(h)
    return acted


def watcher(qb: web.Application, interval: float | None) -> Callable[[web.Application], AsyncIterator[None]]:
    """A ``cleanup_ctx`` part of the root app: ``enforce()`` every ``interval`` seconds while it runs
    (none when None); ``qb``: the façade's sub-app, which keeps the per-torrent limits."""

    async def watch(app: web.Application) -> AsyncIterator[None]:
        if interval is None:
            yield
            return

        async def loop() -> None:
            assert interval is not None
            # Limits act on the whole list: after a start, once every stored torrent is restored.
            if (restore := app.get(RESTORE)) is not None:
                await restore.wait()
            while True:
                await asyncio.sleep(interval)
                listener = app.get(CONFIG)
                share = listener.config.share_limits if listener is not None else ShareLimits()
                with contextlib.suppress(EngineError):
                    enforce(app[TORRENTS], qb[EXTRAS], share)

        task = asyncio.create_task(loop(), name="share-limits")
        try:
            yield
        finally:
            await cancel_and_wait(task)

    return watch
