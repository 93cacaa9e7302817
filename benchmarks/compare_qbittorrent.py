"""Side by side: Debian's qbittorrent-nox and Revaer, the same torrents, the same requests, one run.

    python -m benchmarks.compare_qbittorrent [--n 1000 10000] [--rounds 30] [--out docs/performance.md]

Both servers run on 127.0.0.1 and get the same N synthetic torrents through ``/api/v2/torrents/add``
(most paused, a few started; some multi-file, some with trackers on refusing 127.0.0.1 ports, a few
private; 4 categories, 3 tags). Then the same requests go to both, alternating, over keep-alive
connections; each line prints P50, P95, max, the response size and the ratio qBittorrent/Revaer, and each
process's RSS. The table is written to ``docs/performance.md`` with the date, the machine and the versions,
so the numbers in the docs are always ones this harness produced.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import yarl
from tests.support.qbittorrent import QBittorrent, free_port
from tests.support.torrents import synthetic_torrent

ROOT = Path(__file__).resolve().parents[1]
CATEGORIES = ("tv", "movies", "music", "books")
TAGS = ("hd", "new", "keep")


@dataclass
class Side:
    name: str
    base: str  # http://127.0.0.1:port
    pid: int
    session: aiohttp.ClientSession
    version: str = ""
    wire: int = 0
    results: dict[str, list[float]] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)

    async def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[float, bytes]:
        t0 = time.perf_counter()
        async with self.session.get(self.base + path, headers=headers) as r:
            body = await r.read()
            if r.status != 200:
                raise RuntimeError(f"{self.name} {path}: {r.status} {body[:200]!r}")
            self.wire = int(r.headers.get("Content-Length", len(body)))  # compressed size when gzipped
        return (time.perf_counter() - t0) * 1000, body

    async def post(self, path: str, data: Any) -> bytes:
        async with self.session.post(self.base + path, data=data) as r:
            body = await r.read()
            if r.status != 200:
                raise RuntimeError(f"{self.name} {path}: {r.status} {body[:200]!r}")
            return body


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def make_torrents(n: int) -> list[tuple[bytes, str, tuple[str, ...], bool]]:
    """(torrent, category, tags, paused) for N synthetic torrents, deterministic in shape."""
    out = []
    refused = [f"http://127.0.0.1:{p}/announce" for p in (9, 19)]
    for i in range(n):
        t = synthetic_torrent(
            f"bench-{i:05d} Some.Show.S{i % 30:02d}E{i % 24:02d}.1080p",
            size=(i % 50 + 1) * 64 * 1024 * 1024,
            piece_length=4 * 1024 * 1024,
            files=3 if i % 10 == 0 else 1,
            trackers=refused if i % 10 == 3 else (),
            private=i % 500 == 7,
        )
        tags = tuple(TAGS[j] for j in range(3) if (i >> j) & 1)
        out.append((t.data, CATEGORIES[i % 4], tags, i % 100 != 0))
    return out


async def add_all(
    side: Side,
    torrents: list[tuple[bytes, str, tuple[str, ...], bool]],
    save: Path,
    within: float = 600,
    *,
    count: bool = False,
    answered: list[float] | None = None,
) -> float:
    """Add through /api/v2/torrents/add, grouped by (category, tags, paused); time until all are listed
    (and into ``answered``, the time until the last add was answered)."""
    t0 = time.perf_counter()
    groups: dict[tuple[str, tuple[str, ...], bool], list[bytes]] = {}
    for data, cat, tags, paused in torrents:
        groups.setdefault((cat, tags, paused), []).append(data)
    for (cat, tags, paused), files in groups.items():
        for start in range(0, len(files), 200):
            form = aiohttp.FormData()
            for j, data in enumerate(files[start : start + 200]):
                form.add_field(
                    "torrents", data, filename=f"{j}.torrent", content_type="application/x-bittorrent"
                )
            form.add_field("savepath", str(save / cat))
            form.add_field("category", cat)
            form.add_field("tags", ",".join(tags))
            form.add_field("paused", "true" if paused else "false")
            form.add_field("autoTMM", "false")
            body = await side.post("/api/v2/torrents/add", form)
            if body.strip() != b"Ok.":
                raise RuntimeError(f"{side.name} add: {body[:200]!r}")
    if answered is not None:
        answered.append(time.perf_counter() - t0)
    await wait_listed(side, len(torrents), within, count=count)
    return time.perf_counter() - t0


async def wait_listed(side: Side, n: int, within: float = 600, *, count: bool = False) -> None:
    """Until ``n`` torrents are listed (``count``: asked of torrents/count, WebAPI 2.9.0, rather than
    a whole listing every 0.1 s: at 100,000 torrents that is 130 MB a poll)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(aiohttp.ClientError, RuntimeError, ValueError):
            if count:
                _, body = await side.get("/api/v2/torrents/count")
                if int(body) >= n:
                    return
            else:
                _, body = await side.get("/api/v2/torrents/info")
                if len(orjson.loads(body)) >= n:
                    return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{side.name}: {n} torrents not listed within {within} s")


