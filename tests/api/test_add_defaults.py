"""``torrent.defaults`` reach every new torrent, through both APIs, and follow a hot reload.

Over the app as the server builds it (``build_app``): the config's defaults are stored before the app
starts, and torrents are added over HTTP, as a user would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from revaer.api.keys import CONFIG
from revaer.config.store import ConfigStore
from revaer.engine.fake import FakeEngine, ManualClock
from tests.api.conftest import Api, serving

DEFAULTS = {"max_conns": 40, "upload_limit": 100_000, "download_limit": 200_000}


@pytest.fixture
async def defaults_api(db_url: str, pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[Api]:
    engine = FakeEngine(rate=0, clock=ManualClock())
    async with serving(
        engine, db_url, pool, tmp_path, update_interval=None, config={"torrent.defaults": DEFAULTS}
    ) as api:
        await api.set_up()
        yield api


def limits(api: Api, info_hash: str) -> tuple[int, int, int]:
    row = api.engine.get(info_hash)
    assert row is not None
    return row.upload_limit, row.download_limit, row.max_connections


async def test_defaults_apply_to_adds_through_both_apis(defaults_api: Api) -> None:
    api = defaults_api
    c = api.client
    r = await c.post(
        "/v1/torrents/add", json={"magnet": "magnet:?xt=urn:btih:" + "ab" * 20}, headers=api.auth
    )
    assert r.status == 201, await r.text()
    assert limits(api, "ab" * 20) == (100_000, 200_000, 40)

    r = await c.post(
        "/api/v2/torrents/add", data={"urls": "magnet:?xt=urn:btih:" + "cd" * 20}, headers=api.auth
    )
    assert (r.status, await r.text()) == (200, "Ok.")
    assert limits(api, "cd" * 20) == (100_000, 200_000, 40)

    # A limit the add asks for wins over the default.
    r = await c.post(
        "/api/v2/torrents/add",
        data={"urls": "magnet:?xt=urn:btih:" + "ef" * 20, "upLimit": "1000"},
        headers=api.auth,
    )
    assert (r.status, await r.text()) == (200, "Ok.")
    assert limits(api, "ef" * 20) == (1000, 200_000, 40)


async def test_defaults_follow_a_hot_reload(defaults_api: Api, pool: asyncpg.Pool) -> None:
    api = defaults_api
    listener = api.app[CONFIG]
    await ConfigStore(pool).set("torrent.defaults", {"max_conns": 0, "upload_limit": 0, "download_limit": 5})
    deadline = time.monotonic() + 5
    while listener.config.torrent_defaults.download_limit != 5:
        assert time.monotonic() < deadline, "the listener did not apply the change"
        await asyncio.sleep(0.02)
    r = await api.client.post(
        "/v1/torrents/add", json={"magnet": "magnet:?xt=urn:btih:" + "12" * 20}, headers=api.auth
    )
    assert r.status == 201, await r.text()
    assert limits(api, "12" * 20) == (-1, 5, -1)
