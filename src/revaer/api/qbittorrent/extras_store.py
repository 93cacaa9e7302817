"""qBittorrent's per-torrent settings kept in PostgreSQL (``revaer_runtime.qb_torrent_settings``),
so force start, super seeding, first/last piece priority, share limits, automatic management, a
display name and the download path survive a restart.

The façade answers an action only once what it changed is committed (``flush()`` runs after every
write request, see ``persist``); at start the records are loaded and the engine is told again what
it applies itself (super seeding, first/last piece priority).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
from aiohttp import web

from revaer.api.keys import DATABASE, PUMP, TORRENTS
from revaer.api.qbittorrent import content_layout
from revaer.api.qbittorrent.extras import EXTRAS, Extras, TorrentExtras
from revaer.engine.errors import EngineError
from revaer.engine.protocol import EngineEvent, MetadataReceived, TorrentAdded
from revaer.tasks import Spawned
from revaer.torrents import TorrentService

log = logging.getLogger(__name__)

_FIELDS = (
    "force_start",
    "super_seeding",
    "first_last_piece_prio",
    "ratio_limit",
    "seeding_time_limit",
    "inactive_seeding_time_limit",
    "auto_tmm",
    "display_name",
    "download_path",
)
# A torrent whose registry row is gone (removed meanwhile) gets no settings row.
_UPSERT = f"""
INSERT INTO revaer_runtime.qb_torrent_settings (info_hash, {", ".join(_FIELDS)})
SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10
 WHERE EXISTS (SELECT 1 FROM revaer_runtime.torrents WHERE info_hash = $1)
ON CONFLICT (info_hash) DO UPDATE SET
    {", ".join(f"{f} = EXCLUDED.{f}" for f in _FIELDS)}, updated_at = now()
"""


def _values(h: str, rec: Extras) -> tuple[object, ...]:
    return (
        h,
        rec.force_start,
        rec.super_seeding,
        rec.first_last_piece_prio,
        float(rec.ratio_limit),
        rec.seeding_time_limit,
        rec.inactive_seeding_time_limit,
        rec.auto_tmm,
        rec.name,
        rec.download_path,
    )


class ExtrasStore:
    """Loads and writes the records of a ``TorrentExtras``."""

    __slots__ = ("_flushed", "pool")

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._flushed = 0

    async def load(self, extras: TorrentExtras) -> int:
        rows = await self.pool.fetch(
            f"SELECT info_hash, {', '.join(_FIELDS)} FROM revaer_runtime.qb_torrent_settings"
        )
        for r in rows:
            extras.put(
                r["info_hash"],
                Extras(
                    force_start=r["force_start"],
                    super_seeding=r["super_seeding"],
                    first_last_piece_prio=r["first_last_piece_prio"],
                    ratio_limit=r["ratio_limit"],
                    seeding_time_limit=r["seeding_time_limit"],
                    inactive_seeding_time_limit=r["inactive_seeding_time_limit"],
                    auto_tmm=r["auto_tmm"],
                    name=r["display_name"],
                    download_path=r["download_path"],
                ),
            )
        self._flushed = extras.clock
        return len(rows)

    async def flush(self, extras: TorrentExtras) -> int:
        """Write the records edited since the last flush; how many."""
        clock = extras.clock
        if clock <= self._flushed:
            return 0  # nothing edited: no walk over every record (this runs after every POST)
        changed = extras.changed_since(self._flushed)
        if changed:
            await self.pool.executemany(_UPSERT, [_values(h, extras.get(h)) for h in changed])
        self._flushed = max(self._flushed, clock)
        return len(changed)


def apply_one(torrents: TorrentService, extras: TorrentExtras, h: str) -> None:
    """What libtorrent applies itself (super seeding, first/last piece priority) for one torrent."""
    rec, row = extras.get(h), torrents.get(h)
    if row is None:
        return
    try:
        if rec.super_seeding and not row.super_seeding:
            torrents.set_super_seeding(h, True)
        if rec.first_last_piece_prio and row.has_metadata:
            torrents.set_first_last_priority(h, True)
    except (EngineError, RuntimeError) as e:  # not ready yet, or gone: the setting stays stored
        log.info("torrent setting not applied", extra={"info_hash": h, "error": str(e)})


def applier(
    torrents: TorrentService, extras: TorrentExtras, renames: Spawned
) -> Callable[[EngineEvent], None]:
    """A pump listener: once libtorrent has a torrent (added, restored, or its metadata arrived),
    it gets the settings stored for it (a magnet's content layout: in a task of ``renames``)."""

    def on_event(ev: EngineEvent) -> None:
        if isinstance(ev, TorrentAdded | MetadataReceived):
            apply_one(torrents, extras, ev.info_hash)
        if isinstance(ev, MetadataReceived):
            content_layout.lay_out(torrents, extras, ev.info_hash, renames)

    return on_event


EXTRAS_STORE = web.AppKey("qb_extras_store", ExtrasStore)


def keeper(qb: web.Application) -> Callable[[web.Application], AsyncIterator[None]]:
    """A ``cleanup_ctx`` part of the root app: load the façade's records (``qb``: its sub-app) and
    keep them stored."""

    async def keep(app: web.Application) -> AsyncIterator[None]:
        store = ExtrasStore(app[DATABASE].pool)
        extras = qb[EXTRAS]
        n = await store.load(extras)
        for row in app[TORRENTS].snapshot():
            apply_one(app[TORRENTS], extras, row.info_hash)
        renames = Spawned()
        app[PUMP].listeners.append(applier(app[TORRENTS], extras, renames))
        log.info("qBittorrent torrent settings loaded", extra={"count": n})
        qb[EXTRAS_STORE] = store
        yield
        await renames.close()
        # Every write request flushed already; this is a last try, never a hang at shutdown.
        try:
            async with asyncio.timeout(5):
                await store.flush(extras)
        except (asyncpg.PostgresError, OSError, TimeoutError) as e:
            log.warning("qBittorrent torrent settings not flushed at shutdown", extra={"error": str(e)})

    return keep


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def persist(request: web.Request, handler: Handler) -> web.StreamResponse:
    """After a write request, its per-torrent settings are committed before the answer leaves."""
    response = await handler(request)
    store = request.app.get(EXTRAS_STORE)
    if request.method == "POST" and store is not None:
        await store.flush(request.app[EXTRAS])
    return response
