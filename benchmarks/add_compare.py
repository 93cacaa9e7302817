"""Revaer alone, the add phase of ``compare_qbittorrent``: N synthetic .torrent files through
``/api/v2/torrents/add``, 200 per request, timed until all are listed.

    python -m benchmarks.add_compare 10000
"""

import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.compare_qbittorrent import add_all, make_torrents, start_revaer


async def main() -> None:
    n = int(sys.argv[1])
    root = Path(tempfile.mkdtemp(prefix="addb-", dir="/tmp"))
    torrents = make_torrents(n)
    rp, rv = await start_revaer(root)
    try:
        t = await add_all(rv, torrents, root / "revaer-downloads")
        print(
            f"add {n} through /api/v2/torrents/add (200 per request): answered {t.answered:.2f} s,"
            f" all listed {t.listed:.2f} s",
            flush=True,
        )
    finally:
        await rv.session.close()
        rp.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
