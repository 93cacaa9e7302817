"""Many adds to the engine at once (a restart's stored torrents), in batches that keep the loop free.

An engine whose calls may run on another thread (``threaded_queries``: the real one, which releases
the GIL while libtorrent parses) is given each batch in the default executor; another one (the
FakeEngine) is called in place, the loop running between batches.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from revaer.engine.errors import EngineError
from revaer.engine.protocol import AddRequest, Engine
from revaer.registry import YIELD_EVERY, StoredTorrent

log = logging.getLogger(__name__)

# Torrents per batch: the loop's share of a batch (tracking the added ones) stays a few ms.
RESTORE_BATCH = 500


def _add_each(engine: Engine, batch: Sequence[tuple[str, AddRequest]]) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for h, request in batch:
        try:
            out.append((engine.add(request), None))
        except EngineError as e:
            out.append((h, str(e)))
    return out


Requests = list[tuple[str, AddRequest]]
Stored = tuple[Requests, Requests]


async def split_stored(
    rows: Sequence[StoredTorrent],
    adopt: Callable[[str, str, Sequence[str]], None],
    add_defaults: Callable[[AddRequest], AddRequest] | None,
) -> Stored:
    """The stored torrents' add requests: those from their resume data, then those from their
    source (acknowledged before their first resume data; given the config's defaults). ``adopt``
    takes each one's labels."""
    resumed: Requests = []
    sourced: Requests = []
    for i, t in enumerate(rows):
        if i and i % YIELD_EVERY == 0:
            await asyncio.sleep(0)
        adopt(t.info_hash, t.category, t.tags)
        request = t.resume_request()
        if request is None and t.source:
            request = t.source_request()
            sourced.append((t.info_hash, add_defaults(request) if add_defaults else request))
        elif request is None:
            log.warning("torrent has nothing to restore from", extra={"info_hash": t.info_hash})
        else:
            resumed.append((t.info_hash, request))
    return resumed, sourced


async def add_in_batches(
    engine: Engine, requests: Sequence[tuple[str, AddRequest]]
) -> AsyncIterator[list[tuple[str, str | None]]]:
    """Add ``(info_hash, request)`` pairs; yields per batch ``(info_hash, None)`` for each added
    torrent and ``(info_hash, message)`` for each one the engine refused."""
    threaded = getattr(engine, "threaded_queries", False)
    loop = asyncio.get_running_loop()
    for i in range(0, len(requests), RESTORE_BATCH):
        batch = requests[i : i + RESTORE_BATCH]
        if threaded:
            yield await loop.run_in_executor(None, _add_each, engine, batch)
        else:
            yield _add_each(engine, batch)
            await asyncio.sleep(0)


Hold = Callable[[int], Awaitable[None]]


class Restore:
    """The stored torrents being re-added while the server already serves (ADR 0015).

    ``total`` is known once the rows are read (None before), before the first add; ``done``
    counts the torrents handled so far (added or refused). ``hold`` (tests) is awaited after every batch with
    ``done``: a test holds the restore half-way to see what a request meets meanwhile.
    """

    def __init__(self, hold: Hold | None = None) -> None:
        self.total: int | None = None
        self.done = 0
        self.waiting = 0  # callers of wait() waiting now
        self._hold = hold
        self._finished = asyncio.Event()
        self._finished.set()  # nothing to restore until begin()
        self._stop = False
        self._after: list[Callable[[], None]] = []

    @property
    def running(self) -> bool:
        return not self._finished.is_set()

    def begin(self) -> None:
        """A restore starts: from now until ``finish()``, ``wait()`` waits."""
        self.total, self.done, self._stop = None, 0, False
        self._finished.clear()

    def stop(self) -> None:
        """Add no further batch (the server stops): the rest stays stored for the next start."""
        self._stop = True

    def finish(self) -> None:
        self._finished.set()
        after, self._after = self._after, []
        for f in after:
            try:
                f()
            except Exception:
                log.exception("a call after the restore failed")

    def after(self, f: Callable[[], None]) -> None:
        """Call ``f`` once the restore ended (now when none is running)."""
        if self.running:
            self._after.append(f)
        else:
            f()

    async def wait(self) -> None:
        """Until every stored torrent was handled (at once when none is being restored)."""
        if self._finished.is_set():
            return
        self.waiting += 1
        try:
            await self._finished.wait()
        finally:
            self.waiting -= 1

    async def batches(
        self, engine: Engine, requests: Sequence[tuple[str, AddRequest]]
    ) -> AsyncIterator[list[tuple[str, str | None]]]:
        """``add_in_batches``, counted, held by the test hook, and cut short by ``stop()``."""
        if self._stop:
            return
        async for added in add_in_batches(engine, requests):
            self.done += len(added)
            yield added
            if self._hold is not None:
                await self._hold(self.done)
            if self._stop:
                return


def stop_on_failure(fatal: Callable[[str], None]) -> Callable[[asyncio.Task[int]], None]:
    """A restore task's done callback: a restore that failed (the stored rows could not be read)
    stops the server (``fatal``), as a start that could not read them did: it must not serve adds
    beside torrents it does not know."""

    def done(task: asyncio.Task[int]) -> None:
        if not task.cancelled() and (e := task.exception()) is not None:
            log.error("restoring the stored torrents failed", exc_info=e)
            fatal(f"restoring the stored torrents failed: {e}")

    return done
