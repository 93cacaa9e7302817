"""Revaer alone, the add phase of ``compare_qbittorrent``: N synthetic .torrent files through
``/api/v2/torrents/add``, 200 per request, timed until all are answered and until all are listed,
and the event loop's worst stall meanwhile (``/v1/health``; ``own``: less the time the loop thread
waited for a core).

    python -m benchmarks.add_compare 10000

"All listed" asks for the N-th torrent only (``compare_qbittorrent.wait_listed``).
"""

import argparse
import asyncio
import shutil
import tempfile
from pathlib import Path

from benchmarks.compare_qbittorrent import add_all, make_torrents, start_revaer


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("n", type=int)
    args = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="addb-", dir="/tmp"))
    torrents = make_torrents(args.n)
    rp, rv = await start_revaer(root)
    try:
        t = await add_all(rv, torrents, root / "revaer-downloads", within=1800)
        async with rv.session.get(rv.base + "/v1/health") as r:
            loop = (await r.json()).get("loop", {})
        print(
            f"add {args.n} through /api/v2/torrents/add (200 per request):"
            f" answered {t.answered:.2f} s, all listed {t.listed:.2f} s; the event loop's worst stall"
            f" {loop.get('worst_ms', -1):.0f} ms ({loop.get('worst_own_ms', -1):.0f} ms of it its own)",
            flush=True,
        )
    finally:
        await rv.session.close()
        rp.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
