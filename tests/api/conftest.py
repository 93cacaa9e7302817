"""The API tests' app: the server's own builder (``revaer.app.build_app``) over an injected engine.

The FakeEngine runs on a ``ManualClock`` and the pump has no timer: nothing moves unless the test
calls ``step()``, so a "nothing changed" assertion holds however slowly the test runs. The real
engine keeps the pump's timer (its tests wait on conditions with bounded deadlines).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from revaer.api.keys import BUS, CONFIG, DATABASE, LISTENING, PUMP, TORRENTS
from revaer.app import ServeOptions, build_app
from revaer.config.listener import ConfigListener
from revaer.config.model import Json
from revaer.config.setup import TOKEN_FILE
from revaer.config.store import ConfigStore
from revaer.db.pool import Database
from revaer.engine.fake import FakeEngine, ManualClock
from revaer.engine.libtorrent import LibtorrentEngine
from revaer.engine.protocol import Engine
from revaer.engine.pump import EnginePump
from revaer.events import EventBus
from revaer.restore import Hold
from revaer.torrents import TorrentService
from tests.support.engine import LOOPBACK

E = TypeVar("E", bound=Engine)

# What a real engine runs with in these tests, said by the config (the engine bridge applies it).
LOOPBACK_CONFIG: dict[str, Json] = {
    "engine.listen_interfaces": str(LOOPBACK["listen_interfaces"]),
    "engine.dht": bool(LOOPBACK["enable_dht"]),
    "engine.settings": {k: v for k, v in LOOPBACK.items() if k not in ("listen_interfaces", "enable_dht")},
}


@dataclass
class ServedApi(Generic[E]):
    client: TestClient[Any, Any]
    app: web.Application
    engine: E
    token: str
    root: Path
    key: str = ""

    @property
    def torrents(self) -> TorrentService:
        return self.app[TORRENTS]

    @property
    def bus(self) -> EventBus:
        return self.app[BUS]

    @property
    def listener(self) -> ConfigListener:
        return self.app[CONFIG]

    @property
    def database(self) -> Database:
        return self.app[DATABASE]

    @property
    def pump(self) -> EnginePump:
        return self.app[PUMP]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def step(self, seconds: float = 0.0) -> None:
        """Move the FakeEngine's clock on by ``seconds``, tick it and publish what it did to the bus."""
        if seconds:
            engine = self.engine
            assert isinstance(engine, FakeEngine)
            assert isinstance(engine.clock, ManualClock)
            engine.clock.advance(seconds)
        self.pump.step()

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
    update_interval: float | None = 0.05,
    max_upload: int = 10 * 1024 * 1024,
    config: Mapping[str, Json] | None = None,
    restore_hold: Hold | None = None,
) -> AsyncIterator[ServedApi[E]]:
    """The real app over ``engine``, a real database and a fresh installation (setup mode).

    ``update_interval=None``: the pump has no timer (``ServedApi.step`` drives it). ``config`` is
    stored before the app starts; a real engine also gets ``LOOPBACK_CONFIG``, a ``root`` becomes
    ``paths.download_root``. ``restore_hold``: awaited after each batch of stored torrents re-added.
    """
    settings: dict[str, Json] = {} if isinstance(engine, FakeEngine) else dict(LOOPBACK_CONFIG)
    if root is not None:
        settings["paths.download_root"] = str(root)
    settings.update(config or {})
    if settings:
        await ConfigStore(pool).patch(settings)
    app = build_app(
        ServeOptions(
            data_dir=data_dir,
            update_interval=update_interval,
            registry_flush_interval=0.01,
            sse_update_interval=update_interval or 0.05,
            max_upload=max_upload,
            restore_hold=restore_hold,
        ),
        engine_factory=lambda _config: engine,
        database=Database(db_url, pool),
    )
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    assert client.server.runner is not None
    app[LISTENING].note(client.server.runner.addresses)
    try:
        # No token file: the database is set up already (a restart over the same database).
        token_file = data_dir / TOKEN_FILE
        token = token_file.read_text().strip() if token_file.exists() else ""
        yield ServedApi(client, app, engine, token, root or data_dir / "downloads")
    finally:
        await client.close()


@pytest.fixture
async def api(db_url: str, pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[Api]:
    """The real HTTP app over a FakeEngine on a manual clock, a real database, in setup mode."""
    engine = FakeEngine(rate=0, clock=ManualClock())
    async with serving(engine, db_url, pool, tmp_path, update_interval=None, max_upload=256 * 1024) as a:
        yield a


@pytest.fixture
async def ready(api: Api) -> Api:
    """``api`` after setup, with its API key."""
    await api.set_up()
    return api


L = TypeVar("L", bound=LibtorrentEngine)


@contextlib.asynccontextmanager
async def served_real(
    engine: L, db_url: str, pool: asyncpg.Pool, data_dir: Path
) -> AsyncIterator[ServedApi[L]]:
    """The app over a real engine (on loopback), set up; the engine shut down off the loop afterwards."""
    try:
        async with serving(engine, db_url, pool, data_dir, update_interval=0.1) as api:
            await api.set_up()
            yield api
    finally:
        await asyncio.to_thread(engine.shutdown, 5)
