"""One row the database refuses never blocks the others.

Below the API (where validation cannot help), one torrent's row carries a NUL byte in its name,
which PostgreSQL refuses, in the same batch as six good ones. The six are written; the refused one
is logged once and reported by ``/v1/health``; a new app over the same database (a restart) has
all six back. Before the fix the whole batch failed and was retried forever, and the restart found
nothing.
"""

from __future__ import annotations

import logging
from pathlib import Path

import asyncpg
import pytest

from revaer.api.keys import REGISTRY
from revaer.engine.fake import FakeEngine, ManualClock
from revaer.registry import TorrentNotStored, TorrentRegistry
from tests.api.conftest import serving
from tests.support.torrents import synthetic_torrent


def _refusal_logs(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == "torrent not stored: the database refused it"]


async def test_a_refused_row_is_isolated_and_the_others_survive_a_restart(
    db_url: str, pool: asyncpg.Pool, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    made = [synthetic_torrent(f"refused-row-{i}", size=1 << 20) for i in range(7)]
    good = {t.info_hash for t in made[1:]}
    bad = made[0].info_hash
    engine = FakeEngine(rate=0, clock=ManualClock())
    async with serving(engine, db_url, pool, tmp_path / "one", update_interval=None) as api:
        await api.set_up()
        registry = api.app[REGISTRY]
        # Seven adds queued into one batch (the service's add is synchronous; the flush is not).
        for t in made:
            api.torrents.add(torrent=t.data)
        # The bad value enters below the API: the registry gets a name the database refuses.
        row = engine.get(bad)
        assert row is not None
        registry.added(
            bad,
            name="a\x00b",
            save_path=row.save_path,
            category="",
            tags=(),
            added_at=1.0,
            source=made[0].data,
        )
        with pytest.raises(TorrentNotStored) as refused:
            await registry.commit([t.info_hash for t in made])
        assert set(refused.value.refused) == {bad}
        stored = {r["info_hash"] for r in await pool.fetch("SELECT info_hash FROM revaer_runtime.torrents")}
        assert stored == good
        # Later batches go on, and a further refused write of the same torrent is not logged again.
        registry.name_path(bad, "still\x00bad", row.save_path)
        registry.state(made[1].info_hash, "paused")
        await registry.flush()  # engine events are not waited for by commit(): the full flush
        state = await pool.fetchval(
            "SELECT state::text FROM revaer_runtime.torrents WHERE info_hash = $1", made[1].info_hash
        )
        assert state == "paused"
        assert len(_refusal_logs(caplog)) == 1
        assert _refusal_logs(caplog)[0].__dict__["info_hash"] == bad
        r = await api.client.get("/v1/health")
        body = await r.json()
        assert body["status"] == "degraded"
        assert body["checks"]["registry"] == "1 torrents not stored"
        assert registry.refused.keys() == {bad}

    # A restart: a new app and engine over the same database.
    engine2 = FakeEngine(rate=0, clock=ManualClock())
    async with serving(engine2, db_url, pool, tmp_path / "two", update_interval=None) as api2:
        back = {r.info_hash for r in api2.torrents.snapshot()}
        assert back == good
        r = await api2.client.get("/v1/health")
        assert (await r.json())["checks"]["registry"] == "ok"


async def test_a_refused_category_refuses_only_its_torrents(pool: asyncpg.Pool) -> None:
    registry = TorrentRegistry(pool, owner="here")
    await registry.start()
    try:
        registry.added("1" * 40, name="one", save_path="/d", category="ok", tags=(), added_at=1.0)
        registry.added("2" * 40, name="two", save_path="/d", category="a\x00b", tags=(), added_at=1.0)
        registry.added("3" * 40, name="three", save_path="/d", category="", tags=("\ud800",), added_at=1.0)
        with pytest.raises(TorrentNotStored) as refused:
            await registry.commit(["1" * 40, "2" * 40, "3" * 40])
        assert set(refused.value.refused) == {"2" * 40, "3" * 40}
        assert [t.info_hash for t in await registry.load()] == ["1" * 40]
        # Removed, the refused torrent is no longer reported.
        registry.deleted("2" * 40)
        await registry.commit()
        assert registry.refused.keys() == {"3" * 40}
    finally:
        await registry.close()
