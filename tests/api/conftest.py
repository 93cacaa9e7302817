from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

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
from revaer.engine.protocol import Engine
from revaer.engine.pump import EnginePump
from revaer.events import EventBus
from revaer.registry import TorrentRegistry
from revaer.torrents import TorrentService

E = TypeVar("E", bound=Engine)


@dataclass
class ServedApi(Generic[E]):
    client: TestClient[Any, Any]
    services: Services
    engine: E
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


# The app over the FakeEngine, as most API tests use it.
Api = ServedApi[FakeEngine]


@contextlib.asynccontextmanager
async def serving(
    engine: E,
    db_url: str,
    pool: asyncpg.Pool,
    data_dir: Path,
    *,
    root: Path | None = None,
    update_interval: float = 0.05,
    max_upload: int = 10 * 1024 * 1024,
) -> AsyncIterator[ServedApi[E]]:
    """The real HTTP app over ``engine``, a real database and a fresh installation (setup mode)."""
    bus = EventBus()
    listener = ConfigListener(db_url, bus=bus)
    await listener.start()
    registry = TorrentRegistry(pool, flush_interval=0.01)
    await registry.start()
    root = root or data_dir / "downloads"
    categories = CategoryStore(pool)
    await categories.load()
    torrents = TorrentService(engine, registry, root, categories=categories)
    pump = EnginePump(
        engine,
        bus,
        update_interval=update_interval,
        on_resume=torrents.on_resume,
        listeners=[torrents.on_event],
    )
    await pump.start()
    setup = Setup(pool, data_dir)
    token = await setup.begin()
    assert token is not None
    services = Services(
        engine=engine,
        bus=bus,
        torrents=torrents,
        data_dir=data_dir,
        db=Database(db_url, pool),
        store=ConfigStore(pool),
        listener=listener,
        setup=setup,
        bootstrapped=False,
        sse_update_interval=update_interval,
        max_upload=max_upload,
    )
    client: TestClient[Any, Any] = TestClient(TestServer(build_app(services), host="127.0.0.1"))
    await client.start_server()
    try:
        yield ServedApi(client, services, engine, pump, token, root)
    finally:
        await client.close()
        await pump.stop(resume_timeout=5)
        await registry.close()
        await listener.close()
        bus.close()


@pytest.fixture
async def api(db_url: str, pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[Api]:
    """The real HTTP app over a FakeEngine, a real database and a fresh installation (setup mode)."""
    async with serving(FakeEngine(rate=0), db_url, pool, tmp_path, max_upload=256 * 1024) as a:
        yield a


@pytest.fixture
async def ready(api: Api) -> Api:
    """``api`` after setup, with its API key."""
    await api.set_up()
    return api
