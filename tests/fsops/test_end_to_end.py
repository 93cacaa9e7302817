"""End to end with the real engine: download from a local seeder, land in the library, seed from there."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from revaer.engine.protocol import AddRequest, TorrentState
from revaer.engine.pump import EnginePump, PumpIntervals
from revaer.events import EventBus
from revaer.fsops import FsJobEvent, PostProcessor, WorkerOptions
from tests.fsops.conftest import TwoFilesystems, add_torrent_row, leftovers
from tests.support.engine import Seeder, eventually, loopback_engine
from tests.support.torrents import file_sha256

SIZE = 8 * 1024 * 1024
NAME = "Show S01E01 – ünïcødé.mkv"


async def test_download_move_and_seed_from_library(
    pool: asyncpg.Pool, tmp_path: Path, two_filesystems: TwoFilesystems
) -> None:
    seeder = Seeder(tmp_path / "seeder", SIZE, name=NAME)
    want = file_sha256(seeder.path)
    downloads = two_filesystems.a / "downloads"  # another filesystem than the library: a verified copy
    library = tmp_path / "library"
    engine = loopback_engine()
    bus = EventBus()
    sub = bus.subscribe()
    pump = EnginePump(engine, bus, intervals=PumpIntervals(update=0.1))
    worker = PostProcessor(
        pool,
        engine,
        bus,
        lambda: {"tv": f"{library}/tv/{{name}}"},
        node="node-a",
        options=WorkerOptions(reset_timeout=30.0),
    )
    pump.listeners.append(worker.on_event)
    leecher = loopback_engine()
    try:
        await pump.start()
        await worker.start()
        h = engine.add(AddRequest(torrent=seeder.torrent.data, save_path=str(downloads)))
        await add_torrent_row(pool, h, name=NAME, save_path=str(downloads), category="tv")
        engine.connect_peer(h, "127.0.0.1", seeder.port)

        async def status() -> object:
            return await pool.fetchval(
                "SELECT status::text FROM revaer_runtime.fs_jobs WHERE info_hash = $1", h
            )

        for _ in range(600):
            if await status() in ("moved", "failed", "skipped"):
                break
            await asyncio.sleep(0.1)
        assert await status() == "moved"
        landed = library / "tv" / NAME
        assert file_sha256(landed) == want
        assert not (downloads / NAME).exists()
        assert leftovers(downloads, library) == []
        saved = await pool.fetchval("SELECT save_path FROM revaer_runtime.torrents WHERE info_hash = $1", h)
        assert saved == str(library / "tv")

        # The engine took the new save path without moving (the files already there are kept),
        # checked them and seeds again.
        def seeding() -> bool:
            row = engine.get(h)
            return row is not None and row.state == TorrentState.SEEDING and not row.paused

        await eventually(seeding, within=30)
        row = engine.get(h)
        assert row is not None
        assert row.save_path == str(library / "tv")
        assert row.progress == 1.0

        seeder.close()  # only Revaer has the payload now
        lh = leecher.add(AddRequest(torrent=seeder.torrent.data, save_path=str(tmp_path / "leecher")))
        leecher.connect_peer(lh, "127.0.0.1", engine.listen_port())

        def leecher_done() -> bool:
            leecher.tick()
            leecher.poll()
            r = leecher.get(lh)
            return r is not None and r.is_seeding

        await eventually(leecher_done, within=60, interval=0.1)
        assert file_sha256(tmp_path / "leecher" / NAME) == want

        statuses = []
        while (env := sub.get_nowait()) is not None:
            ev = getattr(env, "event", None)
            if isinstance(ev, FsJobEvent):
                statuses.append(ev.status)
        assert statuses == ["pending", "moving", "moved"]
    finally:
        await worker.close()
        await pump.stop(5)
        leecher.shutdown(5)
        seeder.close()