# ---- the two servers ----------------------------------------------------------------------------


async def start_qbittorrent(root: Path) -> tuple[QBittorrent, Side]:
    qb = await asyncio.to_thread(QBittorrent, root, refresh_ms=1500)
    assert qb.proc is not None
    base = f"http://127.0.0.1:{qb.webui_port}"
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=16),
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        headers={"Accept-Encoding": "identity"},  # plain JSON unless a line asks for gzip
    )
    return qb, Side("qBittorrent", base, qb.proc.pid, session, version=qb.version)


@dataclass
class RevaerProcess:
    data_dir: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None
    key: str = ""

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env["REVAER_DATA_DIR"] = str(self.data_dir)
        return env

    def cli(self, *argv: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "revaer", *argv, "--data-dir", str(self.data_dir)],
            check=True,
            cwd=ROOT,
            env=self.env(),
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        log = (self.data_dir / "server.log").open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "revaer",
                "serve",
                "--data-dir",
                str(self.data_dir),
                "--bind",
                f"127.0.0.1:{self.port}",
            ],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None


async def wait_health(base: str, within: float = 120) -> None:
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as s:
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError):
                async with s.get(base + "/v1/health") as r:
                    if r.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError("Revaer did not become healthy")


async def start_revaer(root: Path) -> tuple[RevaerProcess, Side]:
    rp = RevaerProcess(root / "revaer", free_port())
    rp.data_dir.mkdir(parents=True)
    # The engine on loopback only, like the qBittorrent beside it; written before the first start.
    settings = {
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "enable_incoming_utp": False,
        "enable_outgoing_utp": False,
    }
    # The CLI writes settings only into a database a server made: a first start makes it.
    await asyncio.to_thread(rp.start)
    try:
        await wait_health(f"http://127.0.0.1:{rp.port}")
    finally:
        await asyncio.to_thread(rp.stop)
    rp.cli("config", "set", "engine.listen_interfaces", orjson.dumps(f"127.0.0.1:{free_port()}").decode())
    rp.cli("config", "set", "engine.dht", "false")
    rp.cli("config", "set", "engine.settings", orjson.dumps(settings).decode())
    rp.cli("config", "set", "paths.download_root", orjson.dumps(str(root / "revaer-downloads")).decode())
    await asyncio.to_thread(rp.start)
    base = f"http://127.0.0.1:{rp.port}"
    try:
        await wait_health(base)
    except BaseException:
        rp.stop()
        raise
    token = (rp.data_dir / "setup-token").read_text().strip()
    password = secrets.token_hex(8)
    async with (
        aiohttp.ClientSession() as s,
        s.post(
            base + "/v1/setup/apply",
            json={"setup_token": token, "admin_username": "admin", "admin_password": password},
        ) as r,
    ):
        rp.key = (await r.json())["api_key"]
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=16),
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        headers={"Accept-Encoding": "identity"},  # plain JSON unless a line asks for gzip
    )
    async with session.post(
        base + "/api/v2/auth/login", data={"username": "admin", "password": password}
    ) as r:
        if (await r.text()) != "Ok.":
            raise RuntimeError("login to Revaer's /api/v2 failed")
    assert rp.proc is not None
    side = Side("Revaer", base, rp.proc.pid, session)
    _, v = await side.get("/api/v2/app/version")
    side.version = v.decode()
    return rp, side


