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


async def add_all(side: Side, torrents: list[tuple[bytes, str, tuple[str, ...], bool]], save: Path) -> float:
    """Add through /api/v2/torrents/add, grouped by (category, tags, paused); time until all are listed."""
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
    await wait_listed(side, len(torrents))
    return time.perf_counter() - t0


async def wait_listed(side: Side, n: int, within: float = 600) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(aiohttp.ClientError, RuntimeError):
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


async def alternate(
    label: str,
    qb: Side,
    rv: Side,
    path: str,
    rounds: int,
    headers: dict[str, str] | None = None,
    target: str = "",
) -> Line:
    qt: list[float] = []
    rt: list[float] = []
    qb_bytes = rv_bytes = 0
    await qb.get(path, headers)
    await rv.get(path, headers)  # warm
    for _ in range(rounds):
        t, _ = await qb.get(path, headers)
        qt.append(t)
        qb_bytes = qb.wire
        t, _ = await rv.get(path, headers)
        rt.append(t)
        rv_bytes = rv.wire
    return Line(label, qt, rt, qb_bytes, rv_bytes, target)


async def after_changes(label: str, qb: Side, rv: Side, path: str, rounds: int) -> Line:
    """``path`` right after 100 torrents changed (a new upload limit): no response can be reused."""
    hashes: dict[str, str] = {}
    for side in (qb, rv):
        _, body = await side.get("/api/v2/torrents/info?limit=100")
        hashes[side.name] = "|".join(t["hash"] for t in orjson.loads(body))
    qt: list[float] = []
    rt: list[float] = []
    for k in range(rounds):
        for side, acc in ((qb, qt), (rv, rt)):
            await side.post(
                "/api/v2/torrents/setUploadLimit", {"hashes": hashes[side.name], "limit": str(2048 * (k + 1))}
            )
            await asyncio.sleep(0.05)
            t, _ = await side.get(path)
            acc.append(t)
    return Line(label, qt, rt, qb.wire, rv.wire)


async def sync_lines(qb: Side, rv: Side, rounds: int, n: int) -> list[Line]:
    lines = []
    lines.append(
        await alternate(
            "sync/maindata rid=0", qb, rv, "/api/v2/sync/maindata?rid=0", rounds, target="≤ 25 ms"
        )
    )

    async def rid(side: Side) -> int:
        _, body = await side.get("/api/v2/sync/maindata?rid=0")
        return int(orjson.loads(body)["rid"])

    # Nothing changed: ask with the rid just received, each round.
    qt: list[float] = []
    rt: list[float] = []
    qb_bytes = rv_bytes = 0
    for _ in range(rounds):
        for side, acc in ((qb, qt), (rv, rt)):
            r = await rid(side)
            t, body = await side.get(f"/api/v2/sync/maindata?rid={r}")
            acc.append(t)
            if side is qb:
                qb_bytes = len(body)
            else:
                rv_bytes = len(body)
    lines.append(Line("sync/maindata incremental, nothing changed", qt, rt, qb_bytes, rv_bytes, "≤ 1 ms"))

    # 100 torrents changed: a new upload limit on 100 of them between two syncs.
    hashes_by_side: dict[str, list[str]] = {}
    for side in (qb, rv):
        _, body = await side.get("/api/v2/torrents/info?limit=100")
        hashes_by_side[side.name] = [t["hash"] for t in orjson.loads(body)]
    qt, rt = [], []
    for k in range(min(rounds, 15)):
        for side, acc in ((qb, qt), (rv, rt)):
            r = await rid(side)
            await side.post(
                "/api/v2/torrents/setUploadLimit",
                {"hashes": "|".join(hashes_by_side[side.name]), "limit": str(1024 * (k + 1 + (side is rv)))},
            )
            await asyncio.sleep(1.6 if side is qb else 0.6)  # each side's refresh interval
            t, body = await side.get(f"/api/v2/sync/maindata?rid={r}")
            acc.append(t)
            changed = len(orjson.loads(body).get("torrents", {}))
            if side is qb:
                qb_bytes = len(body)
            else:
                rv_bytes = len(body)
            if changed < 100:
                print(f"  note: {side.name} reported {changed} changed torrents", file=sys.stderr)
    lines.append(
        Line("sync/maindata incremental, 100 torrents changed", qt, rt, qb_bytes, rv_bytes, "≤ 2 ms")
    )
    return lines


