"""Asking the engine a question that waits for libtorrent's thread, without waiting on the event loop.

One torrent's details (files, trackers, pieces, peers, its .torrent) are answered by libtorrent's
own thread while the caller waits: ~40 ms for 500 trackers, more for many files or pieces, more
again while the session is busy. The real engine releases the GIL around that wait, so the question
is asked on a worker thread; an engine that does not say its queries may run on another thread
(``threaded_queries``; the FakeEngine answers from memory) is asked in place.

The questions share one worker thread. libtorrent answers them one at a time on its own thread
anyway, so more workers would only wait side by side; but each also turns the answer into Python
objects with the GIL held, and several doing that at once kept the loop thread waiting for the
GIL (a few milliseconds per hand-over, for each of them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

_ASKER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="revaer-engine-query")


async def query(engine: object, read: Callable[[str], T], info_hash: str) -> T:
    """``read(info_hash)`` (a query method of ``engine``), off the loop when ``engine`` allows it."""
    if not getattr(engine, "threaded_queries", False):
        return read(info_hash)
    return await asyncio.get_running_loop().run_in_executor(_ASKER, read, info_hash)