# ---- measurements -------------------------------------------------------------------------------


@dataclass
class Line:
    label: str
    qb: list[float]
    rv: list[float]
    qb_bytes: int
    rv_bytes: int
    target: str = ""


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def _sides(qb: Side | None, rv: Side) -> list[tuple[Side, list[float]]]:
    """Each side with the list its times go to (qBittorrent first; None: Revaer alone)."""
    return [(side, []) for side in (qb, rv) if side is not None]


def _line(label: str, timed: list[tuple[Side, list[float]]], sizes: dict[str, int], target: str = "") -> Line:
    by = {side.name: times for side, times in timed}
    return Line(
        label, by.get("qBittorrent", []), by["Revaer"], sizes.get("qBittorrent", 0), sizes["Revaer"], target
    )


async def alternate(
    label: str,
    qb: Side | None,
    rv: Side,
    path: str,
    rounds: int,
    headers: dict[str, str] | None = None,
    target: str = "",
) -> Line:
    timed = _sides(qb, rv)
    sizes: dict[str, int] = {}
    for side, _ in timed:
        await side.get(path, headers)  # warm
    for _ in range(rounds):
        for side, times in timed:
            t, _ = await side.get(path, headers)
            times.append(t)
            sizes[side.name] = side.wire
    return _line(label, timed, sizes, target)


async def _first_hashes(side: Side, n: int = 100) -> str:
    _, body = await side.get(f"/api/v2/torrents/info?limit={n}")
    return "|".join(t["hash"] for t in orjson.loads(body))


async def after_changes(label: str, qb: Side | None, rv: Side, path: str, rounds: int) -> Line:
    """``path`` right after 100 torrents changed (a new upload limit): no response can be reused."""
    timed = _sides(qb, rv)
    hashes = {side.name: await _first_hashes(side) for side, _ in timed}
    for k in range(rounds):
        for side, times in timed:
            await side.post(
                "/api/v2/torrents/setUploadLimit", {"hashes": hashes[side.name], "limit": str(2048 * (k + 1))}
            )
            await asyncio.sleep(0.05)
            t, _ = await side.get(path)
            times.append(t)
    return _line(label, timed, {side.name: side.wire for side, _ in timed})


# The targets by tier (Revaer P50).
TARGETS: dict[int, dict[str, str]] = {
    1000: {"info": "≤ 3 ms", "rid0": "≤ 25 ms", "nothing": "≤ 1 ms", "changed": "≤ 2 ms"},
    10_000: {
        "info": "≤ 10 ms",
        "category": "≤ 5 ms",
        "sorted": "≤ 2 ms",
        "gzip": "≤ 80 ms",
        "rid0": "≤ 15 ms",
        "nothing": "≤ 0.5 ms",
        "changed": "≤ 2 ms",
        "v1": "≤ 20 ms",
    },
    100_000: {"info": "≤ 150 ms", "sorted": "≤ 3 ms", "nothing": "≤ 1 ms", "changed": "≤ 3 ms"},
}


def targets(n: int) -> defaultdict[str, str]:
    return defaultdict(str, TARGETS.get(n, {}))


