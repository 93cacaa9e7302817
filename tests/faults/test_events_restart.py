"""Event ids survive a restart: an id from before it gets ``resync``, never unrelated live events.

Ids used to restart at 1 with the process: after a restart, ``Last-Event-ID: 700`` was taken for an
id of the new process, and the client got live events from 51 with neither replay nor ``resync``.
Here the real app is stopped and a new one started over the same database (a restart), and the
client reconnects with the id it had.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp.test_utils import TestClient, TestServer

from revaer.api.keys import PUMP
from revaer.app import ServeOptions, build_app
from revaer.db.pool import Database
from revaer.engine.fake import FakeEngine, ManualClock
from tests.api.conftest import serving
from tests.e2e.sse import SseEvent, sse_events

MAGNET = "magnet:?xt=urn:btih:" + "c" * 40 + "&dn=before"
AFTER = "magnet:?xt=urn:btih:" + "d" * 40 + "&dn=after"


@contextlib.asynccontextmanager
async def restarted(db_url: str, pool: asyncpg.Pool, data_dir: Path) -> AsyncIterator[TestClient[Any, Any]]:
    """A new app (a new process's state: bus, engine, listeners) over the same database and data dir."""
    app = build_app(
        ServeOptions(data_dir=data_dir, update_interval=None, registry_flush_interval=0.01),
        engine_factory=lambda _config: FakeEngine(rate=0, clock=ManualClock()),
        database=Database(db_url, pool),
    )
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def _until(events: AsyncIterator[SseEvent], name: str) -> list[SseEvent]:
    got = []
    async for ev in events:
        got.append(ev)
        if ev.name == name:
            return got
    raise AssertionError(f"the stream ended before {name}: {got}")


async def test_an_id_from_before_a_restart_gets_resync(
    db_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    engine = FakeEngine(rate=0, clock=ManualClock())
    async with serving(engine, db_url, pool, tmp_path, update_interval=None) as api:
        key = await api.set_up()
        auth = {"Authorization": f"Bearer {key}"}
        # Enough events that the old id is above anything the new process will have numbered.
        for i in range(20):
            api.bus.publish(i)
        async with api.client.get("/v1/events/stream", headers=auth) as resp:
            events = sse_events(resp)
            await _until(events, "hello")
            r = await api.client.post("/v1/torrents/add", json={"magnet": MAGNET}, headers=auth)
            assert r.status == 201, await r.text()
            api.step()
            added = (await _until(events, "torrent.added"))[-1]
        old_id = added.id
        assert old_id is not None

    async with restarted(db_url, pool, tmp_path) as client:
        async with client.get(
            "/v1/events/stream", headers={**auth, "Last-Event-ID": old_id}, timeout=aiohttp.ClientTimeout(10)
        ) as resp:
            events = sse_events(resp)
            assert (await anext(events)).name == "hello"
            first = await anext(events)
            assert first.name == "resync", first
            assert first.id is not None
            assert first.id != old_id
        # The client carries on from the id resync gave it: what follows is streamed.
        async with client.get("/v1/events/stream", headers={**auth, "Last-Event-ID": first.id}) as resp:
            events = sse_events(resp)
            assert (await anext(events)).name == "hello"
            r = await client.post("/v1/torrents/add", json={"magnet": AFTER}, headers=auth)
            assert r.status == 201, await r.text()
            client.app[PUMP].step()
            assert (await _until(events, "torrent.added"))[-1].json()["info_hash"] == "d" * 40
