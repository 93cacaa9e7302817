"""The real engine's batch add of .torrent files: each file as add() would add it, refusals in place."""

from __future__ import annotations

from pathlib import Path

from revaer.engine.errors import DuplicateTorrentError, InvalidTorrentError
from revaer.engine.protocol import AddRequest
from tests.support.engine import loopback_engine
from tests.support.torrents import synthetic_torrent


def test_add_torrents_adds_each_with_the_shared_options_and_refuses_in_place(tmp_path: Path) -> None:
    engine = loopback_engine()
    try:
        a, b = synthetic_torrent("batch-a"), synthetic_torrent("batch-b")
        template = AddRequest(save_path=str(tmp_path), paused=True, upload_limit=1000)
        out = engine.add_torrents(template, [a.data, b"not a torrent", a.data, b"", b.data])
        assert out[0] == a.info_hash
        assert out[4] == b.info_hash
        assert isinstance(out[1], InvalidTorrentError)
        assert isinstance(out[2], DuplicateTorrentError)
        assert isinstance(out[3], InvalidTorrentError)
        for h in (a.info_hash, b.info_hash):
            row = engine.get(h)
            assert row is not None
            assert (row.save_path, row.paused, row.upload_limit) == (str(tmp_path), True, 1000)
    finally:
        engine.shutdown()
