"""The suite's guard: what reaches the loop's exception handler is recorded (and fails the test)."""

from __future__ import annotations

import asyncio
import gc
from typing import Any


async def test_unretrieved_task_exception_is_recorded(loop_exceptions: list[dict[str, Any]]) -> None:
    async def boom() -> None:
        raise RuntimeError("never retrieved")

    task = asyncio.get_running_loop().create_task(boom())
    await asyncio.sleep(0)
    del task
    gc.collect()
    assert [type(c.get("exception")) for c in loop_exceptions] == [RuntimeError]
    loop_exceptions.clear()  # seen: this test passes


async def test_raising_callback_is_recorded(loop_exceptions: list[dict[str, Any]]) -> None:
    asyncio.get_running_loop().call_soon(lambda: 1 / 0)
    await asyncio.sleep(0)
    assert [type(c.get("exception")) for c in loop_exceptions] == [ZeroDivisionError]
    loop_exceptions.clear()
