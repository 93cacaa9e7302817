"""Giving freed heap memory back to the system after a burst (docs/performance-scale.md, ADR 0017).

glibc keeps the pages of freed memory: after 10,000 adds (their .torrent files, ~8 KB each, held
until committed; libtorrent's ~5 KB of transient resume data per torrent) the server stays 100+ MB
larger than what it uses, and a restart's burst (every stored torrent's source read at once) more.
``malloc_trim`` returns them, but it walks the whole heap (~90 ms at 10,000 torrents), so it runs on
a worker thread (ctypes releases the GIL), at most one at a time, once ``RELEASE_AFTER`` bytes were
freed since the last one.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
from collections.abc import Callable

log = logging.getLogger(__name__)

_malloc_trim: Callable[[int], int] | None
_mallopt: Callable[[int, int], int] | None
try:
    _libc = ctypes.CDLL("libc.so.6")
    _malloc_trim = _libc.malloc_trim
    _mallopt = _libc.mallopt
except (OSError, AttributeError):  # not glibc
    _malloc_trim = _mallopt = None

M_ARENA_MAX = -8  # glibc's malloc.h
RELEASE_AFTER = 32 * 1024 * 1024


def release_memory() -> None:
    """Give freed heap memory back to the system now (blocks: ~90 ms per 300 MB of heap)."""
    if _malloc_trim is not None:
        _malloc_trim(0)


def limit_arenas(n: int | None = None) -> bool:
    """At most ``n`` malloc arenas (default: one per core, at least two) for the threads started
    from now on; glibc's default is 8 per core, each keeping its own free memory. An operator's
    ``MALLOC_ARENA_MAX`` is left as it is."""
    if _mallopt is None or (n is None and "MALLOC_ARENA_MAX" in os.environ):
        return False
    return _mallopt(M_ARENA_MAX, n or max(2, os.cpu_count() or 2)) == 1


class Releaser:
    """Counts bytes freed by bursts; past ``threshold``, trims the heap on a worker thread."""

    __slots__ = ("_freed", "_task", "threshold", "trims")

    def __init__(self, threshold: int = RELEASE_AFTER) -> None:
        self.threshold = threshold
        self._freed = 0
        self._task: asyncio.Task[None] | None = None
        self.trims = 0

    def freed(self, nbytes: int) -> None:
        """``nbytes`` were just freed (call on the event loop)."""
        self._freed += nbytes
        if self._freed < self.threshold or (self._task is not None and not self._task.done()):
            return
        self._freed = 0
        self.trims += 1
        self._task = asyncio.get_running_loop().create_task(asyncio.to_thread(release_memory))

    async def idle(self) -> None:
        """Until the trim under way (if any) has ended."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task


RELEASER = Releaser()
