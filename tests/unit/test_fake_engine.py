from __future__ import annotations

import asyncio
import time

import pytest

from revaer.engine.fake import FakeEngine, ManualClock
from revaer.engine.protocol import (
    AddRequest,
    TorrentAdded,
    TorrentCompleted,
    TorrentState,
    TorrentStateChanged,
    TorrentUpdated,
)
from revaer.engine.pump import EnginePump, PumpIntervals
from revaer.events import Envelope, EventBus, Subscription
from tests.support.torrents import synthetic_torrent


def test_simulated_download_completes_once() -> None:
    e = FakeEngine(rate=100 * 1024 * 1024)
    t = synthetic_torrent("sim", size=8 * 1024 * 1024, files=3)
    h = e.add(AddRequest(torrent=t.data, save_path="/data"))
    events = []
    deadline = time.monotonic() + 10
    while getattr(e.get(h), "state", None) != TorrentState.SEEDING:
        assert time.monotonic() < deadline
        time.sleep(0.02)
        e.tick()
        events.extend(e.poll())
    for _ in range(3):
        e.tick()
        events.extend(e.poll())
    assert sum(isinstance(ev, TorrentCompleted) for ev in events) == 1
    row = e.get(h)
    assert row is not None
    assert row.progress == 1.0
    assert [f.size for f in e.files(h)] == [t.total_size // 3] * 2 + [t.total_size - 2 * (t.total_size // 3)]
    e.shutdown()


def test_no_progress_when_rate_is_zero() -> None:
    e = FakeEngine(rate=0)
    h = e.add(AddRequest(torrent=synthetic_torrent("idle").data, save_path="/data"))
    e.tick()
    e.tick()
    assert getattr(e.get(h), "state", None) == TorrentState.STALLED
    e.shutdown()


def test_manual_clock_moves_only_when_advanced() -> None:
    clock = ManualClock()
    e = FakeEngine(rate=1_000_000, clock=clock)
    t = synthetic_torrent("clocked", size=4_000_000)
    h = e.add(AddRequest(torrent=t.data, save_path="/data"))
    added = getattr(e.get(h), "added_time", None)
    time.sleep(0.06)
    e.tick()
    e.tick()
    row = e.get(h)
    assert row is not None
    assert row.state == TorrentState.DOWNLOADING  # checking ends on a tick; no time has passed
    assert row.total_done == 0
    e.advance(1.5)
    row = e.get(h)
    assert row is not None
    assert row.total_done == 1_500_000
    e.advance(10)
    row = e.get(h)
    assert row is not None
    assert row.state == TorrentState.SEEDING
    assert added is not None
    # Wall-clock stamps follow the same clock: completed 11.5 s after the add, whatever the real time.
    assert row.completed_time - added in (11, 12)
    assert sum(isinstance(ev, TorrentCompleted) for ev in e.poll()) == 1
    with pytest.raises(ValueError, match="back"):
        clock.advance(-1)
    e.shutdown()


def test_injected_wall_clock_stamps_rows() -> None:
    e = FakeEngine(rate=0, clock=ManualClock(), wall_clock=lambda: 1_700_000_000.5)
    h = e.add(AddRequest(torrent=synthetic_torrent("stamped").data, save_path="/data"))
    assert getattr(e.get(h), "added_time", None) == 1_700_000_000
    e.shutdown()


def test_advance_needs_a_manual_clock() -> None:
    e = FakeEngine(rate=0)
    with pytest.raises(TypeError, match="ManualClock"):
        e.advance(1.0)
    e.shutdown()


async def test_pump_without_timer_moves_only_when_stepped() -> None:
    e = FakeEngine(rate=0, clock=ManualClock())
    bus = EventBus()
    pump = EnginePump(e, bus, intervals=PumpIntervals(update=None))
    await pump.start()
    sub = bus.subscribe()
    h = e.add(AddRequest(torrent=synthetic_torrent("stepped").data, save_path="/data"))
    pump.pump()
    assert [type(env.event) for env in _drain(sub)] == [TorrentAdded, TorrentUpdated]
    await asyncio.sleep(0.06)
    assert getattr(e.get(h), "state", None) == TorrentState.CHECKING
    assert _drain(sub) == []
    pump.step()
    events = [env.event for env in _drain(sub)]
    assert [type(ev) for ev in events] == [TorrentStateChanged, TorrentUpdated]
    assert getattr(e.get(h), "state", None) == TorrentState.STALLED
    sub.close()
    await pump.stop(1.0)


def _drain(sub: Subscription) -> list[Envelope]:
    out = []
    while (item := sub.get_nowait()) is not None:
        assert isinstance(item, Envelope)
        out.append(item)
    return out
