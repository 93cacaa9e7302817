"""A child process that downloads with the engine and saves resume data periodically.

Usage: python -m tests.engine.resume_child TORRENT_FILE SAVE_DIR RESUME_DIR SEEDER_PORT
It prints "saved <n>" after every resume write; the parent kills it with SIGKILL.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from revaer.engine.protocol import AddRequest, ResumeDataSaved
from revaer.engine.pump import EnginePump, PumpIntervals
from revaer.events import EventBus
from tests.support.engine import loopback_engine


def write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


async def main(torrent: bytes, save_dir: Path, resume_dir: Path, port: int) -> None:
    engine = loopback_engine()
    saves = 0

    def on_resume(ev: ResumeDataSaved) -> None:
        nonlocal saves
        write_atomically(resume_dir / f"{ev.info_hash}.resume", ev.data)
        saves += 1
        print(f"saved {saves}", flush=True)

    pump = EnginePump(
        engine, EventBus(), intervals=PumpIntervals(update=0.1, resume=0.3), on_resume=on_resume
    )
    await pump.start()
    h = engine.add(AddRequest(torrent=torrent, save_path=str(save_dir), download_limit=3_000_000))
    await asyncio.sleep(0.2)
    engine.connect_peer(h, "127.0.0.1", port)
    print("started", flush=True)
    await asyncio.sleep(120)  # killed long before


if __name__ == "__main__":
    a = sys.argv[1:]
    asyncio.run(main(Path(a[0]).read_bytes(), Path(a[1]), Path(a[2]), int(a[3])))
