"""A client that closes its event stream mid-replay is normal: logged at debug, never as an error.

It used to reach the error middleware as ``unhandled error`` with a ClientConnectionResetError
traceback. The app runs under ``web.AppRunner`` as ``revaer serve`` runs it (aiohttp's TestServer
cancels a handler whose client went away, which the server does not, and which would hide the
fault). A real client over a real socket asks for a replay of thousands of events, far more than
the socket buffers hold, reads the first and closes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from revaer.api.keys import BUS
from revaer.app import ServeOptions, build_app
from revaer.config.setup import TOKEN_FILE
from revaer.db.pool import Database
from revaer.engine.fake import FakeEngine, ManualClock
from revaer.engine.protocol import TorrentFailed
from revaer.events import EventBus

GONE = "event stream closed by the client"


@pytest.fixture
async def served(db_url: str, pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[tuple[str, str, EventBus]]:
    """The app as ``revaer serve`` runs it, set up: (base URL, API key, its bus)."""
    app = build_app(
        ServeOptions(data_dir=tmp_path, update_interval=None, registry_flush_interval=0.01),
        engine_factory=lambda _config: FakeEngine(rate=0, clock=ManualClock()),
        database=Database(db_url, pool),
    )
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=10, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        base = f"http://127.0.0.1:{port}"
        token = (tmp_path / TOKEN_FILE).read_text().strip()
        async with aiohttp.ClientSession() as http:
            body = {"setup_token": token, "admin_username": "admin", "admin_password": "correct horse"}
            async with http.post(f"{base}/v1/setup/apply", json=body) as r:
                assert r.status == 201, await r.text()
                key = (await r.json())["api_key"]
        yield base, key, app[BUS]
    finally:
        await runner.cleanup()


async def test_a_client_closing_mid_replay_is_logged_at_debug(
    served: tuple[str, str, EventBus], caplog: pytest.LogCaptureFixture
) -> None:
    base, key, bus = served
    first = bus.last_event_id
    big = "x" * 64 * 1024  # each replayed event 64 KB: the replay (~128 MB) outlasts any socket buffer
    for _ in range(2000):
        bus.publish(TorrentFailed("ab" * 20, big))
    caplog.set_level(logging.DEBUG, logger="revaer")
    async with aiohttp.ClientSession() as http:
        resp = await http.get(
            f"{base}/v1/events/stream", headers={"Authorization": f"Bearer {key}", "Last-Event-ID": first}
        )
        assert resp.status == 200
        assert b"event: hello" in await resp.content.readuntil(b"event: hello")
        assert b"event: torrent.error" in await resp.content.readuntil(b"event: torrent.error")
        resp.close()  # gone with most of the replay unsent

    deadline = time.monotonic() + 15
    while not [r for r in caplog.records if r.getMessage() == GONE]:
        assert time.monotonic() < deadline, [(r.levelname, r.getMessage()) for r in caplog.records]
        await asyncio.sleep(0.02)
    (gone,) = [r for r in caplog.records if r.getMessage() == GONE]
    assert gone.levelno == logging.DEBUG
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [(r.getMessage(), r.exc_info) for r in errors]
