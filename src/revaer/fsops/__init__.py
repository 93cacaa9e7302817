"""Post-processing: completed downloads moved into the library by category rules.

``planner`` turns a category rule into a confined destination, ``executor``
moves a payload atomically (or copies, verifies and swaps across filesystems)
and rolls back on any failure, ``worker`` runs the ``fs_jobs`` rows.
``postprocessing`` runs them in a server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from revaer.fsops.events import FsJobEvent
from revaer.fsops.planner import Plan, plan
from revaer.fsops.worker import PostProcessor, WorkerHooks, WorkerOptions

if TYPE_CHECKING:
    import asyncpg

    from revaer.config.listener import ConfigListener
    from revaer.engine.protocol import Engine
    from revaer.engine.pump import EnginePump
    from revaer.events import EventBus
    from revaer.registry import TorrentRegistry
    from revaer.torrents import TorrentService

__all__ = [
    "FsJobEvent",
    "Plan",
    "PostProcessor",
    "WorkerHooks",
    "WorkerOptions",
    "plan",
    "postprocessing",
]


@asynccontextmanager
async def postprocessing(
    *,
    pool: asyncpg.Pool,
    engine: Engine,
    bus: EventBus,
    pump: EnginePump,
    listener: ConfigListener,
    torrents: TorrentService,
    registry: TorrentRegistry | None,
    options: WorkerOptions | None = None,
    ready: Callable[[], Awaitable[None]] | None = None,
) -> AsyncIterator[PostProcessor]:
    """The worker, running until the block ends: pending and interrupted jobs resume once
    ``ready()`` returned (every stored torrent restored)."""
    worker = PostProcessor(
        pool,
        engine,
        bus,
        lambda: listener.config.category_rules,
        node=registry.owner if registry is not None else "local",
        hooks=WorkerHooks(
            category_of=lambda h: torrents.labels_of(h).category,
            flush=registry.flush if registry is not None else None,
        ),
        options=options,
    )
    pump.listeners.append(worker.on_event)
    listener.add_hook(worker.rules_changed)
    await worker.start(ready)
    try:
        yield worker
    finally:
        await worker.close()
