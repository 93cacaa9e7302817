"""The engine lists a torrent's real peers (``peers()``, what sync/torrentPeers shows)."""

from __future__ import annotations

from pathlib import Path

from revaer.engine.protocol import AddRequest, PeerInfo, TorrentAdded
from tests.support.engine import Seeder, drive, loopback_engine


def test_a_connected_seeder_is_listed(seeder64: Seeder, downloads: Path) -> None:
    engine = loopback_engine()
    try:
        h = engine.add(AddRequest(torrent=seeder64.torrent.data, save_path=str(downloads)))
        drive(engine, lambda evs: any(isinstance(e, TorrentAdded) for e in evs))
        assert engine.peers(h) == []
        engine.connect_peer(h, "127.0.0.1", seeder64.port)
        found: list[PeerInfo] = []

        def listed(_: object) -> bool:
            found[:] = [p for p in engine.peers(h) if p.port == seeder64.port]
            return bool(found)

        drive(engine, listed, timeout=30)
        (peer,) = found
        assert (peer.ip, peer.utp) == ("127.0.0.1", False)
        assert "I" not in peer.flags  # we connected to it
        assert 0.0 <= peer.progress <= 1.0
        assert peer.client  # libtorrent names the other side's client
    finally:
        engine.shutdown(5)
