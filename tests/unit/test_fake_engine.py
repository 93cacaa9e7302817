from __future__ import annotations

import time

from revaer.engine.fake import FakeEngine
from revaer.engine.protocol import AddRequest, TorrentCompleted, TorrentState
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
