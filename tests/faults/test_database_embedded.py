"""The embedded PostgreSQL killed and frozen under a real server process.

(a) ``SIGKILL`` to the embedded postmaster: the supervisor starts it again and authenticated reads
succeed again, within a bounded time (meanwhile they answer 503 ``no_database``, never 500).
(b) ``SIGSTOP`` to the embedded server's process group (postmaster and backends: a hung database):
``/v1/health`` still answers, ``degraded``; an authenticated read answers 503 ``no_database`` on
``/v1`` and plain-text 503 on ``/api/v2``; after ``SIGCONT`` reads succeed again.

The figures (how long health took while frozen, how long recovery took) are printed with ``-s``
and recorded in docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from revaer.db.embedded import EmbeddedPostgres
from tests.db.cluster import freeze, postmaster_pid, thaw
from tests.e2e.server import ServerProcess, claim

pytestmark = pytest.mark.faults_slow

RECOVER_WITHIN = 30.0


class EmbeddedServer(ServerProcess):
    """``python -m revaer serve`` with no database URL: it runs its embedded PostgreSQL."""

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pg"


async def answer(
    http: aiohttp.ClientSession, method: str, url: str, *, within: float = 10.0, **kw: Any
) -> tuple[int, str, float]:
    """One request; its status, body and how long it took (bounded: a hang fails the test)."""
    started = time.monotonic()
    try:
        async with http.request(method, url, timeout=aiohttp.ClientTimeout(total=within), **kw) as r:
            return r.status, await r.text(), time.monotonic() - started
    except TimeoutError:
        raise AssertionError(f"{method} {url} did not answer within {within} s") from None


async def wait_status(
    http: aiohttp.ClientSession, url: str, want: int, *, within: float, headers: dict[str, str]
) -> tuple[float, set[int]]:
    """Poll ``url`` until it answers ``want``; returns the time taken and the statuses seen."""
    started = time.monotonic()
    seen: set[int] = set()
    while True:
        try:
            status, _body, _ = await answer(http, "GET", url, within=5.0, headers=headers)
            seen.add(status)
            if status == want:
                return time.monotonic() - started, seen
        except (AssertionError, aiohttp.ClientError):
            seen.add(0)
        assert time.monotonic() - started < within, f"{url} never answered {want} (saw {sorted(seen)})"
        await asyncio.sleep(0.1)


@pytest.fixture
def workdir() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="revaer-embedded-", dir="/tmp"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
async def server(workdir: Path) -> AsyncIterator[EmbeddedServer]:
    s = EmbeddedServer(workdir / "data", "")
    try:
        await s.start(within=60)
        yield s
    finally:
        s.kill()
        # The embedded server outlives a killed Revaer (pg_ctl detaches it): stop it here.
        if postmaster_pid(s.pgdata) is not None:
            await asyncio.to_thread(EmbeddedPostgres(s.pgdata).stop, force=True)


async def test_killed_embedded_postgres_is_restarted(server: EmbeddedServer) -> None:
    async with aiohttp.ClientSession() as http:
        key = await claim(http, server)
        auth = {"Authorization": f"Bearer {key}"}
        status, body, _ = await answer(http, "GET", f"{server.url}/v1/config", headers=auth)
        assert status == 200, body
        pid = postmaster_pid(server.pgdata)
        assert pid is not None
        killed = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        # A backend may still answer for a moment: first the supervisor's restart, then a read.
        while postmaster_pid(server.pgdata) in (pid, None):
            assert time.monotonic() - killed < RECOVER_WITHIN, "the embedded server was not restarted"
            await asyncio.sleep(0.05)
        _, seen = await wait_status(http, f"{server.url}/v1/config", 200, within=RECOVER_WITHIN, headers=auth)
        took = time.monotonic() - killed
        # While it was away, reads answered 503 (or already 200), never a 500.
        assert seen <= {200, 503}, seen
        assert server.proc is not None
        assert server.proc.poll() is None, server.log_tail()
        print(f"\nembedded postmaster SIGKILLed: reads served again after {took:.2f} s (saw {sorted(seen)})")


async def test_frozen_embedded_postgres_health_answers_and_reads_503(server: EmbeddedServer) -> None:
    async with aiohttp.ClientSession() as http:
        key = await claim(http, server)
        auth = {"Authorization": f"Bearer {key}"}
        status, body, _ = await answer(http, "GET", f"{server.url}/v1/config", headers=auth)
        assert status == 200, body
        frozen = freeze(server.pgdata)
        try:
            status, body, health_took = await answer(http, "GET", f"{server.url}/v1/health")
            assert status == 503, body
            assert '"degraded"' in body, body
            status, body, read_took = await answer(http, "GET", f"{server.url}/v1/config", headers=auth)
            assert status == 503, body
            assert '"no_database"' in body, body
            # A key not verified yet needs the database: /api/v2 answers its plain-text 503.
            fresh = {"Authorization": f"Bearer rvr_{'0' * 16}_{'x' * 43}"}
            status, body, qb_took = await answer(
                http, "GET", f"{server.url}/api/v2/torrents/info", headers=fresh
            )
            assert status == 503, body
            assert body == "Service Unavailable", body
        finally:
            thaw(frozen)
        took, _ = await wait_status(http, f"{server.url}/v1/config", 200, within=RECOVER_WITHIN, headers=auth)
        status, body, _ = await answer(http, "GET", f"{server.url}/v1/health")
        assert status == 200, body
        print(
            f"\nembedded PostgreSQL frozen: health {health_took * 1000:.0f} ms, /v1 read "
            f"{read_took * 1000:.0f} ms, /api/v2 {qb_took * 1000:.0f} ms; after SIGCONT reads "
            f"served again in {took:.2f} s"
        )


async def test_embedded_postgres_that_cannot_restart_stops_the_server(server: EmbeddedServer) -> None:
    # The running server never rereads its config file; a restarted one refuses this line at once.
    with (server.pgdata / "postgresql.conf").open("a") as conf:
        conf.write("\nno_such_parameter = on\n")
    pid = postmaster_pid(server.pgdata)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    assert server.proc is not None
    started = time.monotonic()
    while server.proc.poll() is None:
        assert time.monotonic() - started < RECOVER_WITHIN + 20, (
            "the server kept running without its database"
        )
        await asyncio.sleep(0.1)
    took = time.monotonic() - started
    assert server.proc.returncode != 0
    tail = server.log_tail(5)
    assert "could not be restarted" in tail.splitlines()[-1], tail
    assert "FATAL" in tail.splitlines()[-1], tail  # the reason, quoted from the server's log
    print(
        f"\nembedded PostgreSQL could not be restarted: the server exited "
        f"{server.proc.returncode} after {took:.1f} s"
    )
