"""Background tasks of the long-lived parts (listener, supervisor, pump, monitors)."""

from __future__ import annotations

import asyncio
import contextlib


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
