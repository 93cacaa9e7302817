"""Revaer under concurrent clients: listings, health and SSE at once, for a bounded time.

    python -m benchmarks.load [--n 2000] [--clients 50] [--sse 100] [--seconds 60] [--think 0.5]

One Revaer process on 127.0.0.1 gets N synthetic torrents. Then, for ``--seconds``: ``--clients``
clients poll (half ``/api/v2/torrents/info`` on a web session, half ``/v1/torrents`` with the API key),
each waiting ``--think`` seconds between two of its requests (0: back to back); ``--sse`` clients hold
``/v1/events/stream`` open; a prober asks ``/v1/health`` every 50 ms; and every second 100 torrents get a
new upload limit, so listings are rebuilt and events flow while the clients poll. Prints, per request
kind, the count, the errors, P50/P95/P99/max latency (ms) and requests per second, and the events the
SSE clients received. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import orjson

from benchmarks.compare_qbittorrent import Side, add_all, make_torrents, pct, start_revaer


@dataclass
class Tally:
    """Latencies (ms) and errors of one request kind."""

    name: str
    times: list[float] = field(default_factory=list)
    errors: int = 0

    def row(self, seconds: float) -> str:
        t = self.times
        if not t:
            return f"| {self.name} | 0 | {self.errors} | — | — | — | — | — |"
        return (
            f"| {self.name} | {len(t):,} | {self.errors} | {pct(t, 50):.2f} | {pct(t, 95):.2f} | "
            f"{pct(t, 99):.2f} | {max(t):.2f} | {len(t) / seconds:.0f} |"
        )


@dataclass
class Result:
    n: int
    clients: int
    sse: int
    seconds: float
    think: float
    tallies: list[Tally]
    events: int

    def table(self) -> str:
        return "\n".join(
            [
                f"### Under load: N = {self.n:,}, {self.clients} polling clients (think {self.think:g} s), "
                f"{self.sse} SSE subscribers, {self.seconds:g} s",
                "",
                "| request | count | errors | P50 | P95 | P99 | max | req/s |",
                "|---|---|---|---|---|---|---|---|",
                *(t.row(self.seconds) for t in self.tallies),
                f"| SSE events received (all subscribers) | {self.events:,} | | | | | | |",
            ]
        )


async def _timed(session: aiohttp.ClientSession, url: str, tally: Tally, headers: dict[str, str]) -> None:
    t0 = time.perf_counter()
    try:
        async with session.get(url, headers=headers) as r:
            await r.read()
            ok = r.status == 200
    except (aiohttp.ClientError, TimeoutError):
        ok = False
    if ok:
        tally.times.append((time.perf_counter() - t0) * 1000)
    else:
        tally.errors += 1


async def _poller(
    session: aiohttp.ClientSession,
    url: str,
    tally: Tally,
    headers: dict[str, str],
    until: float,
    think: float,
) -> None:
    while time.monotonic() < until:
        await _timed(session, url, tally, headers)
        if think > 0:
            await asyncio.sleep(think)


async def _subscriber(
    session: aiohttp.ClientSession, url: str, ready: asyncio.Semaphore, got: list[int]
) -> None:
    with contextlib.suppress(aiohttp.ClientError, asyncio.CancelledError):
        async with session.get(url) as r:
            ready.release()
            async for line in r.content:
                if line.startswith(b"event:"):
                    got[0] += 1


async def _changer(rv: Side, hashes: str, until: float) -> None:
    k = 0
    while time.monotonic() < until:
        k += 1
        with contextlib.suppress(aiohttp.ClientError, RuntimeError):
            await rv.post("/api/v2/torrents/setUploadLimit", {"hashes": hashes, "limit": str(1024 * k)})
        await asyncio.sleep(1)


async def under_load(
    rv: Side, key: str, *, n: int, clients: int = 50, sse: int = 100, seconds: float = 60, think: float = 0.5
) -> Result:
    """The load of this module against a running Revaer (``rv``: a logged-in web session) with N torrents."""
    bearer = {"Authorization": f"Bearer {key}"}
    info, v1, health = Tally("torrents/info (all keys)"), Tally("GET /v1/torrents"), Tally("GET /v1/health")
    _, body = await rv.get("/api/v2/torrents/info?limit=100")
    hashes = "|".join(t["hash"] for t in orjson.loads(body))
    # One connection per client, as separate clients would have.
    qb_http = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0),
        cookie_jar=rv.session.cookie_jar,
        headers={"Accept-Encoding": "identity"},
    )
    v1_http = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), headers={"Accept-Encoding": "identity"}
    )
    sse_http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), headers=bearer)
    got = [0]
    ready = asyncio.Semaphore(0)
    subscribers = [
        asyncio.create_task(_subscriber(sse_http, rv.base + "/v1/events/stream", ready, got))
        for _ in range(sse)
    ]
    try:
        for _ in range(sse):
            await asyncio.wait_for(ready.acquire(), 30)
        until = time.monotonic() + seconds
        tasks = [asyncio.create_task(_changer(rv, hashes, until))]
        for i in range(clients):
            if i % 2 == 0:
                tasks.append(
                    asyncio.create_task(
                        _poller(qb_http, rv.base + "/api/v2/torrents/info", info, {}, until, think)
                    )
                )
            else:
                tasks.append(
                    asyncio.create_task(_poller(v1_http, rv.base + "/v1/torrents", v1, bearer, until, think))
                )
        tasks.append(asyncio.create_task(_poller(v1_http, rv.base + "/v1/health", health, {}, until, 0.05)))
        await asyncio.gather(*tasks)
    finally:
        for task in subscribers:
            task.cancel()
        await asyncio.gather(*subscribers, return_exceptions=True)
        for s in (qb_http, v1_http, sse_http):
            await s.close()
    return Result(n, clients, sse, seconds, think, [info, v1, health], got[0])


async def run_load(
    *, n: int = 2000, clients: int = 50, sse: int = 100, seconds: float = 60, think: float = 0.5
) -> Result:
    """A fresh Revaer with N torrents under the load of this module."""
    root = Path(tempfile.mkdtemp(prefix="revaer-load-", dir="/tmp"))
    try:
        rp, rv = await start_revaer(root)
        try:
            await add_all(rv, make_torrents(n), root / "revaer-downloads")
            return await under_load(rv, rp.key, n=n, clients=clients, sse=sse, seconds=seconds, think=think)
        finally:
            await rv.session.close()
            await asyncio.to_thread(rp.stop)
    finally:
        shutil.rmtree(root, ignore_errors=True)


async def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--sse", type=int, default=100)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--think", type=float, default=0.5, help="seconds a client waits between two requests")
    args = p.parse_args(argv)
    result = await run_load(
        n=args.n, clients=args.clients, sse=args.sse, seconds=args.seconds, think=args.think
    )
    print(result.table())
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
