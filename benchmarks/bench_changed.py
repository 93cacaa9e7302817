"""Revaer alone: the façade's polls after torrents changed, with more rounds than compare_qbittorrent.

    python -m benchmarks.bench_changed 10000 40      # N torrents, rounds

A fresh server (as ``benchmarks.compare_qbittorrent`` starts it) with N synthetic torrents (1 % of them
running, so their rows change on every status update). Each round sets a new upload limit on the first
100 torrents, waits 0.6 s (past the engine's status interval), then times ``sync/maindata`` at the
session's rid (*100 changed*) and once more right after (*nothing changed*); then ``torrents/info``
(every key, a fresh query each time) and ``sync/maindata?rid=0``. Prints P50 and min of each, in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import tempfile
from pathlib import Path

import orjson

from benchmarks.compare_qbittorrent import Side, _first_hashes, add_all, make_torrents, start_revaer


async def _sync(rv: Side, rid: int) -> tuple[float, int]:
    t, body = await rv.get(f"/api/v2/sync/maindata?rid={rid}")
    return t, int(orjson.loads(body)["rid"])


async def measure(n: int, rounds: int) -> dict[str, list[float]]:
    root = Path(tempfile.mkdtemp(prefix=f"revaer-bench-changed-{n}-", dir="/tmp"))
    rp, rv = await start_revaer(root)
    out: dict[str, list[float]] = {"100 changed": [], "nothing changed": [], "torrents/info": [], "rid=0": []}
    try:
        await add_all(rv, make_torrents(n), root / "revaer-downloads", within=1800)
        await asyncio.sleep(3)
        hashes = await _first_hashes(rv)
        _, rid = await _sync(rv, 0)
        for k in range(rounds):
            await rv.post("/api/v2/torrents/setUploadLimit", {"hashes": hashes, "limit": str(1024 * (k + 2))})
            await asyncio.sleep(0.6)
            t, rid = await _sync(rv, rid)
            out["100 changed"].append(t)
            t, rid = await _sync(rv, rid)
            out["nothing changed"].append(t)
        for k in range(max(1, rounds // 2)):
            out["torrents/info"].append((await rv.get(f"/api/v2/torrents/info?_n={k}"))[0])
            out["rid=0"].append((await _sync(rv, 0))[0])
    finally:
        await rv.session.close()
        await asyncio.to_thread(rp.stop)
        shutil.rmtree(root, ignore_errors=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("n", type=int, nargs="?", default=10_000)
    p.add_argument("rounds", type=int, nargs="?", default=40)
    args = p.parse_args()
    figures = asyncio.run(measure(args.n, args.rounds))
    cells = [f"{k} P50 {statistics.median(v):.2f} min {min(v):.2f}" for k, v in figures.items()]
    print(f"N={args.n:,}: " + " | ".join(cells) + " (ms)")


if __name__ == "__main__":
    main()