async def wrk(side: Side, path: str, seconds: int = 8) -> float | None:
    """Requests per second with 8 connections (wrk), or None without wrk."""
    binary = shutil.which("wrk")
    if binary is None:
        return None
    cookies = side.session.cookie_jar.filter_cookies(yarl.URL(side.base))
    header = "; ".join(f"{k}={v.value}" for k, v in cookies.items())
    argv = [binary, "-t2", "-c8", f"-d{seconds}s", side.base + path]
    if header:
        argv[1:1] = ["-H", f"Cookie: {header}"]
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
        lines.append(
            await alternate(
                f"torrents/info (all {51} keys), N={n}",
                qb,
                rv,
                "/api/v2/torrents/info",
                rounds,
                target="≤ 20 ms" if big else "≤ 3 ms",
            )
        )
        lines.append(
            await alternate(
                "torrents/info?category=tv",
                qb,
                rv,
                "/api/v2/torrents/info?category=tv",
                rounds,
                target="≤ 5 ms" if big else "",
            )
        )
        lines.append(
            await alternate(
                "torrents/info?sort=name&limit=50",
                qb,
                rv,
                "/api/v2/torrents/info?sort=name&limit=50",
                rounds,
                target="≤ 2 ms" if big else "",
            )
        )
        lines.append(
            await after_changes(
                "torrents/info right after 100 torrents changed",
                qb,
                rv,
                "/api/v2/torrents/info",
                min(rounds, 15),
            )
        )
        lines.append(
            await alternate(
                "torrents/info, Accept-Encoding: gzip",
                qb,
                rv,
                "/api/v2/torrents/info",
                rounds,
                headers={"Accept-Encoding": "gzip"},
                target="≤ 80 ms" if big else "",
            )
        )
        lines += await sync_lines(qb, rv, rounds, n)
        v1: list[float] = []
        for _ in range(rounds):
            t, body = await rv.get("/v1/torrents", headers={"Authorization": f"Bearer {rp.key}"})
            v1.append(t)
        lines.append(Line("GET /v1/torrents (first page)", [], v1, 0, len(body), "≤ 20 ms" if big else ""))
        extra["rss_qb"] = rss_mb(qb.pid)
        extra["rss_rv"] = rss_mb(rv.pid)
        if n <= 1000:
            extra["wrk_qb"] = await wrk(qb, "/api/v2/torrents/info")
            extra["wrk_rv"] = await wrk(rv, "/api/v2/torrents/info")
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


def table(n: int, lines: list[Line], extra: dict[str, Any]) -> str:
    rows = [
        f"### N = {n:,}",
        "",
        "| request | target | Revaer P50 | P95 | max | bytes | qBittorrent P50 | P95 | max | bytes | ratio (P50) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for ln in lines:
        rp50 = statistics.median(ln.rv)
        qp50 = statistics.median(ln.qb) if ln.qb else float("nan")
        ratio = f"{qp50 / rp50:.0f}×" if ln.qb and rp50 > 0 else "—"
        q = (
            f"{qp50:.1f} | {pct(ln.qb, 95):.1f} | {max(ln.qb):.1f} | {ln.qb_bytes:,}"
            if ln.qb
            else "— | — | — | —"
        )
        rows.append(
            f"| {ln.label} | {ln.target} | {rp50:.2f} | {pct(ln.rv, 95):.2f} | {max(ln.rv):.2f} | {ln.rv_bytes:,} | "
            f"{q} | {ratio} |"
        )
    rows.append(
        f"| add {n:,} torrents through /api/v2/torrents/add (s) | {'≤ 3 s' if n >= 10_000 else ''} | "
        f"{extra['add_rv']:.2f} | | | | {extra['add_qb']:.2f} | | | | {extra['add_qb'] / extra['add_rv']:.1f}× |"
    )
    rows.append(
        f"| RSS (MiB) | {'≤ 250 MB' if n >= 10_000 else ''} | {extra['rss_rv']:.0f} | | | | {extra['rss_qb']:.0f} | | | | |"
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
    if "sse" in extra:
        s = extra["sse"]
        rows.append(
            f"| SSE: a pause to 100 clients (ms) | P95 ≤ 20 ms | {statistics.median(s):.2f} | {pct(s, 95):.2f} | {max(s):.2f} | | | | | | |"
        )
    return "\n".join(rows)


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


async def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, nargs="+", default=[1000, 10_000])
    p.add_argument(
        "--rounds", type=int, default=0, help="requests per line (default: 30 at 1,000, 10 at 10,000)"
    )
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "performance.md")
    args = p.parse_args(argv)
    from revaer import _engine

    sections = []
    versions = ("", "")
    for n in args.n:
        root = Path(tempfile.mkdtemp(prefix=f"revaer-bench-{n}-", dir="/tmp"))
        try:
            lines, extra = await run_n(n, args.rounds or (30 if n <= 1000 else 10), root)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        versions = extra["versions"]
        section = table(n, lines, extra)
        print(section + "\n", flush=True)
        sections.append(section)
    doc = "\n".join(
        [
            "# Performance",
            "",
            "Written by `make bench` (`python -m benchmarks.compare_qbittorrent`); times in milliseconds unless",
            "marked; P50/P95/max over alternating keep-alive requests to both servers in one run; ratio =",
            "qBittorrent / Revaer.",
            "",
            f"- Date: {time.strftime('%Y-%m-%d %H:%M %Z')}",
            f"- Machine: {machine()}",
            f"- qBittorrent: qbittorrent-nox {versions[0]} (Debian); Revaer {versions[1]} identity, "
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
