"""What a flood of credential checks costs everyone else: ``/v1/health`` latency while 300
``/v1/setup/apply`` (a fresh installation) or 300 wrong ``/api/v2/auth/login`` (from one address)
are in flight, against the same server idle, in the same run.

    python -m benchmarks.credential_flood
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
import asyncpg
from tests.e2e.server import LOOPBACK_CONFIG, ServerProcess, claim, write_config

from revaer.db.migrate import migrate_dsn

FLOOD = 300
PROBES = 40
DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


async def health_p50(http: aiohttp.ClientSession, url: str) -> float:
    times = []
    for _ in range(PROBES):
        t = time.perf_counter()
        async with http.get(f"{url}/v1/health") as r:
            await r.read()
        times.append(time.perf_counter() - t)
        await asyncio.sleep(0.01)
    return statistics.median(times)


async def _one(http: aiohttp.ClientSession, url: str, path: str, form: dict[str, str]) -> int:
    async with http.post(f"{url}{path}", data=form) as r:
        await r.read()
        return r.status


async def flood(http: aiohttp.ClientSession, url: str, path: str, **kwargs: object) -> dict[int, int]:
    async def one() -> int:
        async with http.post(f"{url}{path}", **kwargs) as r:  # type: ignore[arg-type]
            await r.read()
            return r.status

    statuses = await asyncio.gather(*(one() for _ in range(FLOOD)))
    return {s: statuses.count(s) for s in sorted(set(statuses))}


def _from(address: str) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0), limit=FLOOD + 10))


async def many_addresses(url: str, form: dict[str, str]) -> dict[int, int]:
    """5 guesses from each of ``FLOOD // 5`` addresses, all at once."""
    async with contextlib.AsyncExitStack() as stack:
        sessions = [await stack.enter_async_context(_from(f"127.0.1.{i}")) for i in range(1, FLOOD // 5 + 1)]
        calls = [_one(s, url, "/api/v2/auth/login", form) for s in sessions for _ in range(5)]
        statuses = await asyncio.gather(*calls)
    return {st: statuses.count(st) for st in sorted(set(statuses))}


async def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="flood-", dir="/tmp"))
    name = f"revaer_flood_{os.getpid()}"
    admin = await asyncpg.connect(DATABASE_URL)
    await admin.execute(f"CREATE DATABASE {name}")
    dsn = DATABASE_URL.rsplit("/", 1)[0] + f"/{name}"
    await migrate_dsn(dsn)
    await write_config(dsn, LOOPBACK_CONFIG)  # the engine on loopback only
    server = ServerProcess(root / "data", dsn)
    try:
        await server.start()
        connector = aiohttp.TCPConnector(limit=FLOOD + 10)
        async with aiohttp.ClientSession(connector=connector) as http:
            idle = await health_p50(http, server.url)
            body = {"setup_token": "0" * 32, "admin_username": "admin", "admin_password": "long enough"}
            task = asyncio.create_task(flood(http, server.url, "/v1/setup/apply", json=body))
            during = await health_p50(http, server.url)
            answers = await task
            print(f"/v1/health P50 idle: {idle * 1000:.1f} ms", flush=True)
            print(
                f"/v1/health P50 during {FLOOD} setup/apply: {during * 1000:.1f} ms "
                f"({during / idle:.1f}x idle); answers {answers}",
                flush=True,
            )
            # 127.0.0.1 is banned now (its wrong tokens): the owner claims from another address, after
            # the setup bucket's Retry-After, and the login flood comes from a third one.
            await asyncio.sleep(5)
            async with _from("127.0.0.2") as owner:
                await claim(owner, server)
            form = {"username": "admin", "password": "wrong"}
            async with _from("127.0.0.3") as attacker:
                task = asyncio.create_task(flood(attacker, server.url, "/api/v2/auth/login", data=form))
                during = await health_p50(http, server.url)
                answers = await task
            print(
                f"/v1/health P50 during {FLOOD} wrong logins from one address: {during * 1000:.1f} ms "
                f"({during / idle:.1f}x idle); answers {answers}",
                flush=True,
            )
            # Many addresses, 5 guesses each: the shared ceiling on password checks holds the CPU.
            spread = asyncio.create_task(many_addresses(server.url, form))
            during = await health_p50(http, server.url)
            answers = await spread
            print(
                f"/v1/health P50 during {FLOOD} wrong logins from {FLOOD // 5} addresses: "
                f"{during * 1000:.1f} ms "
                f"({during / idle:.1f}x idle); answers {answers}",
                flush=True,
            )
    finally:
        server.kill()
        await admin.execute(f"DROP DATABASE IF EXISTS {name}")
        await admin.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
