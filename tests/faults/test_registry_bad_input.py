"""Bad names, labels and paths are refused at both API boundaries, and store nothing.

A value PostgreSQL refuses (a NUL byte, a lone surrogate, an unbounded string) that got past the
API used to fail the registry's batched transaction, which was then retried forever: every later
add, state change and removal stayed in memory only. Through the real app over a real database:
each bad input answers 4xx, no row is written, and a good add afterwards is stored at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from revaer.categories import CategoryError
from revaer.engine.fake import FakeEngine, ManualClock
from revaer.torrents import AddOptions
from tests.api.conftest import Api, serving
from tests.support.torrents import synthetic_torrent

MAGNET = "magnet:?xt=urn:btih:" + "cd" * 20 + "&dn=bad-input"


@pytest.fixture
async def ready(db_url: str, pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[Api]:
    """The real app over a FakeEngine (manual clock, no pump timer) and a real database, set up."""
    engine = FakeEngine(rate=0, clock=ManualClock())
    async with serving(engine, db_url, pool, tmp_path, update_interval=None) as api:
        await api.set_up()
        yield api


async def _rows(pool: asyncpg.Pool) -> list[str]:
    return [r["info_hash"] for r in await pool.fetch("SELECT info_hash FROM revaer_runtime.torrents")]


async def _qb(api: Api, path: str, data: Any) -> tuple[int, str]:
    r = await api.client.post(f"/api/v2/{path}", data=data)
    return r.status, await r.text()


def _upload(data: bytes, **fields: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    for k, v in fields.items():
        form.add_field(k, v)
    form.add_field("torrents", data, filename="t.torrent", content_type="application/x-bittorrent")
    return form


async def test_bad_names_labels_and_paths_answer_4xx_and_store_nothing(
    ready: Api, pool: asyncpg.Pool
) -> None:
    api, c = ready, ready.client
    # /v1: problem+json 4xx for each.
    for body in (
        {"magnet": MAGNET, "category": "a\u0000b"},
        {"magnet": MAGNET, "tags": ["ok", "a\u0000b"]},
        {"magnet": MAGNET, "tags": ["\x07bell"]},
        {"magnet": MAGNET, "category": "x" * 50_000},
        {"magnet": MAGNET, "tags": ["t" * 50_000]},
        {"magnet": MAGNET, "save_path": str(api.root / "a\x1bb")},
        {"magnet": MAGNET + "&tr=\x00"},
    ):
        r = await c.post("/v1/torrents/add", json=body, headers=api.auth)
        assert 400 <= r.status < 500, (body, r.status, await r.text())
        assert r.content_type == "application/problem+json"
    # A lone surrogate, as JSON may carry it.
    raw = b'{"magnet": "' + MAGNET.encode() + b'", "tags": ["\\ud800"]}'
    r = await c.post("/v1/torrents/add", data=raw, headers={**api.auth, "Content-Type": "application/json"})
    assert 400 <= r.status < 500, await r.text()
    # /v1 multipart upload with a bad tag.
    t = synthetic_torrent("bad-input-upload", size=1 << 20)
    r = await c.post("/v1/torrents/add", data=_upload(t.data, tags="a\x00b"), headers=api.auth)
    assert 400 <= r.status < 500, await r.text()

    # /api/v2: qBittorrent's plain-text answers.
    r = await c.post("/api/v2/auth/login", data={"username": "admin", "password": "correct horse"})
    assert r.status == 200
    assert await _qb(api, "torrents/add", {"urls": MAGNET, "category": "x" * 50_000}) == (
        409,
        "Incorrect category name",
    )
    assert await _qb(api, "torrents/add", {"urls": MAGNET, "category": "a\x00b"}) == (
        409,
        "Incorrect category name",
    )
    assert await _qb(api, "torrents/add", _upload(t.data, tags="ok,a\x00b")) == (400, "Incorrect tag name")
    assert await _qb(api, "torrents/add", _upload(t.data, rename="a\x00b")) == (409, "Incorrect torrent name")
    assert await _qb(api, "torrents/createCategory", {"category": "a\x00b"}) == (
        409,
        "Incorrect category name",
    )
    assert await _qb(api, "torrents/createCategory", {"category": "c" * 50_000}) == (
        409,
        "Incorrect category name",
    )
    assert await _qb(api, "torrents/createCategory", {"category": "ok", "savePath": "a\x00b"}) == (
        409,
        "Unable to create category",
    )
    assert await _qb(api, "torrents/createTags", {"tags": "a\x00b"}) == (400, "Incorrect tag name")
    assert await _rows(pool) == []
    assert "ok" not in api.torrents.categories.categories

    # A good add is stored, and the label routes refuse bad values on it.
    r = await c.post("/v1/torrents/add", json={"magnet": MAGNET, "tags": ["good"]}, headers=api.auth)
    assert r.status == 201, await r.text()
    (h,) = (await r.json())["info_hashes"]
    assert await _rows(pool) == [h]  # committed before the answer
    assert await _qb(api, "torrents/addTags", {"hashes": h, "tags": "a\x00b"}) == (400, "Incorrect tag name")
    assert await _qb(api, "torrents/addTags", {"hashes": h, "tags": "x" * 50_000}) == (
        400,
        "Incorrect tag name",
    )
    assert await _qb(api, "torrents/setCategory", {"hashes": h, "category": "a\x00b"}) == (
        409,
        "Incorrect category name",
    )
    assert await _qb(api, "torrents/rename", {"hash": h, "name": "a\x00b"}) == (409, "Incorrect torrent name")
    assert await _qb(api, "torrents/setLocation", {"hashes": h, "location": "/x\x00y"}) == (
        409,
        "Cannot make save path",
    )
    row = await pool.fetchrow("SELECT category, tags FROM revaer_runtime.torrents WHERE info_hash = $1", h)
    assert row is not None
    assert row["category"] is None
    assert list(row["tags"]) == ["good"]
    r = await c.get("/v1/health")
    body = await r.json()
    assert body["status"] == "ok"
    assert body["checks"]["registry"] == "ok"


@pytest.mark.parametrize("tag", ["a\x00b", "\ud800", "x" * 101])
async def test_the_service_refuses_a_bad_tag_from_any_caller(ready: Api, tag: str) -> None:
    with pytest.raises(CategoryError):
        ready.torrents.add(magnet=MAGNET, options=AddOptions(tags=(tag,)))
    assert ready.torrents.snapshot() == []
