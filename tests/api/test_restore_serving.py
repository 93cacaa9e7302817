"""The API serves while a start re-adds the stored torrents (ADR 0015), over the real engine.

The restore is held after its first batch (the ``restore_hold`` hook): health says how far it is, a
listing waits and then lists every torrent (never a partial list), and an action on a torrent not
restored yet waits for it instead of missing it. A stop in the middle of the restore loses none of
the others.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from revaer import restore
from revaer.api.keys import RESTORE
from revaer.api.restoring import waits
from revaer.engine.libtorrent import LibtorrentEngine
from tests.api.conftest import ServedApi, serving
from tests.support.engine import loopback_engine
from tests.support.torrents import synthetic_torrent

N = 12
BATCH = 4


class Held:
    """A restore hold: stops after the first batch until ``release`` is set."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, done: int) -> None:
        if done == BATCH:
            self.reached.set()
            await self.release.wait()


async def _stored(db_url: str, pool: asyncpg.Pool, data_dir: Path) -> tuple[str, list[str]]:
    """A first run that stores ``N`` paused torrents; its API key and their hashes."""
    engine = loopback_engine()
    try:
        async with serving(engine, db_url, pool, data_dir, update_interval=0.1) as api:
            await api.set_up()
            form = aiohttp.FormData()
            for i in range(N):
                t = synthetic_torrent(f"restored-{i:02d}", size=4 * 1024 * 1024, seed=b"r%d" % i)
                form.add_field("torrents", t.data, filename=f"{i}.torrent")
            form.add_field("paused", "true")
            r = await api.client.post("/api/v2/torrents/add", data=form, headers=api.auth)
            assert await r.text() == "Ok."
            return api.key, [row.info_hash for row in api.torrents.snapshot()]
    finally:
        await asyncio.to_thread(engine.shutdown, 5)


async def _info(api: ServedApi[Any]) -> list[dict[str, Any]]:
    r = await api.client.get("/api/v2/torrents/info", headers=api.auth)
    assert r.status == 200
    items: list[dict[str, Any]] = await r.json()
    return items


async def _health(api: ServedApi[Any]) -> dict[str, Any]:
    r = await api.client.get("/v1/health")
    body: dict[str, Any] = await r.json()
    return body


async def _restarted(
    db_url: str, pool: asyncpg.Pool, data_dir: Path, key: str, hold: Held, during: Callable[..., Any]
) -> None:
    engine: LibtorrentEngine = loopback_engine()
    try:
        async with serving(engine, db_url, pool, data_dir, update_interval=0.1, restore_hold=hold) as api:
            api.key = key
            await hold.reached.wait()  # the app started: the API serves, the restore is held
            await during(api)
    finally:
        hold.release.set()
        await asyncio.to_thread(engine.shutdown, 5)


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(restore, "RESTORE_BATCH", BATCH)


async def test_requests_during_the_restore(db_url: str, pool: asyncpg.Pool, tmp_path: Path) -> None:
    key, hashes = await _stored(db_url, pool, tmp_path)
    assert len(hashes) == N

    async def during(api: ServedApi[Any]) -> None:
        health = await _health(api)
        assert health["status"] == "ok"
        assert health["restore"] == {"running": True, "done": BATCH, "total": N}
        assert len(api.torrents.snapshot()) == BATCH  # the engine has the first batch only
        # A listing waits for the others: a partial one would say they are gone.
        listing = asyncio.ensure_future(_info(api))
        # An action on torrents not restored yet waits for them, then finds them.
        tagging = asyncio.ensure_future(
            api.client.post(
                "/api/v2/torrents/addTags",
                data={"hashes": "|".join(hashes), "tags": "late"},
                headers=api.auth,
            )
        )
        progress = api.app[RESTORE]
        while progress.waiting < 2:  # until both are in, held for the restore  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        assert not listing.done()
        assert not tagging.done()
        assert (await _health(api))["restore"]["running"]  # health is not held
        hold.release.set()
        r = await tagging
        assert r.status == 200, await r.text()
        assert {t["hash"] for t in await listing} == set(hashes)
        items = {t["hash"]: t for t in await _info(api)}
        assert set(items) == set(hashes)
        assert all(t["tags"] == "late" for t in items.values())
        assert (await _health(api))["restore"] == {"running": False, "done": N, "total": N}

    hold = Held()
    await _restarted(db_url, pool, tmp_path, key, hold, during)


async def test_a_stop_during_the_restore_keeps_every_torrent(
    db_url: str, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    key, hashes = await _stored(db_url, pool, tmp_path)

    seen: list[restore.Restore] = []

    async def during(api: ServedApi[Any]) -> None:
        assert len(api.torrents.snapshot()) == BATCH
        progress = api.app[RESTORE]
        seen.append(progress)
        stop = progress.stop

        def stopped() -> None:  # the stop reaches the restore: let its held batch end
            stop()
            hold.release.set()

        progress.stop = stopped  # type: ignore[method-assign]

    hold = Held()
    await _restarted(db_url, pool, tmp_path, key, hold, during)
    assert seen[0].done == BATCH  # stopped with the others still stored only

    async def all_back(api: ServedApi[Any]) -> None:
        hold.release.set()
        await api.app[RESTORE].wait()
        assert {t["hash"] for t in await _info(api)} == set(hashes)

    hold = Held()
    await _restarted(db_url, pool, tmp_path, key, hold, all_back)


@pytest.mark.parametrize(
    ("method", "path", "held"),
    [
        ("POST", "/api/v2/torrents/addTags", True),
        ("POST", "/api/v2/torrents/delete", True),
        ("POST", "/api/v2/torrents/add", True),
        ("POST", "/v1/torrents/add", True),
        ("PATCH", "/v1/config", True),
        ("POST", "/api/v2/app/setPreferences", True),
        ("POST", "/api/v2/torrents/info", True),  # reads too: never a partial list
        ("GET", "/api/v2/torrents/info", True),
        ("GET", "/api/v2/sync/maindata", True),
        ("GET", "/v1/torrents", True),
        ("GET", "/v1/health", False),
        ("GET", "/v1/config", False),
        ("GET", "/api/v2/app/preferences", False),
        ("POST", "/api/v2/auth/login", False),
        ("POST", "/v1/setup/apply", False),
    ],
)
def test_what_waits_for_the_restore(method: str, path: str, held: bool) -> None:
    assert waits(method, path) is held
