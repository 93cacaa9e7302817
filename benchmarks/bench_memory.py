"""Memory per torrent, split by part: the real server with N synthetic torrents (docs/performance-scale.md).

    python -m benchmarks.bench_memory 10000            # after the add and after a restart
    python -m benchmarks.bench_memory 10000 --trace    # + tracemalloc's top lines (slower, larger)

The server of ``benchmarks.bench_scale`` (its embedded PostgreSQL, the same N torrents through
``/api/v2/torrents/add``), run by ``benchmarks.memprobe``, which writes a profile on SIGUSR2: once
before the add (the empty server), once after it (and 5 s for the resume data), once after a restart.
Each figure is printed in MiB and in bytes per torrent over the empty server:

- server PSS / RSS, its anonymous memory, the embedded PostgreSQL's PSS (postmaster and children);
- glibc malloc: bytes in use (libtorrent, the extension's status table, Python objects > 512 B),
  bytes free (kept resident, or given back by a trim: the anonymous figure tells), the arenas;
- the rest of the anonymous memory: pymalloc's arenas (Python objects <= 512 B), thread stacks;
- Python: objects by type, and the revaer objects' containers by deep size (registry, service,
  façade caches).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from benchmarks.bench_scale import add, memory, start, until_listed
from benchmarks.compare_qbittorrent import RevaerProcess, make_torrents, wait_health

MIB = 1024 * 1024


def _mtime(path: Path) -> int:
    return path.stat().st_mtime_ns if path.exists() else 0


async def probe(rp: RevaerProcess, out: Path) -> dict[str, Any]:
    assert rp.proc is not None
    before = _mtime(out)
    rp.proc.send_signal(signal.SIGUSR2)
    deadline = time.monotonic() + 300
    while _mtime(out) in (0, before):
        if time.monotonic() > deadline:
            raise RuntimeError("no memory profile within 300 s")
        await asyncio.sleep(0.2)
    p: dict[str, Any] = orjson.loads(await asyncio.to_thread(out.read_bytes))
    p["procs"] = memory(rp.proc.pid, rp.data_dir)
    return p


def figures(p: dict[str, Any]) -> dict[str, float]:
    """Bytes of each part."""
    m, s = p["malloc"], p["smaps"]
    heap = sum(m["arena_sizes"]) + m["hblkhd"]
    return {
        "server PSS": p["procs"]["server_pss"] * MIB,
        "server RSS": p["procs"]["server_rss"] * MIB,
        "PostgreSQL PSS": p["procs"]["db_pss"] * MIB,
        "server anonymous": s.get("Anonymous", 0) * 1024,
        "malloc in use": m["uordblks"] + m["hblkhd"],
        "malloc free (resident or given back)": m["fordblks"],
        "anonymous outside malloc (pymalloc, stacks)": s.get("Anonymous", 0) * 1024 - heap,
        "Python traced (tracemalloc)": p["python"].get("traced", 0),
    }


def report(n: int, base: dict[str, Any], at: dict[str, Any], when: str) -> str:
    b, a = figures(base), figures(at)
    lines = [f"## {when}: N = {n:,}", "", "| part | MiB | bytes per torrent |", "|---|---:|---:|"]
    for k, v in a.items():
        lines.append(f"| {k} | {v / MIB:.1f} | {(v - b[k]) / n:,.0f} |")
    lines.append(f"| malloc arenas | {at['malloc']['arenas']} | |")
    lines += [
        "",
        "| holder (revaer object.attribute) | items | MiB | bytes per torrent |",
        "|---|---:|---:|---:|",
    ]
    for h in at["holders"][:15]:
        lines.append(
            f"| {h['owner']}.{h['attr']} | {h['len']:,} | {h['deep_bytes'] / MIB:.1f}"
            f" | {h['deep_bytes'] / n:,.0f} |"
        )
    counts = dict(base["python"]["by_type"])
    lines += ["", "| Python type (GC-tracked) | objects | per torrent |", "|---|---:|---:|"]
    for t, c in at["python"]["by_type"][:15]:
        lines.append(f"| {t} | {c:,} | {(c - counts.get(t, 0)) / n:.1f} |")
    if "top" in at["python"]:
        lines += ["", "| tracemalloc line | MiB | blocks |", "|---|---:|---:|"]
        for where, size, count in at["python"]["top"][:20]:
            lines.append(f"| {where} | {size / MIB:.1f} | {count:,} |")
    return "\n".join(lines)


async def run(n: int, trace: bool, restart: bool) -> None:
    root = Path(tempfile.mkdtemp(prefix="revaer-memory-", dir="/tmp"))
    out = root / "profile.json"
    os.environ["REVAER_MEMPROBE_OUT"] = str(out)
    os.environ["REVAER_MEMPROBE_TRACE"] = "1" if trace else "0"
    files = [t[0] for t in make_torrents(n)]
    rp, side = await start(root, module="benchmarks.memprobe")
    try:
        base = await probe(rp, out)
        await add(side, files, root / "revaer-downloads")
        await until_listed(side, n)
        await asyncio.sleep(5)  # the resume data of the adds written
        print(report(n, base, await probe(rp, out), "after the add"), flush=True)
        if restart:
            await asyncio.to_thread(rp.stop)
            await asyncio.to_thread(rp.start)
            await wait_health(side.base, within=600)
            await side.session.close()
            side.session = type(side.session)(
                headers={"Authorization": f"Bearer {rp.key}", "Accept-Encoding": "identity"}
            )
            await until_listed(side, n)
            await asyncio.sleep(2)
            print("\n" + report(n, base, await probe(rp, out), "after the restart"), flush=True)
    finally:
        await side.session.close()
        await asyncio.to_thread(rp.stop)
        if not os.environ.get("KEEP"):
            shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("n", type=int, nargs="?", default=10_000)
    p.add_argument("--trace", action="store_true", help="tracemalloc from the start (slower, larger)")
    p.add_argument("--no-restart", action="store_true")
    args = p.parse_args()
    asyncio.run(run(args.n, args.trace, not args.no_restart))


if __name__ == "__main__":
    main()
