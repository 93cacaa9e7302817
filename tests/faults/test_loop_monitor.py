"""The loop-lag monitor sees a real stall: a callback that blocks the loop thread."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time

import pytest

from revaer.telemetry import LoopMonitor, run_queue_wait

STALL = 0.3


def _block_the_loop() -> None:
    time.sleep(STALL)  # what a blocking call in a handler does to every other request


async def test_a_stall_is_measured_and_logged_with_the_culprits_stack(
    caplog: pytest.LogCaptureFixture,
) -> None:
    monitor = LoopMonitor(interval=0.02, report_over=0.1)
    monitor.start()
    try:
        await asyncio.sleep(0.05)  # a few heartbeats first
        with caplog.at_level(logging.WARNING, logger="revaer.telemetry"):
            asyncio.get_running_loop().call_soon(_block_the_loop)
            deadline = time.monotonic() + 10
            while monitor.stalls == 0:
                assert time.monotonic() < deadline, "the stall was not reported"
                await asyncio.sleep(0.01)
        report = monitor.report()
        # A lower bound only: the sleep cannot have been shorter than asked.
        assert report["worst_ms"] >= STALL * 1000 * 0.9
        assert report["last_minute_worst_ms"] == report["worst_ms"]
        assert report["stalls"] == 1
        (record,) = [r for r in caplog.records if r.getMessage() == "event loop stalled"]
        assert record.levelno == logging.WARNING
        assert getattr(record, "duration_ms") >= STALL * 1000 * 0.9  # noqa: B009
        stack = getattr(record, "stack")  # noqa: B009
        assert stack is not None
        assert stack[-1].endswith(" _block_the_loop")
    finally:
        await monitor.close()


async def test_the_last_minute_forgets_what_is_older() -> None:
    monitor = LoopMonitor()
    monitor.record(0.5)
    monitor._recent[0] = (monitor._recent[0][0] - 120, 0.5)  # as if two minutes ago
    monitor.record(0.01)
    assert monitor.report()["worst_ms"] == 500.0
    assert monitor.report()["last_minute_worst_ms"] == 10.0


def test_a_loop_off_the_main_thread_is_measured_without_a_stack() -> None:
    # Python delivers signals to the main thread only: there the stall is measured, not sampled,
    # and starting the monitor does not fail.
    result: dict[str, object] = {}

    async def stalled() -> None:
        monitor = LoopMonitor(interval=0.02, report_over=0.1)
        monitor.start()
        try:
            await asyncio.sleep(0.05)
            asyncio.get_running_loop().call_soon(_block_the_loop)
            deadline = time.monotonic() + 10
            while monitor.stalls == 0:
                assert time.monotonic() < deadline, "the stall was not reported"
                await asyncio.sleep(0.01)
            result["report"] = monitor.report()
        finally:
            await monitor.close()

    thread = threading.Thread(target=lambda: asyncio.run(stalled()))
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    report = result["report"]
    assert isinstance(report, dict)
    assert report["stalls"] == 1
    assert report["worst_ms"] >= STALL * 1000 * 0.9


def test_a_stall_is_also_measured_without_the_run_queue_wait() -> None:
    """The machine's other processes are not ours: a heartbeat 300 ms late of which 250 ms the loop
    thread was ready but not running is a 50 ms stall of the process's own making."""
    monitor = LoopMonitor()
    monitor.record(0.3, waited=0.25)
    monitor.record(0.02, waited=0.0)
    report = monitor.report()
    assert report["worst_ms"] == 300.0
    assert report["worst_own_ms"] == 50.0


def test_the_run_queue_wait_is_read_from_the_kernel() -> None:
    """On Linux, the loop thread's run-queue wait comes from schedstat and never goes back."""
    if not os.path.exists("/proc/thread-self/schedstat"):
        pytest.skip("no /proc/thread-self/schedstat (not Linux, or schedstats off)")
    first = run_queue_wait()
    sum(range(200_000))  # a little work, in case the kernel had never queued this thread
    assert run_queue_wait() >= first >= 0.0
