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
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import orjson
import pytest

from revaer.engine.libtorrent import LibtorrentEngine
from revaer.engine.protocol import MAX_TRACKERS, AddRequest
from tests.api.conftest import ServedApi, served_real
from tests.support.engine import loopback_engine
from tests.support.torrents import bencode

# The whole stall the monitor may report for the test to pass: generous, a machine shared by others.
LIVENESS_MS = 1000.0


def crowded_magnet(trackers: int) -> tuple[str, str]:
    h = secrets.token_hex(20)
    tr = "".join(f"&tr=http%3A%2F%2F127.0.0.1%3A{1 + i % 60000}%2Fannounce{i}" for i in range(trackers))
    return h, f"magnet:?xt=urn:btih:{h}&dn=crowded{tr}"


@pytest.fixture
async def real(db_url: str, pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[ServedApi[LibtorrentEngine]]:
    async with served_real(loopback_engine(), db_url, pool, tmp_path) as api:
        yield api


def bodies() -> list[tuple[str, bytes]]:
    """(info-hash, request body): /v1 JSON with 10,000 trackers, /api/v2 forms with 10,000 and 500.

    Built off the loop (``asyncio.to_thread``): the test's client shares the server's loop, and
    building 600 KB bodies there would be a stall of the client's, counted as the server's.
    """
    (h1, m1), (h2, m2), (h3, m3) = (crowded_magnet(n) for n in (10_000, 10_000, MAX_TRACKERS))
    return [
        (h1, orjson.dumps({"magnet": m1})),
        (h2, urllib.parse.urlencode({"urls": m2}).encode()),
        (h3, urllib.parse.urlencode({"urls": m3}).encode()),
    ]


async def _worst(api: ServedApi[LibtorrentEngine]) -> dict[str, float]:
    r = await api.client.get("/v1/health")
    assert r.status == 200, await r.text()
    loop: dict[str, float] = (await r.json())["loop"]
    return loop


async def test_a_magnet_with_10000_trackers_does_not_stall_the_loop(
    real: ServedApi[LibtorrentEngine],
) -> None:
    api = real
    (h1, v1_body), (h2, qb_body), (h3, qb_ok) = await asyncio.to_thread(bodies)
    json_type = {**api.auth, "Content-Type": "application/json"}
    form_type = {**api.auth, "Content-Type": "application/x-www-form-urlencoded"}
    r = await api.client.post("/v1/torrents/add", data=v1_body, headers=json_type)
    assert r.status == 422, await r.text()
    problem = await r.json()
    # Refused by one of the two bounds on a torrent's size: the magnet's length (64 KiB, checked at the
    # API boundary first) or the engine's tracker count (which .torrent files and /api/v2 meet).
    assert (
        f"too many trackers: 10000 (at most {MAX_TRACKERS})" in problem["detail"]
        or "at most 65536 characters" in problem["detail"]
    ), problem

    r = await api.client.post("/api/v2/torrents/add", data=qb_body, headers=form_type)
    assert (r.status, await r.text()) == (200, "Fails.")  # qBittorrent's answer to any refused add

    # A torrent at the bound is accepted and listed by both APIs.
    r = await api.client.post("/api/v2/torrents/add", data=qb_ok, headers=form_type)
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


async def test_a_stored_torrent_with_10000_trackers_is_restored_with_its_first_500(tmp_path: Path) -> None:
    """Resume data from before the bound (libtorrent's own format, as the registry stores it) is never
    refused: the torrent comes back with its first ``MAX_TRACKERS`` trackers, in tier order."""
    h = secrets.token_hex(20)
    urls = [f"http://127.0.0.1:{1 + i % 60000}/announce{i}" for i in range(10_000)]
    resume = bencode(
        {
            "file-format": "libtorrent resume file",
            "file-version": 1,
            "info-hash": bytes.fromhex(h),
            "name": "stored",
            "save_path": str(tmp_path),
            "trackers": [[u] for u in urls],
        }
    )
    engine = loopback_engine()
    try:
        assert engine.add(AddRequest(resume=resume, paused=True)) == h
        row = engine.get(h)
        assert row is not None
        assert row.num_trackers == MAX_TRACKERS
        assert row.tracker_urls == tuple(urls[:MAX_TRACKERS])
    finally:
        await asyncio.to_thread(engine.shutdown, 5)
