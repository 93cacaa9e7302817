"""End to end, all real: ``python -m revaer serve`` as a child process over a test database.

The server downloads a magnet from a local libtorrent seeder (the magnet names
the seeder with ``x.pe``, which libtorrent honours), announces
``torrent.completed`` on the SSE stream, stops cleanly on SIGTERM, and after a
restart on the same data dir and database lists the torrent again, seeding
from its stored resume data: the seeder is gone by then, so nothing could be
re-downloaded, and the all-time download counter has not moved.
"""

from __future__ import annotations

import asyncio
import signal
import stat
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp

from tests.e2e.server import ServerProcess, claim
from tests.e2e.sse import SseEvent, sse_events
from tests.support.engine import Seeder
from tests.support.torrents import file_sha256

PAYLOAD_SIZE = 16 * 1024 * 1024


async def _json(r: aiohttp.ClientResponse, status: int) -> Any:
    body = await r.text()
    assert r.status == status, f"{r.method} {r.url}: {r.status} {body}"
    return await r.json(content_type=None)


async def _next_event(events: AsyncIterator[SseEvent], within: float) -> SseEvent:
    async with asyncio.timeout(within):
        return await anext(events)


async def _set_up(http: aiohttp.ClientSession, server: ServerProcess) -> str:
    # The token file is the operator's only copy: readable by the server's user alone.
    assert stat.S_IMODE((server.data_dir / "setup-token").stat().st_mode) == 0o600
    return await claim(http, server)


async def _wait_row(
    http: aiohttp.ClientSession,
    url: str,
    auth: dict[str, str],
    what: str,
    pred: Callable[[dict[str, Any]], bool],
    within: float,
) -> dict[str, Any]:
    """Poll ``GET /v1/torrents/{hash}`` until ``pred`` holds; fails after ``within`` seconds."""
    body: dict[str, Any] = {}
    try:
        async with asyncio.timeout(within):
            while True:
                body = await _json(await http.get(url, headers=auth), 200)
                if pred(body):
                    return body
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"torrent not {what} within {within} s: {body}") from None


async def test_download_stop_restart_seeds_without_redownload(server: ServerProcess, workdir: Path) -> None:
    seeder = Seeder(workdir / "peer", PAYLOAD_SIZE)
    seeder_open = True
    try:
        health = await server.start()
        assert health["status"] == "ok", health
        assert health["setup"] is True, health
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
            # Setup mode: reads are allowed, mutations refused.
            r = await http.post(f"{server.url}/v1/torrents/add", json={"magnet": seeder.torrent.magnet()})
            assert (await _json(r, 409))["type"] == "setup_required"
            key = await _set_up(http, server)
            auth = {"Authorization": f"Bearer {key}"}
            h = seeder.info_hash

            stream = await http.get(
                f"{server.url}/v1/events/stream",
                params={"types": "torrent", "hash": h},
                headers=auth,
                timeout=aiohttp.ClientTimeout(total=None, sock_read=30),
            )
            assert stream.status == 200, await stream.text()
            events = sse_events(stream)
            assert (await _next_event(events, 5)).name == "hello"

            magnet = f"{seeder.torrent.magnet()}&x.pe=127.0.0.1:{seeder.port}"
            added = await _json(
                await http.post(f"{server.url}/v1/torrents/add", json={"magnet": magnet}, headers=auth), 201
            )
            assert added["info_hashes"] == [h]

            seen: list[str] = []
            try:
                async with asyncio.timeout(30):
                    async for ev in events:
                        seen.append(ev.name)
                        if ev.name == "torrent.error":
                            raise AssertionError(f"torrent error: {ev.data}")
                        if ev.name == "torrent.completed":
                            assert ev.json()["info_hash"] == h
                            assert ev.id is not None
                            break
            except TimeoutError:
                raise AssertionError(f"no torrent.completed within 30 s; saw {seen[-20:]}") from None

            payload = server.data_dir / "downloads" / seeder.path.name
            assert file_sha256(payload) == file_sha256(seeder.path)
            # The all-time counter is brought up to date once a second: wait for it, so the
            # comparison after the restart means something.
            before = await _wait_row(
                http,
                f"{server.url}/v1/torrents/{h}",
                auth,
                "seeding with its download counted",
                lambda t: t["state"] == "seeding" and t["downloaded"] >= PAYLOAD_SIZE,
                15,
            )
            assert before["progress"] == 1.0

            # SIGTERM with a stream open: the stream ends and the process exits 0.
            assert await server.stop(signal.SIGTERM) == 0
            async with asyncio.timeout(5):
                async for _ in events:
                    pass
            stream.close()

            # Nobody can serve the payload any more: whatever the restarted server has, it has from disk.
            seeder.close()
            seeder_open = False

            health = await server.start()
            assert health["setup"] is False, health
            assert not (server.data_dir / "setup-token").exists()
            assert (await http.get(f"{server.url}/v1/torrents")).status == 401
            after = await _wait_row(
                http, f"{server.url}/v1/torrents/{h}", auth, "seeding", lambda t: t["state"] == "seeding", 20
            )
            assert after["progress"] == 1.0
            assert after["downloaded"] == before["downloaded"], (before, after)
            assert after["name"] == before["name"] == seeder.path.name
            listing = await _json(await http.get(f"{server.url}/v1/torrents", headers=auth), 200)
            assert [t["info_hash"] for t in listing["torrents"]] == [h]
            assert file_sha256(payload) == file_sha256(seeder.path)

            # Every state this run went through (replayed from the start): it never downloaded.
            replay = await http.get(
                f"{server.url}/v1/events/stream",
                params={"types": "torrent.state", "hash": h},
                headers={**auth, "Last-Event-ID": "0"},
                timeout=aiohttp.ClientTimeout(total=None, sock_read=30),
            )
            states: list[str] = []
            replayed = sse_events(replay)
            assert (await _next_event(replayed, 5)).name == "hello"
            while True:
                try:
                    ev = await _next_event(replayed, 1.0)
                except TimeoutError:
                    break  # the replay is sent at once; a pause means it is over
                assert ev.name == "torrent.state", ev
                states.append(ev.json()["new"])
            replay.close()
            assert states[-1:] == ["seeding"], states
            assert not {"downloading", "stalled"} & set(states), states

            assert await server.stop(signal.SIGTERM) == 0
    finally:
        if seeder_open:
            seeder.close()


async def test_sigint_stops_cleanly_with_a_stream_open(server: ServerProcess) -> None:
    health = await server.start()
    assert health["setup"] is True
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        # Before setup, reads (the stream included) need no key.
        stream = await http.get(
            f"{server.url}/v1/events/stream", timeout=aiohttp.ClientTimeout(total=None, sock_read=30)
        )
        assert stream.status == 200
        events = sse_events(stream)
        assert (await _next_event(events, 5)).name == "hello"
        assert await server.stop(signal.SIGINT) == 0
        async with asyncio.timeout(5):
            async for _ in events:
                pass
        stream.close()
    # Still not set up: the next start hands out a fresh token.
    await server.start()
    assert (server.data_dir / "setup-token").read_text().strip()
    assert await server.stop(signal.SIGINT) == 0
