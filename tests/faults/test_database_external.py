"""An external PostgreSQL stopped with ``pg_ctl`` and started again under a real server process.

The cluster is the test's own (``tests.db.cluster``), never the machine's shared server. While it is
stopped: ``/v1/health`` answers ``degraded``, a read that needs the database answers 503
``no_database`` (not 500), and an add is either acknowledged or refused with 503; once it is back,
reads succeed, every acknowledged add is in the database (the registry kept it and replayed it), a
refused one is not, and the config listener has reconnected (a setting written after the restart
reaches the running server).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from revaer.config.store import ConfigStore
from revaer.db.migrate import migrate_dsn
from revaer.db.pool import create_pool
from tests.db.cluster import Cluster, cluster
from tests.e2e.server import LOOPBACK_CONFIG, ServerProcess, claim, write_config
from tests.faults.test_database_embedded import RECOVER_WITHIN, answer, wait_status

pytestmark = pytest.mark.faults_slow

ORIGIN = "http://media.example"


def _magnet(n: int) -> tuple[str, str]:
    h = f"{n:040x}"
    return h, f"magnet:?xt=urn:btih:{h}&dn=t{n}"


async def _stored(url: str) -> set[str]:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        return {r["info_hash"] for r in await conn.fetch("SELECT info_hash FROM revaer_runtime.torrents")}
    finally:
        await conn.close()


async def _wait_stored(url: str, want: set[str], within: float) -> None:
    deadline = time.monotonic() + within
    while not want <= await _stored(url):
        assert time.monotonic() < deadline, f"not in the database: {want - await _stored(url)}"
        await asyncio.sleep(0.1)


@pytest.fixture
def pg() -> Iterator[Cluster]:
    with cluster() as c:
        yield c


@pytest.fixture
async def server(pg: Cluster) -> AsyncIterator[ServerProcess]:
    await migrate_dsn(pg.url)
    await write_config(pg.url, LOOPBACK_CONFIG)
    root = Path(tempfile.mkdtemp(prefix="revaer-external-", dir="/tmp"))
    s = ServerProcess(root / "data", pg.url)
    try:
        await s.start()
        yield s
    finally:
        s.kill()
        shutil.rmtree(root, ignore_errors=True)


async def test_external_postgres_stopped_and_started(pg: Cluster, server: ServerProcess) -> None:
    async with aiohttp.ClientSession() as http:
        key = await claim(http, server)
        auth = {"Authorization": f"Bearer {key}"}
        first_hash, first = _magnet(1)
        status, body, _ = await answer(
            http, "POST", f"{server.url}/v1/torrents/add", headers=auth, json={"magnet": first}
        )
        assert status == 201, body
        await _wait_stored(pg.url, {first_hash}, 10)

        await asyncio.to_thread(pg.stop)
        status, body, health_took = await answer(http, "GET", f"{server.url}/v1/health")
        assert status == 503, body
        assert '"degraded"' in body, body
        status, body, read_took = await answer(http, "GET", f"{server.url}/v1/config", headers=auth)
        assert status == 503, body
        assert '"no_database"' in body, body
        second_hash, second = _magnet(2)
        add_status, body, _ = await answer(
            http, "POST", f"{server.url}/v1/torrents/add", headers=auth, json={"magnet": second}
        )
        assert add_status in (201, 503), body

        restarted = time.monotonic()
        await asyncio.to_thread(pg.start)
        _, seen = await wait_status(http, f"{server.url}/v1/config", 200, within=RECOVER_WITHIN, headers=auth)
        took = time.monotonic() - restarted
        assert seen <= {200, 503}, seen
        if add_status == 201:
            # Acknowledged while the database was away: kept and written once it is back.
            await _wait_stored(pg.url, {first_hash, second_hash}, RECOVER_WITHIN)
        else:
            assert second_hash not in await _stored(pg.url)

        # The config listener reconnected: a setting written now reaches the running server.
        pool = await create_pool(pg.url, min_size=1, max_size=1)
        try:
            await ConfigStore(pool).set("api.cors_origins", [ORIGIN])
        finally:
            await pool.close()
        deadline = time.monotonic() + RECOVER_WITHIN
        while True:
            async with http.get(f"{server.url}/v1/health", headers={"Origin": ORIGIN}) as r:
                if r.headers.get("Access-Control-Allow-Origin") == ORIGIN:
                    break
            assert time.monotonic() < deadline, "the config listener never saw the new setting"
            await asyncio.sleep(0.1)
        # The node lock was taken again on the restarted server (else the server would have stopped).
        assert server.proc is not None
        assert server.proc.poll() is None, server.log_tail()
        print(
            f"\nexternal PostgreSQL stopped: health {health_took * 1000:.0f} ms, read "
            f"{read_took * 1000:.0f} ms, add while away answered {add_status}; "
            f"reads served again {took:.2f} s after pg_ctl start began"
        )