async def sync_lines(qb: Side | None, rv: Side, rounds: int, n: int) -> list[Line]:
    target = targets(n)
    lines = [
        await alternate(
            "sync/maindata rid=0", qb, rv, "/api/v2/sync/maindata?rid=0", rounds, target=target["rid0"]
        )
    ]
    # Each incremental asks with the rid the side's last answer gave, as a polling client does.
    rids: dict[str, int] = {}
    sizes: dict[str, int] = {}

    async def sync(side: Side) -> tuple[float, dict[str, Any]]:
        t, body = await side.get(f"/api/v2/sync/maindata?rid={rids.get(side.name, 0)}")
        out: dict[str, Any] = orjson.loads(body)
        rids[side.name] = int(out["rid"])
        sizes[side.name] = len(body)
        return t, out

    timed = _sides(qb, rv)
    for side, _ in timed:
        await sync(side)
    for _ in range(rounds):  # nothing changed
        for side, times in timed:
            times.append((await sync(side))[0])
    lines.append(_line("sync/maindata incremental, nothing changed", timed, sizes, target["nothing"]))

    # 100 torrents changed: a new upload limit on 100 of them between two syncs.
    timed = _sides(qb, rv)
    hashes = {side.name: await _first_hashes(side) for side, _ in timed}
    for k in range(min(rounds, 15)):
        for side, times in timed:
            await side.post(
                "/api/v2/torrents/setUploadLimit",
                {"hashes": hashes[side.name], "limit": str(1024 * (k + 1 + (side is rv)))},
            )
            await asyncio.sleep(1.6 if side is qb else 0.6)  # each side's refresh interval
            t, out = await sync(side)
            times.append(t)
            changed = len(out.get("torrents", {}))
            if changed < 100:
                print(f"  note: {side.name} reported {changed} changed torrents", file=sys.stderr)
    lines.append(_line("sync/maindata incremental, 100 torrents changed", timed, sizes, target["changed"]))
    return lines


async def wrk(
    side: Side, path: str, seconds: int = 8, connections: int = 8, gzip: bool = False
) -> float | None:
    """Requests per second with ``connections`` connections (wrk), or None without wrk; ``gzip``: asking
    for compressed bodies, as most clients do."""
    binary = shutil.which("wrk")
    if binary is None:
        return None
    cookies = side.session.cookie_jar.filter_cookies(yarl.URL(side.base))
    header = "; ".join(f"{k}={v.value}" for k, v in cookies.items())
    argv = [binary, "-t2", f"-c{connections}", f"-d{seconds}s", side.base + path]
    if header:
        argv[1:1] = ["-H", f"Cookie: {header}"]
    if gzip:
        argv[1:1] = ["-H", "Accept-Encoding: gzip"]
    out = await asyncio.to_thread(subprocess.run, argv, capture_output=True, text=True, check=False)
    m = re.search(r"Requests/sec:\s+([\d.]+)", out.stdout)
    return float(m.group(1)) if m else None


async def sse_latency(rv: Side, key: str, clients: int = 100, rounds: int = 20) -> list[float]:
    """A pause through the API to the torrent.state event at every one of ``clients`` SSE clients (ms)."""
    _, body = await rv.get("/api/v2/torrents/info?filter=paused&limit=1")
    h = orjson.loads(body)[0]["hash"]
    headers = {"Authorization": f"Bearer {key}"}
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), headers=headers)
    arrivals: list[asyncio.Queue[float]] = [asyncio.Queue() for _ in range(clients)]
    ready = asyncio.Semaphore(0)

    async def client(q: asyncio.Queue[float]) -> None:
        async with session.get(rv.base + f"/v1/events/stream?types=torrent.state&hash={h}") as r:
            ready.release()
            async for line in r.content:
                if line.startswith(b"event: torrent.state"):
                    q.put_nowait(time.perf_counter())

    tasks = [asyncio.create_task(client(q)) for q in arrivals]
    for _ in range(clients):
        await asyncio.wait_for(ready.acquire(), 30)
    latencies: list[float] = []
    try:
        for i in range(rounds):
            action = "resume" if i % 2 == 0 else "pause"
            t0 = time.perf_counter()
            await rv.session.post(rv.base + f"/v1/torrents/{h}/{action}", headers=headers)
            for q in arrivals:
                t = await asyncio.wait_for(q.get(), 10)
                latencies.append((t - t0) * 1000)
            await asyncio.sleep(0.2)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await session.close()
    return latencies


