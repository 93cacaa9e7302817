"""Façade behaviour the qbittorrent-api suite (``make compat``) exercises, each held here on its own.

Over the real app builder and a real database; the FakeEngine where the engine is not what is
being tested (its own contract tests hold it to the real engine).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
import pytest

from revaer.engine.fake import FakeEngine, ManualClock
from tests.api.conftest import Api, serving
from tests.api.test_qb_write import post
from tests.support.torrents import synthetic_torrent


@pytest.fixture
async def library(tmp_path: Path) -> Path:
    """A directory outside the download root that ``paths.allowed_roots`` names."""
    path = tmp_path / "library"
    path.mkdir()
    return path


@pytest.fixture
async def qb(db_url: str, pool: asyncpg.Pool, tmp_path: Path, library: Path) -> AsyncIterator[Api]:
    """The app over a FakeEngine, set up and logged in to the façade; ``library`` is an allowed root."""
    engine = FakeEngine(rate=0, clock=ManualClock())
    config = {"paths.allowed_roots": [str(library)]}
    async with serving(engine, db_url, pool, tmp_path / "data", update_interval=None, config=config) as api:
        await api.set_up()
        login = {"username": "admin", "password": "correct horse"}
        r = await api.client.post("/api/v2/auth/login", data=login)
        assert await r.text() == "Ok."
        yield api


async def get_json(qb: Api, path: str, **query: str) -> Any:
    r = await qb.client.get(f"/api/v2/{path}", params=query)
    assert r.status == 200, await r.text()
    return orjson.loads(await r.read())


async def add_torrent(qb: Api, data: bytes, **fields: str) -> None:
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    form.add_field("torrents", data, filename="t.torrent", content_type="application/x-bittorrent")
    assert await post(qb.client, "torrents/add", form) == (200, "Ok.")
    await qb.torrents.commit()


# ---- paths.allowed_roots ----------------------------------------------------------------------


async def test_a_category_may_save_under_an_allowed_root_and_nowhere_else(qb: Api, library: Path) -> None:
    inside = str(library / "films")
    assert await post(qb.client, "torrents/createCategory", {"category": "films", "savePath": inside}) == (
        200,
        "",
    )
    assert (await get_json(qb, "torrents/categories"))["films"]["savePath"] == inside
    outside = {"category": "elsewhere", "savePath": "/srv/elsewhere"}
    assert await post(qb.client, "torrents/createCategory", outside) == (409, "Unable to create category")
    assert "elsewhere" not in await get_json(qb, "torrents/categories")


async def test_an_add_may_save_under_an_allowed_root(qb: Api, library: Path) -> None:
    made = synthetic_torrent(name="in-library", size=64 * 1024)
    await add_torrent(qb, made.data, savepath=str(library / "in"), paused="true")
    (item,) = await get_json(qb, "torrents/info")
    assert item["save_path"] == str(library / "in")
