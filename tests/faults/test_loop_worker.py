"""Post-processing asks the engine for a torrent's files off the event loop (real libtorrent, real
PostgreSQL).

To find the payload's top-level entry, the worker lists the torrent's files when it plans a job
(on completion, and for a requested move). ``files()`` waits for libtorrent's thread, long for a
torrent with many files: asked on the loop, it stalled every request for as long.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import asyncpg

from revaer.engine.protocol import AddRequest
from revaer.events import EventBus
from revaer.fsops import PostProcessor
from tests.faults.recording import RecordingEngine
from tests.fsops.conftest import add_torrent_row, make_payload
from tests.support.torrents import make_torrent


async def test_planning_a_job_lists_the_files_off_the_loop(pool: asyncpg.Pool, tmp_path: Path) -> None:
    downloads, library = tmp_path / "downloads", tmp_path / "library"
    name = "Show S01"
    t = make_torrent(make_payload(downloads, name, multi=True))
    engine = RecordingEngine()
    try:
        h = engine.add(AddRequest(torrent=t.data, save_path=str(downloads), paused=True))
        await add_torrent_row(pool, h, name=name, save_path=str(downloads), category="tv")
        rules = {"tv": f"{library}/tv/{{name}}"}
        worker = PostProcessor(pool, engine, EventBus(), lambda: rules, node="node-a")
        ev = await worker.enqueue(h)  # plans the completed torrent's move into the library
        assert ev is not None
        assert ev.sse()[0] == "fsjob.pending"
        await worker.enqueue_move(h, str(tmp_path / "elsewhere"))  # a client's new save path
    finally:
        await asyncio.to_thread(engine.shutdown, 5)
    assert engine.threads.get("files"), "the worker never listed the files"
    assert threading.get_ident() not in engine.threads["files"], "files() ran on the event loop"