async def listing_lines(qb: Side | None, rv: Side, rounds: int, n: int, key: str) -> list[Line]:
    """Every listing line at N torrents (``qb`` None: Revaer alone)."""
    target = targets(n)
    lines = [
        await alternate(
            f"torrents/info (all {51} keys), N={n}",
            qb,
            rv,
            "/api/v2/torrents/info",
            rounds,
            target=target["info"],
        ),
        await alternate(
            "torrents/info?category=tv",
            qb,
            rv,
            "/api/v2/torrents/info?category=tv",
            rounds,
            target=target["category"],
        ),
        await alternate(
            "torrents/info?sort=name&limit=50",
            qb,
            rv,
            "/api/v2/torrents/info?sort=name&limit=50",
            rounds,
            target=target["sorted"],
        ),
        await after_changes(
            "torrents/info right after 100 torrents changed", qb, rv, "/api/v2/torrents/info", min(rounds, 15)
        ),
        await alternate(
            "torrents/info, Accept-Encoding: gzip",
            qb,
            rv,
            "/api/v2/torrents/info",
            rounds,
            headers={"Accept-Encoding": "gzip"},
            target=target["gzip"],
        ),
        *await sync_lines(qb, rv, rounds, n),
    ]
    v1: list[float] = []
    for _ in range(rounds):
        t, body = await rv.get("/v1/torrents", headers={"Authorization": f"Bearer {key}"})
        v1.append(t)
    lines.append(Line("GET /v1/torrents (first page)", [], v1, 0, len(body), target["v1"]))
    return lines


async def run_n(n: int, rounds: int, root: Path) -> tuple[list[Line], dict[str, Any]]:
    torrents = make_torrents(n)
    extra: dict[str, Any] = {}
    qb_proc, qb = await start_qbittorrent(root / f"qb-{n}")
    rp, rv = await start_revaer(root)
    lines: list[Line] = []
    try:
        extra["add_qb"] = await add_all(qb, torrents, root / "qb-save")
        extra["rss_rv_before"] = rss_mb(rv.pid)
        extra["add_rv"] = await add_all(rv, torrents, root / "revaer-downloads")  # inside its download root
        await asyncio.sleep(3)  # let both settle (checking, first refresh)
        big = n >= 10_000
        lines = await listing_lines(qb, rv, rounds, n, rp.key)
        extra["rss_qb"] = rss_mb(qb.pid)
        extra["rss_rv"] = rss_mb(rv.pid)
        if n <= 1000:
            extra["wrk_qb"] = await wrk(qb, "/api/v2/torrents/info")
            extra["wrk_rv"] = await wrk(rv, "/api/v2/torrents/info")
            extra["wrk50_rv"] = await wrk(rv, "/api/v2/torrents/info", connections=50)
            extra["wrk50gz_rv"] = await wrk(rv, "/api/v2/torrents/info", connections=50, gzip=True)
        if big:
            extra["sse"] = await sse_latency(rv, rp.key)
            # Restart until every torrent is listed again.
            await asyncio.to_thread(rp.stop)
            t0 = time.perf_counter()
            await asyncio.to_thread(rp.start)
            await wait_health(rv.base)
            await rv.session.close()
            # A new process: its web sessions are gone, the API key stays valid.
            rv.session = aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {rp.key}", "Accept-Encoding": "identity"}
            )
            await wait_listed(rv, n)
            extra["restart_rv"] = time.perf_counter() - t0
    finally:
        await qb.session.close()
        await rv.session.close()
        await asyncio.to_thread(qb_proc.close)
        await asyncio.to_thread(rp.stop)
    extra["versions"] = (qb.version, rv.version)
    return lines, extra


