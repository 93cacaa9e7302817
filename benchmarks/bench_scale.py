"""Revaer alone at scale: add N synthetic torrents, memory, stop, restart (issue rows of docs/performance.md).

    python -m benchmarks.bench_scale 10000          # the 10,000 rows
    python -m benchmarks.bench_scale 100000         # the 100,000 tier

The real server (``python -m revaer serve``) with its embedded PostgreSQL in a fresh data dir on
127.0.0.1, the engine on loopback only. It measures, in this order:

- add: N .torrent files through ``/api/v2/torrents/add``, 200 per request, 4 requests at a time;
  *answered* when the last ``Ok.`` arrived (each one means committed), *listed* when
  ``torrents/info`` lists all N;
- memory: RSS and PSS of the server and of its PostgreSQL (the postmaster and its children);
- stop: SIGTERM until the process has exited (resume data saved, database stopped);
- restart: the process started again until ``/v1/health`` answers (*API up*) and until
  ``torrents/info`` lists all N (*listed*), then memory again;
- the event loop's worst stall (``/v1/health``'s ``loop.worst_ms``) over the add and over the restart.

Prints one line per figure, and a Markdown table with ``--markdown``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from tests.e2e.server import LOOPBACK_CONFIG, free_port

from benchmarks.compare_qbittorrent import RevaerProcess, Side, make_torrents, wait_health

PER_REQUEST = 200
IN_FLIGHT = 4


def _proc_kib(pid: int, field: str, name: str) -> int:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/{name}") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{entry}/stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry))
    return out


def memory(server_pid: int, data_dir: Path) -> dict[str, float]:
    """RSS and PSS (MiB) of the server and of its embedded PostgreSQL's processes."""
    pg: list[int] = []
    with contextlib.suppress(OSError, ValueError):
        postmaster = int((data_dir / "pg" / "postmaster.pid").read_text().split("\n", 1)[0])
        pg = [postmaster, *_children(postmaster)]

    def total(pids: list[int], field: str, name: str) -> float:
        return sum(_proc_kib(p, field, name) for p in pids) / 1024

    return {
        "server_rss": total([server_pid], "VmRSS", "status"),
        "server_pss": total([server_pid], "Pss", "smaps_rollup"),
        "db_rss": total(pg, "VmRSS", "status"),
        "db_pss": total(pg, "Pss", "smaps_rollup"),
    }


async def listed(side: Side) -> int:
    with contextlib.suppress(aiohttp.ClientError, RuntimeError):
        _, body = await side.get("/api/v2/torrents/info")
        return len(orjson.loads(body))
    return -1


async def until_listed(side: Side, n: int, within: float = 900) -> None:
    deadline = time.monotonic() + within
    while await listed(side) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{n} torrents not listed within {within} s")
        await asyncio.sleep(0.05)


async def loop_worst_ms(side: Side) -> float:
    async with side.session.get(side.base + "/v1/health") as r:
        body: dict[str, Any] = await r.json()
    return float(body.get("loop", {}).get("worst_ms", -1.0))


async def add(side: Side, files: list[bytes], save: Path) -> float:
    """Every file added, ``PER_REQUEST`` per request, ``IN_FLIGHT`` requests at a time; seconds."""
    chunks = [files[i : i + PER_REQUEST] for i in range(0, len(files), PER_REQUEST)]
    queue: asyncio.Queue[list[bytes]] = asyncio.Queue()
    for c in chunks:
        queue.put_nowait(c)

    async def client() -> None:
        while not queue.empty():
            chunk = queue.get_nowait()
            form = aiohttp.FormData()
            for j, data in enumerate(chunk):
                form.add_field(
                    "torrents", data, filename=f"{j}.torrent", content_type="application/x-bittorrent"
                )
            form.add_field("savepath", str(save))
            form.add_field("paused", "true")
            body = await side.post("/api/v2/torrents/add", form)
            if body.strip() != b"Ok.":
                raise RuntimeError(f"add: {body[:200]!r}")

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(IN_FLIGHT)))
    return time.perf_counter() - t0


