"""The typed model's validation and the store's versions, on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import asyncpg
import pytest

from revaer.config.model import SPECS, Config, ConfigValidationError, validate
from revaer.config.store import ConfigStore, VersionConflict


@pytest.mark.parametrize(
    ("key", "value", "names", "says"),
    [
        ("no.such.key", 1, "no.such.key", "unknown setting"),
        ("server.bind", 7878, "server.bind", "expected a string"),
        ("server.bind", "localhost", "server.bind", '"host:port"'),
        ("server.bind", "127.0.0.1:70000", "server.bind", "port from 1 to 65535"),
        ("paths.download_root", "relative/dir", "paths.download_root", "absolute path"),
        ("paths.download_root", "/data/../etc", "paths.download_root", '".."'),
        ("paths.rules", {"categories": {"tv": "library/tv"}}, "paths.rules.categories.tv", "absolute path"),
        ("paths.rules", {"categories": {"tv": "/tv/{title}"}}, "paths.rules.categories.tv", "{title}"),
        ("paths.rules", {"category": {}}, "paths.rules.category", "unknown field"),
        ("torrent.defaults", {"max_conns": "10"}, "torrent.defaults.max_conns", "expected an integer"),
        ("torrent.defaults", {"max_conns": True}, "torrent.defaults.max_conns", "expected an integer"),
        ("torrent.defaults", {"upload_limit": -5}, "torrent.defaults.upload_limit", "from 0"),
        ("torrent.defaults", {"max_con": 1}, "torrent.defaults.max_con", "unknown field"),
        ("engine.dht", "yes", "engine.dht", "expected a boolean"),
        ("engine.listen_interfaces", "0.0.0.0", "engine.listen_interfaces", "address:port"),
        ("engine.limits", {"connections": 0}, "engine.limits.connections", "from 1"),
        ("engine.settings", {"no_such_setting": 1}, "engine.settings.no_such_setting", "unknown libtorrent"),
        (
            "engine.settings",
            {"active_downloads": "3"},
            "engine.settings.active_downloads",
            "expected an integer",
        ),
        ("engine.settings", {"enable_lsd": 1}, "engine.settings.enable_lsd", "expected a boolean"),
        ("engine.settings", {"user_agent": 5}, "engine.settings.user_agent", "expected a string"),
        ("engine.settings", {"enable_dht": False}, "engine.settings.enable_dht", "use engine.dht"),
        ("engine.settings", [], "engine.settings", "expected an object"),
        ("compat.qbittorrent", {"enabled": "on"}, "compat.qbittorrent.enabled", "expected a boolean"),
        ("api.cors_origins", "https://a.example", "api.cors_origins", "expected an array"),
        ("api.cors_origins", ["ftp://x"], "api.cors_origins[0]", "origin"),
        ("telemetry", {"log_level": "loud"}, "telemetry.log_level", "expected one of"),
    ],
)
def test_validation_names_the_key_and_what_was_expected(key: str, value: Any, names: str, says: str) -> None:
    with pytest.raises(ConfigValidationError) as info:
        validate(key, value)
    assert info.value.key == names
    assert str(info.value).startswith(f"{names}: ")
    assert says in str(info.value)


def test_defaults() -> None:
    config = Config.default()
    assert str(config.bind) == "127.0.0.1:7878"
    assert config.bind.is_loopback
    assert config.qbittorrent_enabled  # on for loopback binds
    assert not config.qbittorrent.bypass_localhost
    assert config.cors_origins == ()
    assert config.category_rules == {}
    assert config.torrent_defaults.max_conns == 0
    assert set(config.values) == set(SPECS)


def test_qbittorrent_is_off_by_default_on_public_binds() -> None:
    assert not Config.from_values({"server.bind": "0.0.0.0:7878"}).qbittorrent_enabled
    public_on = {"server.bind": "0.0.0.0:7878", "compat.qbittorrent": {"enabled": True}}
    assert Config.from_values(public_on).qbittorrent_enabled


def test_objects_are_completed_with_defaults() -> None:
    assert validate("torrent.defaults", {"max_conns": 50}) == {
        "max_conns": 50,
        "upload_limit": 0,
        "download_limit": 0,
    }


async def test_get_set_versions(pool: asyncpg.Pool) -> None:
    store = ConfigStore(pool)
    first = await store.get("server.bind")
    assert (first.value, first.version) == ("127.0.0.1:7878", 0)
    assert await store.set("server.bind", "0.0.0.0:9000") == 1
    assert await store.set("server.bind", "0.0.0.0:9001") == 2
    got = await store.get("server.bind")
    assert (got.value, got.version) == ("0.0.0.0:9001", 2)
    config, versions = await store.load()
    assert config.bind.port == 9001
    assert versions["server.bind"] == 2
    assert versions["engine.dht"] == 0


async def test_refused_value_writes_nothing(pool: asyncpg.Pool) -> None:
    store = ConfigStore(pool)
    with pytest.raises(ConfigValidationError, match=re.escape("engine.settings.bogus")):
        await store.patch({"engine.dht": False, "engine.settings": {"bogus": 1}})
    assert await pool.fetchval("SELECT count(*) FROM revaer_config.settings") == 0


async def test_patch_writes_several_keys_in_one_transaction(pool: asyncpg.Pool) -> None:
    store = ConfigStore(pool)
    versions = await store.patch({"engine.dht": False, "api.cors_origins": ["https://ui.example"]})
    assert versions == {"engine.dht": 1, "api.cors_origins": 1}
    stamps = await pool.fetch("SELECT DISTINCT updated_at FROM revaer_config.settings")
    assert len(stamps) == 1  # now() is the transaction's start: one transaction


async def test_expected_version_conflict_rolls_back_the_whole_patch(pool: asyncpg.Pool) -> None:
    store = ConfigStore(pool)
    await store.set("engine.dht", False)
    with pytest.raises(VersionConflict) as info:
        await store.patch(
            {"api.cors_origins": ["*"], "engine.dht": True}, expected_versions={"engine.dht": 5}
        )
    assert (info.value.key, info.value.expected, info.value.actual) == ("engine.dht", 5, 1)
    assert (await store.get("engine.dht")).value is False
    assert (await store.get("api.cors_origins")).version == 0

    with pytest.raises(VersionConflict):
        await store.set("engine.dht", True, expected_version=0)  # exists already
    assert await store.set("api.cors_origins", ["*"], expected_version=0) == 1
    assert await store.set("engine.dht", True, expected_version=1) == 2


async def test_concurrent_expected_version_writes_exactly_one_wins(pool: asyncpg.Pool) -> None:
    store = ConfigStore(pool)
    await store.set("paths.download_root", "/data")

    async def write(i: int) -> int | None:
        try:
            return await store.set("paths.download_root", f"/data/{i}", expected_version=1)
        except VersionConflict:
            return None

    results = await asyncio.gather(*(write(i) for i in range(5)))
    assert sorted(r for r in results if r is not None) == [2]
    winner = results.index(2)
    assert (await store.get("paths.download_root")).value == f"/data/{winner}"
