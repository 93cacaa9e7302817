"""Hot reload: the listener's cache follows the database, across processes and reconnects."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import asyncpg
import orjson

from revaer.config.listener import ConfigListener
from revaer.config.store import ConfigStore
from revaer.db.pool import connect
from revaer.events import ConfigChanged, Envelope, EventBus
from revaer.tasks import Backoff

REPO = Path(__file__).resolve().parents[2]


async def test_change_reaches_the_cache_and_the_bus(pool: asyncpg.Pool, db_url: str) -> None:
    bus = EventBus()
    sub = bus.subscribe()
    seen: list[frozenset[str]] = []
    async with ConfigListener(db_url, bus=bus) as listener:
        listener.add_hook(lambda config, keys: seen.append(keys))
        assert listener.config.bind.port == 7878
        version = await ConfigStore(pool).patch({"server.bind": "127.0.0.1:9999", "engine.dht": False})
        await listener.wait_for("server.bind", version["server.bind"])
        await listener.wait_for("engine.dht", version["engine.dht"])
        assert listener.config.bind.port == 9999
        assert listener.config.engine.dht is False
        events = [sub.get_nowait(), sub.get_nowait()]
        assert {e.event for e in events if isinstance(e, Envelope)} == {
            ConfigChanged("server.bind", 1),
            ConfigChanged("engine.dht", 1),
        }
        assert frozenset({"server.bind"}) in seen


async def test_large_values_are_fetched(pool: asyncpg.Pool, db_url: str) -> None:
    # Beyond what a NOTIFY payload carries: the listener reads the row instead.
    rules = {"categories": {f"cat{i:04d}": f"/library/cat{i:04d}/{{name}}" for i in range(400)}}
    async with ConfigListener(db_url) as listener:
        version = await ConfigStore(pool).set("paths.rules", rules)
        await listener.wait_for("paths.rules", version)
        assert len(listener.config.category_rules) == 400


async def test_change_seen_by_a_second_process(pool: asyncpg.Pool, db_url: str) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.db.config_child",
        db_url,
        cwd=REPO,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None
    assert child.stdin is not None
    try:
        assert await child.stdout.readline() == b"ready\n"
        version = await ConfigStore(pool).set("api.cors_origins", ["https://ui.example"])
        line = orjson.loads(await child.stdout.readline())
        assert line == {"key": "api.cors_origins", "version": version, "value": ["https://ui.example"]}
    finally:
        child.stdin.close()
        await child.wait()
    assert child.returncode == 0


async def test_reconnects_after_terminate_and_catches_up(pool: asyncpg.Pool, db_url: str) -> None:
    gate = asyncio.Event()
    attempts = 0

    async def gated_connect() -> asyncpg.Connection:
        # The second connection attempt waits until the test has changed the config,
        # so the change is certainly made while the listener is down.
        nonlocal attempts
        attempts += 1
        if attempts > 1:
            await gate.wait()
        return await connect(db_url)

    bus = EventBus()
    sub = bus.subscribe()
    store = ConfigStore(pool)
    async with ConfigListener(connect=gated_connect, bus=bus, backoff=Backoff(0.01, 5.0)) as listener:
        pid = listener.backend_pid
        assert pid is not None
        assert await pool.fetchval("SELECT pg_terminate_backend($1, 10000)", pid)
        await listener.wait_disconnected()
        assert not listener.connected

        version = await store.set("engine.limits", {"download": 123456})
        await store.set("engine.dht", False)
        gate.set()

        await listener.wait_for("engine.limits", version)
        await listener.wait_connected()
        assert listener.reconnects == 1
        assert listener.backend_pid not in (None, pid)
        assert listener.config.engine.download_limit == 123456
        assert listener.config.engine.dht is False
        changed = set()
        while (item := sub.get_nowait()) is not None:
            assert isinstance(item, Envelope)
            changed.add(item.event)
        assert changed == {ConfigChanged("engine.limits", 1), ConfigChanged("engine.dht", 1)}

        # And it listens again.
        version = await store.set("engine.dht", True)
        await listener.wait_for("engine.dht", version)
        assert listener.config.engine.dht is True


async def test_retries_with_backoff_while_the_database_refuses(pool: asyncpg.Pool, db_url: str) -> None:
    attempts = 0
    failing = 3

    async def flaky_connect() -> asyncpg.Connection:
        nonlocal attempts
        attempts += 1
        if 1 < attempts <= 1 + failing:
            raise ConnectionRefusedError("database restarting")
        return await connect(db_url)

    async with ConfigListener(connect=flaky_connect, backoff=Backoff(0.001, 5.0)) as listener:
        pid = listener.backend_pid
        await pool.fetchval("SELECT pg_terminate_backend($1, 10000)", pid)
        version = await ConfigStore(pool).set("engine.dht", False)
        await listener.wait_for("engine.dht", version)
        assert attempts == 2 + failing
