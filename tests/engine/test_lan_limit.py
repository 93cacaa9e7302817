"""``limit_lan_peers``: the session's rate limits hold peers on the local network too, when asked.

libtorrent leaves local addresses (loopback here) out of the session-wide limits, as qBittorrent
does unless "apply rate limit to peers on LAN" is on. With the engine's own ``limit_lan_peers``
setting a loopback download is held at the session's download limit; turned off, a new connection
is not held and the download finishes (a peer's class is set when it connects).
The held phase only asserts an upper bound (a slow machine downloads less, never more).
"""

from __future__ import annotations

import time
from pathlib import Path

from revaer.engine.protocol import AddRequest, TorrentRemoved
from tests.support.engine import Seeder, drive, loopback_engine

LIMIT = 16 * 1024  # bytes/s
SIZE = 8 << 20


def test_lan_peers_limited_then_not(tmp_path: Path) -> None:
    seeder = Seeder(tmp_path / "peer", SIZE)
    engine = loopback_engine(download_rate_limit=LIMIT, limit_lan_peers=True)
    try:
        h = engine.add(AddRequest(torrent=seeder.torrent.data, save_path=str(tmp_path / "dl")))
        engine.connect_peer(h, "127.0.0.1", seeder.port)
        drive(engine, lambda _: bool((r := engine.get(h)) and r.total_done > 0), timeout=30)
        held_from = time.monotonic()
        drive(engine, lambda _: time.monotonic() - held_from >= 3.0, timeout=10)
        row = engine.get(h)
        assert row is not None
        # At 16 KiB/s a few seconds bring well under a tenth of 8 MiB; unlimited, all of it arrives.
        assert row.total_done < SIZE // 10, row.total_done

        # A peer's class is given when it connects: the change holds for new connections (the
        # torrent added again makes one).
        engine.apply_settings({"limit_lan_peers": False})
        engine.remove(h)
        drive(engine, lambda evs: any(isinstance(e, TorrentRemoved) for e in evs), timeout=10)
        h = engine.add(AddRequest(torrent=seeder.torrent.data, save_path=str(tmp_path / "dl")))
        engine.connect_peer(h, "127.0.0.1", seeder.port)
        drive(engine, lambda _: bool((r := engine.get(h)) and r.progress >= 1.0), timeout=60)
    finally:
        engine.shutdown(5)
        seeder.close()
