"""One torrent with 10,000 trackers must not freeze the server (real app, real libtorrent, real HTTP).

Before the bound, such a magnet was accepted, libtorrent's session thread spent ~30 s adding it, and
the façade's listing asked the session for the torrent's trackers (a synchronous call), so the event
loop waited as long: ``/v1/health`` answered after 25 s. Now the add is refused on both APIs, and the
loop-lag monitor's worst stall stays far below a second (the bound here is a liveness check, not
the 50 ms target; the measured figure is in docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from revaer.engine.libtorrent import LibtorrentEngine
from revaer.engine.protocol import MAX_TRACKERS
from tests.api.conftest import ServedApi, serving
from tests.support.engine import loopback_engine

# The whole stall the monitor may report for the test to pass: generous, a machine shared by others.
LIVENESS_MS = 1000.0


def crowded_magnet(trackers: int) -> tuple[str, str]:
    h = secrets.token_hex(20)
    tr = "".join(f"&tr=http%3A%2F%2F127.0.0.1%3A{1 + i % 60000}%2Fannounce{i}" for i in range(trackers))
    return h, f"magnet:?xt=urn:btih:{h}&dn=crowded{tr}"


@pytest.fixture
async def real(db_url: str, pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[ServedApi[LibtorrentEngine]]:
    engine = loopback_engine()
    try:
        async with serving(engine, db_url, pool, tmp_path, update_interval=0.1) as api:
            await api.set_up()
            yield api
    finally:
        await asyncio.to_thread(engine.shutdown, 5)


async def _worst(api: ServedApi[LibtorrentEngine]) -> dict[str, float]:
    r = await api.client.get("/v1/health")
    assert r.status == 200, await r.text()
    loop: dict[str, float] = (await r.json())["loop"]
    return loop


async def test_a_magnet_with_10000_trackers_does_not_stall_the_loop(
    real: ServedApi[LibtorrentEngine],
) -> None:
    api = real
    h1, magnet1 = crowded_magnet(10_000)
    r = await api.client.post("/v1/torrents/add", json={"magnet": magnet1}, headers=api.auth)
    assert r.status == 422, await r.text()
    problem = await r.json()
    assert f"too many trackers: 10000 (at most {MAX_TRACKERS})" in problem["detail"]

    h2, magnet2 = crowded_magnet(10_000)
    r = await api.client.post("/api/v2/torrents/add", data={"urls": magnet2}, headers=api.auth)
    assert (r.status, await r.text()) == (200, "Fails.")  # qBittorrent's answer to any refused add

    # A torrent at the bound is accepted and listed by both APIs.
    h3, magnet3 = crowded_magnet(MAX_TRACKERS)
    r = await api.client.post("/api/v2/torrents/add", data={"urls": magnet3}, headers=api.auth)
    assert (r.status, await r.text()) == (200, "Ok.")
    for _ in range(3):  # listings, as a client polling would
        r = await api.client.get("/api/v2/torrents/info", headers=api.auth)
        items = {t["hash"]: t for t in await r.json()}
        assert h1 not in items
        assert h2 not in items
        assert items[h3]["magnet_uri"].count("&tr=") == MAX_TRACKERS
        r = await api.client.get("/v1/torrents", headers=api.auth)
        assert r.status == 200
    loop = await _worst(api)
    print(f"loop after the adds and listings: {loop}")  # the figure in docs/reliability.md (pytest -s)
    assert loop["worst_ms"] < LIVENESS_MS, loop
    assert loop["last_minute_worst_ms"] <= loop["worst_ms"]
