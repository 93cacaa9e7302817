"""Asking the engine a question that waits for libtorrent's thread, without waiting on the event loop.

One torrent's details (files, trackers, pieces, peers, its .torrent) are answered by libtorrent's
own thread while the caller waits: ~40 ms for 500 trackers, more for many files or pieces, more
again while the session is busy. The real engine releases the GIL around that wait, so the question
is asked on a worker thread; an engine that does not say its queries may run on another thread
(``threaded_queries``; the FakeEngine answers from memory) is asked in place.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def query(engine: object, read: Callable[[str], T], info_hash: str) -> T:
    """``read(info_hash)`` (a query method of ``engine``), off the loop when ``engine`` allows it."""
    if not getattr(engine, "threaded_queries", False):
        return read(info_hash)
    return await asyncio.get_running_loop().run_in_executor(None, read, info_hash)
