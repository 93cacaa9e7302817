"""``contentLayout`` on a magnet: the files are laid out as asked once the metadata arrives, over a
real libtorrent engine downloading from a local seeder."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
import qbittorrentapi

from revaer.engine.libtorrent import LibtorrentEngine
from tests.api.conftest import served_real
from tests.api.test_qb_client import UPLOAD_STATES, client_for, poll
from tests.support.engine import Seeder, loopback_engine


def _magnet_flow(qbt: qbittorrentapi.Client, engine: LibtorrentEngine, seeder: Seeder) -> dict[str, Any]:
    qbt.auth_log_in()
    h = seeder.info_hash
    magnet = f"magnet:?xt=urn:btih:{h}&dn={seeder.path.name}"
    assert qbt.torrents_add(urls=magnet, content_layout="Subfolder") == "Ok."
    engine.connect_peer(h, "127.0.0.1", seeder.port)

    def done() -> dict[str, Any] | None:
        items = qbt.torrents_info(torrent_hashes=h)
        if items and items[0]["progress"] == 1 and items[0]["state"] in UPLOAD_STATES:
            return dict(items[0])
        return None

    return poll(done, attempts=600, interval=0.1)


async def test_a_magnet_in_a_subfolder(db_url: str, pool: asyncpg.Pool, tmp_path: Path) -> None:
    seeder = await asyncio.to_thread(Seeder, tmp_path / "swarm", 2 * 1024 * 1024, name="single.bin")
    try:
        async with served_real(loopback_engine(), db_url, pool, tmp_path / "data") as api:
            engine = api.engine
            assert isinstance(engine, LibtorrentEngine)
            item = await asyncio.to_thread(_magnet_flow, client_for(api.client.server), engine, seeder)
            laid_out = api.root / "single" / "single.bin"
            assert laid_out.read_bytes() == seeder.path.read_bytes()
            assert not (api.root / "single.bin").exists()
            assert item["progress"] == 1
    finally:
        await asyncio.to_thread(seeder.close)
