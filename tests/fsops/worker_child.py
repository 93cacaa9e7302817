"""A worker process for the SIGKILL test.

``python -m tests.fsops.worker_child DB TORRENT DOWNLOADS LIBRARY SLOW``

Adds the torrent (as a restart re-adds it), plans it as completed, and runs
the due jobs. With SLOW > 0 every copied chunk takes that long, and the first
one prints ``copying`` so the parent knows when to kill.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from revaer.db.pool import create_pool
from revaer.engine.fake import FakeEngine
from revaer.engine.protocol import AddRequest
from revaer.engine.pump import EnginePump, PumpIntervals
from revaer.events import EventBus
from revaer.fsops import PostProcessor, WorkerHooks, WorkerOptions


async def main(db: str, torrent: bytes, downloads: str, library: str, slow: float) -> None:
    pool = await create_pool(db, min_size=1, max_size=2)
    engine = FakeEngine()
    bus = EventBus()
    pump = EnginePump(engine, bus, intervals=PumpIntervals(update=0.05))
    told = False

    def progress(n: int) -> None:
        nonlocal told
        if not told:
            print("copying", flush=True)
            told = True
        time.sleep(slow)

    worker = PostProcessor(
        pool,
        engine,
        bus,
        lambda: {"tv": f"{library}/tv/{{name}}"},
        node="node-a",
        options=WorkerOptions(reset_timeout=10.0),
        hooks=WorkerHooks(progress=progress if slow > 0 else None),
    )
    pump.listeners.append(worker.on_event)
    await pump.start()
    engine.add(AddRequest(torrent=torrent, save_path=downloads))
    h = engine.snapshot()[0].info_hash
    await worker.enqueue(h)
    await worker.run_until_idle()
    print("idle", flush=True)
    await pump.stop(1.0)
    await pool.close()


if __name__ == "__main__":
    db, torrent, downloads, library, slow = sys.argv[1:6]
    asyncio.run(main(db, Path(torrent).read_bytes(), downloads, library, float(slow)))
