from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from revaer.api.keys import Services
from revaer.app import build_app
from revaer.categories import CategoryStore
from revaer.config.listener import ConfigListener
from revaer.config.setup import Setup
from revaer.config.store import ConfigStore
from revaer.db.pool import Database
from revaer.engine.fake import FakeEngine
from revaer.engine.pump import EnginePump
from revaer.events import EventBus
from revaer.registry import TorrentRegistry
from revaer.torrents import TorrentService


@dataclass
class Api:
    client: TestClient  # type: ignore[type-arg]
    services: Services
    engine: FakeEngine
    pump: EnginePump
    token: str
    root: Path
    key: str = ""

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    async def set_up(self) -> str:
        r = await self.client.post(
            "/v1/setup/apply",
            json={"setup_token": self.token, "admin_username": "admin", "admin_password": "correct horse"},
        )
        assert r.status == 201, await r.text()
        self.key = (await r.json())["api_key"]
        return self.key


@pytest.fixture
async def api(db_url: str, pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[Api]:
    """The real HTTP app over a FakeEngine, a real database and a fresh installation (setup mode)."""
    bus = EventBus()
    engine = FakeEngine(rate=0)
    listener = ConfigListener(db_url, bus=bus)
    await listener.start()
    registry = TorrentRegistry(pool, flush_interval=0.01)
    await registry.start()
    root = tmp_path / "downloads"
    categories = CategoryStore(pool)
    await categories.load()
    torrents = TorrentService(engine, registry, root, categories=categories)
    pump = EnginePump(
        engine, bus, update_interval=0.05, on_resume=torrents.on_resume, listeners=[torrents.on_event]
    )
    await pump.start()
    setup = Setup(pool, tmp_path)
    token = await setup.begin()
    assert token is not None
    services = Services(
        engine=engine,
        bus=bus,
        torrents=torrents,
        data_dir=tmp_path,
        db=Database(db_url, pool),
        store=ConfigStore(pool),
        listener=listener,
        setup=setup,
        bootstrapped=False,
        sse_update_interval=0.05,
        max_upload=256 * 1024,
    )
    client = TestClient(TestServer(build_app(services)))
    await client.start_server()
    try:
        yield Api(client, services, engine, pump, token, root)
    finally:
        await client.close()
        await pump.stop(resume_timeout=2)
        await registry.close()
        await listener.close()
        bus.close()


@pytest.fixture
async def ready(api: Api) -> Api:
    """``api`` after setup, with its API key."""
    await api.set_up()
    return api