async def start(root: Path, module: str = "revaer") -> tuple[RevaerProcess, Side]:
    """A fresh server (its embedded PostgreSQL in the data dir), set up, the engine on loopback only."""
    rp = RevaerProcess(root / "revaer", free_port(), module=module)
    rp.data_dir.mkdir(parents=True)
    await asyncio.to_thread(rp.start)
    base = f"http://127.0.0.1:{rp.port}"
    await wait_health(base)
    token = (rp.data_dir / "setup-token").read_text().strip()
    async with (
        aiohttp.ClientSession() as s,
        s.post(
            base + "/v1/setup/apply",
            json={"setup_token": token, "admin_username": "admin", "admin_password": "bench-scale"},
        ) as r,
    ):
        rp.key = (await r.json())["api_key"]
    headers = {"Authorization": f"Bearer {rp.key}", "Accept-Encoding": "identity"}
    session = aiohttp.ClientSession(headers=headers)
    side = Side("Revaer", base, rp.proc.pid if rp.proc else 0, session)
    settings = {
        **LOOPBACK_CONFIG,
        "engine.listen_interfaces": f"127.0.0.1:{free_port()}",
        "paths.download_root": str(root / "revaer-downloads"),
    }
    async with session.patch(base + "/v1/config", json=settings) as r:
        if r.status >= 300:
            raise RuntimeError(f"config: {r.status} {await r.text()}")
    return rp, side


async def run(n: int) -> dict[str, float]:
    root = Path(tempfile.mkdtemp(prefix="revaer-scale-", dir="/tmp"))
    out: dict[str, float] = {}
    files = [t[0] for t in make_torrents(n)]
    rp, side = await start(root)
    try:
        t0 = time.perf_counter()
        out["add_answered"] = await add(side, files, root / "revaer-downloads")
        await until_listed(side, n)
        out["add_listed"] = time.perf_counter() - t0
        out["add_loop_worst_ms"] = await loop_worst_ms(side)
        await asyncio.sleep(5)  # the resume data of the adds written, as a user's server would be
        assert rp.proc is not None
        out |= {f"{k}_after_add": v for k, v in memory(rp.proc.pid, rp.data_dir).items()}
        t0 = time.perf_counter()
        await asyncio.to_thread(rp.stop)
        out["stop"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        await asyncio.to_thread(rp.start)
        await wait_health(side.base, within=600)
        out["restart_api_up"] = time.perf_counter() - t0
        await side.session.close()
        # A new process: its web sessions are gone, the API key stays valid.
        side.session = aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {rp.key}", "Accept-Encoding": "identity"}
        )
        await until_listed(side, n)
        out["restart_listed"] = time.perf_counter() - t0
        out["restart_loop_worst_ms"] = await loop_worst_ms(side)
        await asyncio.sleep(2)
        assert rp.proc is not None
        out |= {f"{k}_after_restart": v for k, v in memory(rp.proc.pid, rp.data_dir).items()}
    finally:
        await side.session.close()
        await asyncio.to_thread(rp.stop)
        if not os.environ.get("KEEP"):
            shutil.rmtree(root, ignore_errors=True)
    return out


def markdown(n: int, r: dict[str, float]) -> str:
    def mem(when: str) -> str:
        return (
            f"{r[f'server_rss_{when}']:.0f} + {r[f'db_rss_{when}']:.0f} MiB"
            f" (PSS {r[f'server_pss_{when}']:.0f} + {r[f'db_pss_{when}']:.0f})"
        )

    return "\n".join(
        [
            f"| N = {n:,} | Revaer |",
            "|---|---|",
            f"| add through `/api/v2/torrents/add`: answered / all listed | {r['add_answered']:.2f} s"
            f" / {r['add_listed']:.2f} s |",
            f"| restart: stop / API up / all listed | {r['stop']:.2f} s / {r['restart_api_up']:.2f} s"
            f" / {r['restart_listed']:.2f} s |",
            f"| RSS: server + embedded PostgreSQL, after the add | {mem('after_add')} |",
            f"| RSS: server + embedded PostgreSQL, after the restart | {mem('after_restart')} |",
            f"| event loop's worst stall: add / restart | {r['add_loop_worst_ms']:.0f} ms"
            f" / {r['restart_loop_worst_ms']:.0f} ms |",
        ]
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("n", type=int, nargs="?", default=10_000)
    p.add_argument("--markdown", action="store_true")
    args = p.parse_args()
    r = asyncio.run(run(args.n))
    for k, v in r.items():
        print(f"{k}: {v:.2f}")
    if args.markdown:
        print(markdown(args.n, r))


if __name__ == "__main__":
    main()
