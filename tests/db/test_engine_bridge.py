"""Engine settings and limits from the config, applied to a live libtorrent session by hot reload."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from revaer.config.engine_bridge import EngineBridge, add_defaults, engine_settings
from revaer.config.listener import ConfigListener
from revaer.config.model import Config, ConfigValidationError
from revaer.config.store import ConfigStore
from revaer.engine.libtorrent import LibtorrentEngine, SettingValue
from revaer.engine.protocol import AddRequest
from revaer.restore import Restore
from tests.support.torrents import synthetic_torrent

LOOPBACK: dict[str, SettingValue] = {
    "listen_interfaces": "127.0.0.1:0",
    "enable_dht": False,
    "enable_lsd": False,
    "enable_upnp": False,
    "enable_natpmp": False,
}


class RecordingEngine(LibtorrentEngine):
    """The real engine, remembering what it was asked to apply."""

    def __init__(self, settings: dict[str, SettingValue]) -> None:
        super().__init__(settings)
        self.calls: list[dict[str, SettingValue]] = []

    def apply_settings(self, settings: dict[str, SettingValue]) -> None:
        self.calls.append(dict(settings))
        super().apply_settings(settings)


@pytest.fixture
def engine() -> Iterator[RecordingEngine]:
    e = RecordingEngine(LOOPBACK)
    try:
        yield e
    finally:
        e.shutdown(5.0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_settings_from_config() -> None:
    config = Config.from_values(
        {
            "engine.listen_interfaces": "127.0.0.1:7000",
            "engine.dht": False,
            "engine.limits": {"download": 1000, "upload": 2000, "connections": 50},
            "engine.settings": {"active_downloads": 5, "enable_lsd": False},
            "engine.limit_lan_peers": True,
        }
    )
    assert engine_settings(config) == {
        "listen_interfaces": "127.0.0.1:7000",
        "enable_dht": False,
        "download_rate_limit": 1000,
        "upload_rate_limit": 2000,
        "connections_limit": 50,
        "limit_lan_peers": True,
        "active_downloads": 5,
        "enable_lsd": False,
    }
    assert add_defaults(Config.default()) == {"upload_limit": -1, "download_limit": -1, "max_connections": -1}


async def test_hot_reload_applies_settings_to_the_live_engine(
    engine: RecordingEngine, pool: asyncpg.Pool, db_url: str
) -> None:
    store = ConfigStore(pool)
    await store.patch({"engine.listen_interfaces": "127.0.0.1:0", "engine.dht": False})
    async with ConfigListener(db_url) as listener:
        bridge = EngineBridge(engine)
        bridge.attach(listener)
        assert engine.calls[-1] == engine_settings(listener.config)

        version = await store.set(
            "engine.limits", {"download": 1_000_000, "upload": 500_000, "connections": 77}
        )
        await listener.wait_for("engine.limits", version)
        assert engine.calls[-1] == {
            "download_rate_limit": 1_000_000,
            "upload_rate_limit": 500_000,
            "connections_limit": 77,
        }

        version = await store.set("engine.settings", {"active_downloads": 4})
        await listener.wait_for("engine.settings", version)
        assert engine.calls[-1] == {"active_downloads": 4}

        # A behaviour that can be read back: the session moves to the new listen port.
        port = _free_port()
        version = await store.set("engine.listen_interfaces", f"127.0.0.1:{port}")
        await listener.wait_for("engine.listen_interfaces", version)
        assert engine.calls[-1] == {"listen_interfaces": f"127.0.0.1:{port}"}
        while engine.listen_port() != port:
            engine.poll()
            await asyncio.sleep(0.02)

        # A wrong setting is refused when written: nothing stored, nothing applied.
        calls = len(engine.calls)
        with pytest.raises(ConfigValidationError, match=re.escape("engine.settings.not_a_setting")):
            await store.set("engine.settings", {"not_a_setting": 1})
        assert (await store.get("engine.settings")).value == {"active_downloads": 4}
        assert len(engine.calls) == calls


async def test_default_limits_follow_into_torrents_that_use_them(
    engine: RecordingEngine, pool: asyncpg.Pool, db_url: str, tmp_path: Path
) -> None:
    store = ConfigStore(pool)
    async with ConfigListener(db_url) as listener:
        EngineBridge(engine).attach(listener)
        follows = engine.add(
            AddRequest(
                torrent=synthetic_torrent("follows", size=1 << 20).data,
                save_path=str(tmp_path),
                paused=True,
                **add_defaults(listener.config),
            )
        )
        own = engine.add(
            AddRequest(
                torrent=synthetic_torrent("own", size=1 << 20).data,
                save_path=str(tmp_path),
                paused=True,
                upload_limit=4096,
                download_limit=8192,
            )
        )
        while engine.get(follows) is None or engine.get(own) is None:
            engine.tick()
            engine.poll()
            await asyncio.sleep(0.02)

        version = await store.set("torrent.defaults", {"upload_limit": 100_000, "download_limit": 200_000})
        await listener.wait_for("torrent.defaults", version)
        while True:
            engine.tick()
            engine.poll()
            row = engine.get(follows)
            if row is not None and (row.upload_limit, row.download_limit) == (100_000, 200_000):
                break
            await asyncio.sleep(0.02)
        mine = engine.get(own)
        assert mine is not None
        assert (mine.upload_limit, mine.download_limit) == (4096, 8192)


async def test_default_limits_changed_during_a_restore_reach_the_torrents_restored_after(
    engine: RecordingEngine, pool: asyncpg.Pool, db_url: str, tmp_path: Path
) -> None:
    store = ConfigStore(pool)
    async with ConfigListener(db_url) as listener:
        bridge = EngineBridge(engine)
        bridge.attach(listener)
        progress = Restore()
        bridge.restore = progress
        progress.begin()
        version = await store.set("torrent.defaults", {"upload_limit": 100_000, "download_limit": 200_000})
        await listener.wait_for("torrent.defaults", version)
        # Restored after the change, with the limits it was stored with (the old defaults).
        late = engine.add(
            AddRequest(
                torrent=synthetic_torrent("late", size=1 << 20).data,
                save_path=str(tmp_path),
                paused=True,
                upload_limit=-1,
                download_limit=-1,
            )
        )
        while engine.get(late) is None:
            engine.tick()
            engine.poll()
            await asyncio.sleep(0.02)
        progress.finish()
        while True:
            engine.tick()
            engine.poll()
            row = engine.get(late)
            if row is not None and (row.upload_limit, row.download_limit) == (100_000, 200_000):
                break
            await asyncio.sleep(0.02)
