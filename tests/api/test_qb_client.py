"""A real client library, ``qbittorrent-api``, drives Revaer's ``/api/v2`` as Sonarr would.

The library is synchronous (requests): it runs in a worker thread while the
event loop serves it. Needs the façade's read half (app/*, torrents/info,
properties, files) as well as the write half.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import asyncpg
import pytest
import qbittorrentapi
from aiohttp.test_utils import BaseTestServer

from revaer.engine.libtorrent import LibtorrentEngine
from tests.api.conftest import Api, ServedApi, serving
from tests.support.engine import Seeder, loopback_engine
from tests.support.torrents import synthetic_torrent

T = TypeVar("T")
PASSWORD = "correct horse"
# Keys Sonarr/Radarr read from app/preferences on every poll.
SONARR_PREFERENCES = {
    "dht",
    "max_ratio_enabled",
    "max_ratio",
    "max_seeding_time_enabled",
    "max_seeding_time",
    "max_inactive_seeding_time_enabled",
    "max_inactive_seeding_time",
    "max_ratio_act",
    "queueing_enabled",
    "save_path",
}
UPLOAD_STATES = {"uploading", "stalledUP", "queuedUP", "forcedUP", "pausedUP", "checkingUP"}


def client_for(server: BaseTestServer) -> qbittorrentapi.Client:
    return qbittorrentapi.Client(
        host=f"http://127.0.0.1:{server.port}",
        username="admin",
        password=PASSWORD,
        REQUESTS_ARGS={"timeout": 30},
        DISABLE_LOGGING_DEBUG_OUTPUT=True,
    )


def poll(fn: Callable[[], T | None], *, attempts: int = 300, interval: float = 0.1) -> T:
    """``fn()`` until it returns something (bounded: ``attempts`` tries)."""
    for _ in range(attempts):
        got = fn()
        if got is not None:
            return got
        time.sleep(interval)
    raise AssertionError(f"nothing after {attempts} attempts")


def sonarr_flow(qbt: qbittorrentapi.Client, torrent: bytes, info_hash: str) -> None:
    qbt.auth_log_in()
    assert qbt.app.version == "v4.6.7"
    assert qbt.app.web_api_version == "2.9.3"
    prefs = qbt.app.preferences
    assert set(prefs) >= SONARR_PREFERENCES

    qbt.torrents_create_category(name="tv-sonarr")
    assert "tv-sonarr" in qbt.torrents_categories()
    assert qbt.torrents_add(torrent_files=torrent, category="tv-sonarr", is_paused=True) == "Ok."

    def properties() -> Any:
        try:
            return qbt.torrents_properties(torrent_hash=info_hash)
        except qbittorrentapi.NotFound404Error:
            return None

    props = poll(properties)
    assert props["total_size"] > 0
    [item] = qbt.torrents_info(category="tv-sonarr")
    assert item["hash"] == info_hash
    assert item["category"] == "tv-sonarr"
    assert item["state"] in {"pausedDL", "checkingResumeData", "checkingDL"}
    assert qbt.torrents_info(category="other") == []
    files = qbt.torrents_files(torrent_hash=info_hash)
    assert len(files) == 2
    assert {f["priority"] for f in files} == {1}

    qbt.torrents_create_category(name="tv-imported")
    qbt.torrents_set_category(category="tv-imported", torrent_hashes=info_hash)
    with pytest.raises(qbittorrentapi.Conflict409Error):
        qbt.torrents_set_category(category="nope", torrent_hashes=info_hash)
    qbt.torrents_resume(torrent_hashes=info_hash)
    [item] = qbt.torrents_info(hashes=info_hash)
    assert item["category"] == "tv-imported"
    assert not str(item["state"]).startswith("paused")
    qbt.torrents_delete(delete_files=True, torrent_hashes=info_hash)
    assert qbt.torrents_info() == []
    qbt.auth_log_out()


async def _probe_before_login(port: int) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/api/v2/app/webapiVersion") as r,
    ):
        return r.status


async def test_sonarr_like_flow(ready: Api) -> None:
    server = ready.client.server
    assert server.port is not None
    # Servarr probes the version before logging in and accepts 200 or 403.
    assert await _probe_before_login(server.port) in (200, 403)
    tor = synthetic_torrent("Show.S01E01.1080p", size=8 * 1024 * 1024, files=2)
    await asyncio.to_thread(sonarr_flow, client_for(server), tor.data, tor.info_hash)
    assert ready.engine.get(tor.info_hash) is None


@pytest.fixture
async def real_api(
    db_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> AsyncIterator[tuple[ServedApi[LibtorrentEngine], Seeder]]:
    """The HTTP app over a real libtorrent engine on loopback, set up, beside a local seeder."""
    seeder = await asyncio.to_thread(Seeder, tmp_path / "swarm", 8 * 1024 * 1024)
    engine = loopback_engine()
    try:
        async with serving(engine, db_url, pool, tmp_path, update_interval=0.1) as api:
            await api.set_up()
            yield api, seeder
    finally:
        await asyncio.to_thread(engine.shutdown, 5)
        await asyncio.to_thread(seeder.close)


def download_flow(qbt: qbittorrentapi.Client, engine: LibtorrentEngine, seeder: Seeder) -> dict[str, Any]:
    qbt.auth_log_in()
    h = seeder.info_hash
    assert qbt.torrents_add(torrent_files=seeder.torrent.data, category="movies") == "Ok."
    engine.connect_peer(h, "127.0.0.1", seeder.port)

    def done() -> dict[str, Any] | None:
        items = qbt.torrents_info(hashes=h)
        if items and items[0]["progress"] == 1 and items[0]["state"] in UPLOAD_STATES:
            return dict(items[0])
        return None

    return poll(done, attempts=600, interval=0.1)


async def test_download_completes_from_local_seeder(
    real_api: tuple[ServedApi[LibtorrentEngine], Seeder],
) -> None:
    api, seeder = real_api
    engine = api.engine
    assert isinstance(engine, LibtorrentEngine)
    item = await asyncio.to_thread(download_flow, client_for(api.client.server), engine, seeder)
    assert item["progress"] == 1
    assert item["state"] in UPLOAD_STATES
    assert item["amount_left"] == 0
    assert item["category"] == "movies"
    got = api.root / "movies" / seeder.path.name
    assert got.read_bytes() == seeder.path.read_bytes()