# qBittorrent's listing time grows with N: about 0.11 ms per torrent per call (its measured figures
# at 10,000 in earlier runs); the Revaer-alone tier shows that figure times N, marked as extrapolated.
QB_MS_PER_TORRENT = 0.11


async def run_alone(n: int, rounds: int, root: Path) -> tuple[list[Line], dict[str, Any]]:
    """Revaer alone at N torrents (qBittorrent's WebUI does not answer usefully there)."""
    extra: dict[str, Any] = {}
    rp, rv = await start_revaer(root)
    try:
        extra["add_rv"] = await add_all(
            rv, make_torrents(n), root / "revaer-downloads", within=1800, count=True
        )
        await asyncio.sleep(3)
        lines = await listing_lines(None, rv, rounds, n, rp.key)
        extra["rss_rv"] = rss_mb(rv.pid)
    finally:
        await rv.session.close()
        await asyncio.to_thread(rp.stop)
    return lines, extra


def table(
    n: int, lines: list[Line], extra: dict[str, Any], per_torrent: dict[str, float] | None = None
) -> str:
    """The section of N; ``per_torrent`` (label -> qBittorrent ms per torrent): Revaer alone, qBittorrent
    extrapolated."""
    alone = per_torrent is not None
    rows = [
        f"### N = {n:,}" + (" (Revaer alone; qBittorrent extrapolated, marked ~)" if alone else ""),
        "",
        "| request | target | Revaer P50 | P95 | max | bytes | qBittorrent P50 | P95 | max | bytes | ratio (P50) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for ln in lines:
        rp50 = statistics.median(ln.rv)
        if per_torrent is not None and not ln.label.startswith("GET /v1"):
            guess = per_torrent.get(_unsized(ln.label), QB_MS_PER_TORRENT) * n
            q, ratio = f"~{guess:,.0f} | | | ", f"~{guess / rp50:.0f}×"
        elif ln.qb:
            qp50 = statistics.median(ln.qb)
            q = f"{qp50:.1f} | {pct(ln.qb, 95):.1f} | {max(ln.qb):.1f} | {ln.qb_bytes:,}"
            ratio = f"{qp50 / rp50:.0f}×" if rp50 > 0 else "—"
        else:
            q, ratio = "— | — | — | —", "—"
        rows.append(
            f"| {ln.label} | {ln.target} | {rp50:.2f} | {pct(ln.rv, 95):.2f} | {max(ln.rv):.2f} | {ln.rv_bytes:,} | "
            f"{q} | {ratio} |"
        )
    if "add_qb" in extra:
        rows.append(
            f"| add {n:,} torrents through /api/v2/torrents/add (s) | {'≤ 3 s' if n >= 10_000 else ''} | "
            f"{extra['add_rv']:.2f} | | | | {extra['add_qb']:.2f} | | | | {extra['add_qb'] / extra['add_rv']:.1f}× |"
        )
    else:
        rows.append(
            f"| add {n:,} torrents through /api/v2/torrents/add (s) | | {extra['add_rv']:.2f} | | | | | | | | |"
        )
    qb_rss = f"{extra['rss_qb']:.0f}" if "rss_qb" in extra else ""
    rows.append(
        f"| RSS (MiB) | {'≤ 250 MB' if n == 10_000 else ''} | {extra['rss_rv']:.0f} | | | | {qb_rss} | | | | |"
    )
    if "restart_rv" in extra:
        rows.append(
            f"| restart until all {n:,} are listed (s) | ≤ 3 s | {extra['restart_rv']:.2f} | | | | | | | | |"
        )
    if extra.get("wrk_rv") is not None and extra.get("wrk_qb") is not None:
        rows.append(
            f"| 8 connections (wrk), torrents/info, req/s | ≥ 400 | {extra['wrk_rv']:.0f} | | | | "
            f"{extra['wrk_qb']:.1f} | | | | {extra['wrk_rv'] / max(extra['wrk_qb'], 0.01):.0f}× |"
        )
    if extra.get("wrk50_rv") is not None:
        rows.append(
            f"| 50 connections (wrk), torrents/info, req/s | ≥ 2,192 | {extra['wrk50_rv']:.0f} | | | | | | | | |"
        )
    if extra.get("wrk50gz_rv") is not None:
        rows.append(
            f"| 50 connections (wrk), torrents/info, gzip, req/s | | {extra['wrk50gz_rv']:.0f} | | | | | | | | |"
        )
    if "sse" in extra:
        s = extra["sse"]
        rows.append(
            f"| SSE: a pause to 100 clients (ms) | P95 ≤ 20 ms | {statistics.median(s):.2f} | {pct(s, 95):.2f} | {max(s):.2f} | | | | | | |"
        )
    return "\n".join(rows)


def per_torrent_of(n: int, lines: list[Line]) -> dict[str, float]:
    """qBittorrent's measured P50 per torrent (ms), by line label without its N."""
    return {_unsized(ln.label): statistics.median(ln.qb) / n for ln in lines if ln.qb}


def _unsized(label: str) -> str:
    return re.sub(r", N=\d+$", "", label)


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg()[0]  # other work on the machine moves every figure
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} cores, {cpu}, "
        f"Python {platform.python_version()}, load average {load:.1f} at the end"
    )


