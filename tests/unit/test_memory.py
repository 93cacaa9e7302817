"""Giving freed heap memory back after bursts (revaer.memory)."""

from __future__ import annotations

import asyncio

import pytest

from revaer import memory
from revaer.registry_writes import RESUME_TRANSIENT, Insert, Pending, held_bytes


def test_limit_arenas_is_accepted_by_glibc() -> None:
    assert memory.limit_arenas(64)


async def test_releaser_trims_once_past_the_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def trim(pad: int) -> int:
        calls.append(pad)
        return 1

    monkeypatch.setattr(memory, "_malloc_trim", trim)
    r = memory.Releaser(threshold=100)
    r.freed(60)
    await r.idle()
    assert calls == []
    assert r.trims == 0
    r.freed(60)  # 120 freed since the last trim
    await r.idle()
    assert calls == [0]
    assert r.trims == 1
    r.freed(99)  # the count starts again after a trim
    await r.idle()
    assert calls == [0]


async def test_releaser_runs_one_trim_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    started, release = asyncio.Event(), asyncio.Event()
    loop = asyncio.get_running_loop()

    def trim(pad: int) -> int:
        loop.call_soon_threadsafe(started.set)
        asyncio.run_coroutine_threadsafe(release.wait(), loop).result()
        return 1

    monkeypatch.setattr(memory, "_malloc_trim", trim)
    r = memory.Releaser(threshold=10)
    r.freed(10)
    await started.wait()
    r.freed(10)  # a trim is under way: counted, not started
    assert r.trims == 1
    release.set()
    await r.idle()
    r.freed(0)  # what was counted meanwhile starts the next one
    await r.idle()
    assert r.trims == 2


def test_held_bytes_counts_source_and_resume() -> None:
    insert = Insert("n", "/p", "", (), 0.0, None, source=b"x" * 100, resume=b"r" * 10)
    assert held_bytes(Pending(insert=insert)) == 110 + RESUME_TRANSIENT
    assert held_bytes(Pending(resume=b"r" * 5)) == 5 + RESUME_TRANSIENT
    assert held_bytes(Pending(state="paused")) == 0
