"""Many adds to the engine at once (a restart's stored torrents), in batches that keep the loop free.

An engine whose calls may run on another thread (``threaded_queries``: the real one, which releases
the GIL while libtorrent parses) is given each batch in the default executor; another one (the
FakeEngine) is called in place, the loop running between batches.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from revaer.engine.errors import EngineError
from revaer.engine.protocol import AddRequest, Engine

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
