"""Background tasks of the long-lived parts (listener, supervisor, pump, monitors)."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self


class Running:
    """A long-lived part that is started and closed: also an ``async with`` block.

    ``async with Part(...) as part:`` starts it and closes it on the way out, also when the block
    fails (as asyncpg's pools do).
    """

    __slots__ = ()

    async def start(self) -> None:
        """Start the part's background work."""

    async def close(self) -> None:
        """Stop it and release what it holds."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


@dataclass(frozen=True, slots=True)
class Backoff:
    """Waits between attempts: ``initial`` doubled after each failure, up to ``maximum``.

    ``jitter`` spreads each wait by that fraction either way, so that parts retrying the same
    resource (a database coming back) do not all knock at once.
    """

    initial: float
    maximum: float
    jitter: float = 0.0

    def delay(self, attempt: int) -> float:
        """The wait after failed attempt ``attempt`` (1 is the first)."""
        wait = min(self.maximum, self.initial * 2.0 ** min(64, max(0, attempt - 1)))
        if self.jitter:
            wait *= random.uniform(1 - self.jitter, 1 + self.jitter)
        return wait


async def cancel_and_wait(task: asyncio.Task[None] | None) -> None:
    """Cancel ``task`` (if any) and wait until it has finished unwinding.

    Waiting matters: a part that closes its connection right after must not race its own task's
    ``finally`` blocks.
    """
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class Spawned:
    """Background tasks a part starts and owns. Each is held until it ends (the loop keeps only
    weak references to tasks), and ``close`` cancels those still running and waits for them, so
    none outlives its part or runs against what the part has already closed."""

    __slots__ = ("_tasks",)

    def __init__(self) -> None:
        self._tasks: set[asyncio.Future[Any]] = set()

    def spawn(self, work: Awaitable[Any]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def __len__(self) -> int:
        return len(self._tasks)

    async def close(self) -> None:
        running = list(self._tasks)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
