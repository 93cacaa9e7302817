"""``tasks.Spawned``: the background tasks a part owns end with the part."""

from __future__ import annotations

import asyncio
import gc

from revaer.tasks import Spawned


async def test_a_spawned_task_is_held_until_it_ends() -> None:
    spawned, release = Spawned(), asyncio.Event()
    done: list[str] = []

    async def work() -> None:
        await release.wait()
        done.append("done")

    spawned.spawn(work())
    gc.collect()  # the loop holds tasks weakly: only the set keeps this one alive
    assert len(spawned) == 1
    release.set()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert done == ["done"]
    assert len(spawned) == 0


async def test_close_cancels_what_runs_and_waits_for_it_to_unwind() -> None:
    spawned, started = Spawned(), asyncio.Event()
    unwound: list[str] = []

    async def work() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0)  # unwinding takes a turn of the loop
            unwound.append("unwound")

    async def fails() -> None:
        raise RuntimeError("a failure of its own is not the closer's")

    task = spawned.spawn(work())
    spawned.spawn(fails())
    await started.wait()
    await spawned.close()
    assert unwound == ["unwound"]
    assert task.cancelled()
    assert len(spawned) == 0