async def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, nargs="*", default=[1000, 10_000])
    p.add_argument("--alone", type=int, nargs="*", default=[100_000], help="tiers measured on Revaer alone")
    p.add_argument(
        "--rounds",
        type=int,
        default=0,
        help="requests per line (default: 30 at 1,000, 10 at 10,000 and more)",
    )
    p.add_argument("--load-seconds", type=float, default=30, help="the concurrency test's length (0: none)")
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.md")
    args = p.parse_args(argv)
    from benchmarks.load import run_load
    from revaer import _engine

    sections = []
    versions = ("", "")
    per_torrent: dict[str, float] = {}
    for n in args.n:
        root = Path(tempfile.mkdtemp(prefix=f"revaer-bench-{n}-", dir="/tmp"))
        try:
            lines, extra = await run_n(n, args.rounds or (30 if n <= 1000 else 10), root)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        versions = extra["versions"]
        per_torrent = per_torrent_of(n, lines) if n >= 10_000 or not per_torrent else per_torrent
        sections.append(table(n, lines, extra))
        print(sections[-1] + "\n", flush=True)
    for n in args.alone:
        root = Path(tempfile.mkdtemp(prefix=f"revaer-bench-{n}-", dir="/tmp"))
        try:
            lines, extra = await run_alone(n, args.rounds or 10, root)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        sections.append(table(n, lines, extra, per_torrent))
        print(sections[-1] + "\n", flush=True)
    if args.load_seconds > 0:
        sections.append((await run_load(seconds=args.load_seconds)).table())
        print(sections[-1] + "\n", flush=True)
    source = (
        "its figures per torrent at the largest N measured in this run"
        if per_torrent
        else f"{QB_MS_PER_TORRENT} ms per torrent per call"
    )
    doc = "\n".join(
        [
            "# Performance",
            "",
            "Written by `make bench` (`python -m benchmarks.compare_qbittorrent`); times in milliseconds unless",
            "marked; P50/P95/max over alternating keep-alive requests to both servers in one run; ratio =",
            "qBittorrent / Revaer. Incremental `sync/maindata` requests carry the rid of the answer before,",
            "as polling clients do. Tiers marked alone run Revaer only; qBittorrent's figures there are",
            f"extrapolated ({source}) and marked ~. The load section is `python -m benchmarks.load`.",
            "",
            f"- Date: {time.strftime('%Y-%m-%d %H:%M %Z')}",
            f"- Machine: {machine()}",
            f"- qBittorrent: qbittorrent-nox {versions[0] or '(not run)'} (Debian); Revaer v4.6.7 identity, "
            f"libtorrent {_engine.libtorrent_version()}",
            "",
            *[s + "\n" for s in sections],
        ]
    )
    args.out.write_text(doc)
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
