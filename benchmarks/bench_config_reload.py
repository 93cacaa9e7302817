"""Hot-reload latency: a config write in one process, seen in a second process's cache.

Each sample: the parent writes ``api.cors_origins`` through the store (a
committed transaction); a child process running a ``ConfigListener`` prints the
version as soon as its cache holds it; the sample ends when the parent reads
that line. So a sample is write + commit + NOTIFY + cache update + a pipe hop.
Target: P95 <= 20 ms.

Runs on ``$DATABASE_URL`` (in a scratch database it creates and drops) or on an
embedded server in a temporary directory:

    .venv/bin/python benchmarks/bench_config_reload.py [--samples N]
    .venv/bin/python -m pytest benchmarks/bench_config_reload.py -s
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from revaer.config.listener import ConfigListener
from revaer.config.store import ConfigStore
from revaer.db.embedded import EmbeddedPostgres
from revaer.db.migrate import migrate_dsn
from revaer.db.pool import create_pool
from revaer.events import ConfigChanged, Envelope, EventBus

KEY = "api.cors_origins"
WARMUP = 20


@asynccontextmanager
async def scratch_database() -> AsyncIterator[str]:
    """A migrated database of its own, on $DATABASE_URL's server or an embedded one."""
    server_url = os.environ.get("DATABASE_URL")
    embedded: EmbeddedPostgres | None = None
    root: Path | None = None
    if not server_url:
        root = Path(tempfile.mkdtemp(prefix="revaer-bench-", dir="/tmp"))
        embedded = EmbeddedPostgres(root / "pg")
        await asyncio.to_thread(embedded.start)
        server_url = embedded.url
    name = f"revaer_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
        await migrate_dsn(url)
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)


async def child(dsn: str) -> None:
    """The second process: print each version of KEY as soon as the cache has it."""
    bus = EventBus()
    async with ConfigListener(dsn, bus=bus) as listener:
        sub = bus.subscribe()
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        async for item in sub:
            if isinstance(item, Envelope) and isinstance(item.event, ConfigChanged) and item.event.key == KEY:
                assert listener.version(KEY) >= item.event.version
                sys.stdout.write(f"{item.event.version}\n")
                sys.stdout.flush()


async def measure(dsn: str, samples: int) -> list[float]:
    """Latencies in milliseconds, warm-up excluded."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--child",
        dsn,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        if line != b"ready\n":
            raise RuntimeError(f"child did not start: {line!r}")
        store = ConfigStore(pool)
        out: list[float] = []
        for i in range(WARMUP + samples):
            start = time.perf_counter()
            version = await store.set(KEY, [f"https://h{i}.example"])
            while int(await asyncio.wait_for(proc.stdout.readline(), 30)) < version:
                pass
            if i >= WARMUP:
                out.append((time.perf_counter() - start) * 1000)
        return out
    finally:
        await pool.close()
        proc.terminate()
        await proc.wait()


def report(latencies: list[float]) -> dict[str, float]:
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    stats = {"p50": q[49], "p95": q[94], "max": max(latencies), "n": float(len(latencies))}
    print(
        f"config reload across processes: n={len(latencies)} "
        f"P50 {stats['p50']:.2f} ms  P95 {stats['p95']:.2f} ms  max {stats['max']:.2f} ms  "
        "(target P95 <= 20 ms)"
    )
    return stats


async def run(samples: int) -> dict[str, float]:
    async with scratch_database() as dsn:
        return report(await measure(dsn, samples))


def test_config_reload_latency() -> None:
    stats = asyncio.run(run(300))
    assert stats["n"] == 300


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--child", metavar="DSN", help=argparse.SUPPRESS)
    parser.add_argument("--samples", type=int, default=500)
    args = parser.parse_args()
    if args.child:
        asyncio.run(child(args.child))
    else:
        asyncio.run(run(args.samples))


if __name__ == "__main__":
    main()
