"""A real swarm on 127.0.0.1: the engine downloads 64 MiB from a second libtorrent session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from revaer.engine.protocol import (
    AddRequest,
    EngineEvent,
    MetadataReceived,
    TorrentAdded,
    TorrentCompleted,
    TorrentState,
    TorrentStateChanged,
)
from tests.support.engine import Seeder, drive, loopback_engine
from tests.support.torrents import file_sha256


def _completed(h: str) -> Callable[[list[EngineEvent]], bool]:
    return lambda evs: any(isinstance(e, TorrentCompleted) and e.info_hash == h for e in evs)


@pytest.mark.parametrize("source", ["magnet", "torrent"])
def test_download_from_local_seeder(source: str, seeder64: Seeder, downloads: Path) -> None:
    engine = loopback_engine()
    try:
        if source == "magnet":
            # No tracker, no DHT: metadata comes over ut_metadata from the peer we name.
            req = AddRequest(magnet=seeder64.torrent.magnet(), save_path=str(downloads))
        else:
            req = AddRequest(torrent=seeder64.torrent.data, save_path=str(downloads))
        h = engine.add(req)
        assert h == seeder64.info_hash
        engine.connect_peer(h, "127.0.0.1", seeder64.port)
        events: list[EngineEvent] = drive(engine, _completed(h), timeout=90)
        # Let the table catch up with the final state.
        drive(engine, lambda _: getattr(engine.get(h), "state", None) == TorrentState.SEEDING, events=events)

        mine = [e for e in events if getattr(e, "info_hash", None) == h]
        assert isinstance(mine[0], TorrentAdded)
        assert sum(isinstance(e, TorrentCompleted) for e in mine) == 1
        states = [e.new for e in mine if isinstance(e, TorrentStateChanged)]
        assert TorrentState.SEEDING in states
        # It was downloading (or stalled for a moment) before it seeded.
        first_seed = states.index(TorrentState.SEEDING)
        assert set(states[:first_seed]) & {TorrentState.DOWNLOADING, TorrentState.STALLED}
        if source == "magnet":
            assert any(isinstance(e, MetadataReceived) for e in mine)

        row = engine.get(h)
        assert row is not None
        assert row.name == seeder64.torrent.name
        assert row.progress == 1.0
        assert row.total_done == seeder64.torrent.total_size
        assert row.is_seeding
        assert row.downloaded_session >= seeder64.torrent.total_size
        got = downloads / seeder64.torrent.name
        assert file_sha256(got) == file_sha256(seeder64.path)
    finally:
        engine.shutdown(5)


def test_files_trackers_and_stats(seeder64: Seeder, downloads: Path) -> None:
    engine = loopback_engine()
    try:
        h = engine.add(AddRequest(torrent=seeder64.torrent.data, save_path=str(downloads), paused=True))
        drive(engine, lambda evs: any(isinstance(e, TorrentAdded) for e in evs))
        files = engine.files(h)
        assert [(f.path, f.size) for f in files] == [(seeder64.torrent.name, seeder64.torrent.total_size)]
        assert files[0].done == 0
        assert files[0].priority == 4
        engine.set_file_priorities(h, {0: 7})
        with pytest.raises(ValueError, match="out of range"):
            engine.set_file_priorities(h, {5: 1})
        assert engine.trackers(h) == []
        engine.set_limits(h, 1000, 2000)
        row = engine.get(h)
        assert row is not None
        assert (row.upload_limit, row.download_limit) == (1000, 2000)
        assert row.paused
        assert row.state == TorrentState.PAUSED
        assert row.num_files == 1
        assert row.num_pieces == seeder64.torrent.total_size // (256 * 1024)
        stats = engine.stats()
        assert stats.num_torrents == 1
        assert stats.listen_port == engine.listen_port() > 0
    finally:
        engine.shutdown(5)
