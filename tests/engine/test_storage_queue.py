"""Queue positions, moving storage, and resetting the save path without moving, on the real engine."""

from __future__ import annotations

import shutil
from pathlib import Path

from revaer.engine.protocol import (
    AddRequest,
    EngineEvent,
    QueueMove,
    StorageMoved,
    TorrentCompleted,
    TorrentState,
)
from tests.support.engine import Seeder, drive, loopback_engine
from tests.support.torrents import file_sha256, synthetic_torrent


def test_queue_positions(tmp_path: Path) -> None:
    engine = loopback_engine()
    try:
        hashes = [
            engine.add(
                AddRequest(torrent=synthetic_torrent(f"q{i}", size=1 << 20).data, save_path=str(tmp_path))
            )
            for i in range(3)
        ]

        def positions() -> list[int]:
            return [getattr(engine.get(h), "queue_position", -2) for h in hashes]

        drive(engine, lambda _: sorted(positions()) == [0, 1, 2])
        first, _, third = sorted(hashes, key=lambda h: positions()[hashes.index(h)])
        engine.queue(third, QueueMove.TOP)
        drive(engine, lambda _: getattr(engine.get(third), "queue_position", -1) == 0)
        engine.queue(third, QueueMove.BOTTOM)
        drive(engine, lambda _: getattr(engine.get(third), "queue_position", -1) == 2)
        engine.queue(third, QueueMove.UP)
        drive(engine, lambda _: getattr(engine.get(third), "queue_position", -1) == 1)
        engine.queue(third, QueueMove.DOWN)
        drive(engine, lambda _: getattr(engine.get(third), "queue_position", -1) == 2)
        assert getattr(engine.get(first), "queue_position", -1) == 0
    finally:
        engine.shutdown(5)


def test_move_storage_and_reset_save_path(seeder64: Seeder, tmp_path: Path) -> None:
    engine = loopback_engine()
    first, second, third = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    try:
        h = engine.add(AddRequest(torrent=seeder64.torrent.data, save_path=str(first)))
        engine.connect_peer(h, "127.0.0.1", seeder64.port)
        events: list[EngineEvent] = []
        drive(
            engine, lambda evs: any(isinstance(e, TorrentCompleted) for e in evs), events=events, timeout=90
        )

        # Moved by libtorrent.
        engine.move_storage(h, str(second))
        drive(engine, lambda evs: any(isinstance(e, StorageMoved) for e in evs), events=events)
        moved = [e for e in events if isinstance(e, StorageMoved)]
        assert moved[-1].path == str(second)
        name = seeder64.torrent.name
        assert not (first / name).exists()
        assert file_sha256(second / name) == file_sha256(seeder64.path)
        drive(engine, lambda _: getattr(engine.get(h), "save_path", "") == str(second))

        # Moved by someone else (post-processing): libtorrent only follows.
        engine.pause(h)
        drive(engine, lambda _: getattr(engine.get(h), "state", None) == TorrentState.PAUSED)
        third.mkdir()
        shutil.move(str(second / name), str(third / name))
        engine.move_storage(h, str(third), reset_only=True)
        drive(engine, lambda evs: sum(isinstance(e, StorageMoved) for e in evs) == 2, events=events)
        assert (third / name).stat().st_size == seeder64.torrent.total_size
        engine.recheck(h)
        engine.resume(h)
        drive(engine, lambda _: getattr(engine.get(h), "state", None) == TorrentState.SEEDING, timeout=60)
        row = engine.get(h)
        assert row is not None
        assert row.save_path == str(third)
        assert row.progress == 1.0  # the data was found at the new place: nothing to download again
    finally:
        engine.shutdown(5)
