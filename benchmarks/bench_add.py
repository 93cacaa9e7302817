"""Adds per second through ``/api/v2/torrents/add``: one .torrent file per request, 8 concurrent clients.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python -m benchmarks.bench_add [--n 2000]

The real server (``python -m revaer serve``, the real engine) on 127.0.0.1 over a database of its
own on the server ``DATABASE_URL`` names (created, then dropped). Each answer ``Ok.`` means the
torrent's row is committed (group commit: concurrent adds share a transaction), so this is what an
acknowledged add costs. Prints the wall time and adds/s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path

import aiohttp
import asyncpg
from tests.conftest import with_database
from tests.e2e.server import LOOPBACK_CONFIG, ServerProcess, write_config
from tests.support.torrents import MadeTorrent, synthetic_torrent

from revaer.db.migrate import migrate_dsn

PASSWORD = "correct horse battery"


async def _client(url: str, torrents: list[MadeTorrent]) -> None:
    jar = aiohttp.CookieJar(unsafe=True)  # keep the SID cookie of an IP-address host
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        r = await http.post(f"{url}/api/v2/auth/login", data={"username": "admin", "password": PASSWORD})
        assert await r.text() == "Ok."
        for t in torrents:
            form = aiohttp.FormData()
            form.add_field(
                "torrents", t.data, filename=f"{t.name}.torrent", content_type="application/x-bittorrent"
            )
            form.add_field("paused", "true")
            async with http.post(f"{url}/api/v2/torrents/add", data=form) as r:
                body = await r.text()
                if body != "Ok.":
                    raise RuntimeError(f"add of {t.name}: {r.status} {body[:200]}")


async def _commits(admin: asyncpg.Connection, database: str) -> tuple[int, float]:
    """Transactions committed in ``database`` so far (the statistics lag by up to a second), and
    the CPU time of its backends (those connected now)."""
    await asyncio.sleep(1.0)
    await admin.execute("SELECT pg_stat_clear_snapshot()")
    n = await admin.fetchval("SELECT xact_commit FROM pg_stat_database WHERE datname = $1", database)
    pids = await admin.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
    cpu = 0.0
    for r in pids:
        with contextlib.suppress(OSError):
            cpu += _cpu_seconds(r["pid"])
    return int(n or 0), cpu


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(n: int, clients: int) -> float:
    server_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"revaer_bench_add_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    work = Path(tempfile.mkdtemp(prefix="revaer-bench-add-", dir="/tmp"))
    server = ServerProcess(work / "data", with_database(server_url, name))
    try:
        torrents = [synthetic_torrent(f"bench-add-{i:05d}", size=16 << 20) for i in range(n)]
        await migrate_dsn(server.database_url)
        await write_config(server.database_url, LOOPBACK_CONFIG)
        await server.start(within=60)
        token = (server.data_dir / "setup-token").read_text().strip()
        async with aiohttp.ClientSession() as http:
            r = await http.post(
                f"{server.url}/v1/setup/apply",
                json={"setup_token": token, "admin_username": "admin", "admin_password": PASSWORD},
            )
            assert r.status == 201, await r.text()
        assert server.proc is not None
        cpu0 = _cpu_seconds(server.proc.pid)
        commits0, db_cpu0 = await _commits(admin, name)
        start = time.perf_counter()
        await asyncio.gather(*(_client(server.url, torrents[i::clients]) for i in range(clients)))
        elapsed = time.perf_counter() - start
        cpu = _cpu_seconds(server.proc.pid) - cpu0
        commits, db_cpu = await _commits(admin, name)
        commits -= commits0
        print(
            f"{n} adds, {clients} clients: {elapsed:.2f} s, {n / elapsed:.0f} adds/s"
            f" (server CPU {cpu:.2f} s, {cpu / elapsed:.0%} of one core; database CPU"
            f" {db_cpu - db_cpu0:.2f} s; {commits} transactions, {n / max(commits, 1):.1f} adds each)"
        )
        return n / elapsed
    finally:
        server.kill()
        if not os.environ.get("KEEP"):
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(work)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--clients", type=int, default=8)
    args = p.parse_args()
    asyncio.run(run(args.n, args.clients))


if __name__ == "__main__":
    main()
