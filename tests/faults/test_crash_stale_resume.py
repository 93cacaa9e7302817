"""Resume data older than the files: the restore checks the files instead of trusting its bitfield.

The quick half of the crash guarantee (the whole of it, with SIGKILL and the real server, is
test_crash_resume.py): resume data saved at ~25 %, the download carried on to ~60 % and the engine
stopped without saving again (what a crash between two saves leaves). Restored from that old data, the
torrent must come back with what is on disk, not with what the data says.
"""

from __future__ import annotations

from pathlib import Path

from revaer.engine.protocol import AddRequest, Engine, EngineEvent, ResumeDataSaved, TorrentState
from tests.support.engine import Seeder, drive, loopback_engine

PAYLOAD_SIZE = 32 * 1024 * 1024
LIMIT = 8 * 1024 * 1024  # bytes/s: a few seconds for the payload


def _progress(engine: Engine, h: str) -> float:
    row = engine.get(h)
    return float(row.progress) if row is not None else 0.0


def test_restore_from_stale_resume_data_finds_the_pieces_on_disk(tmp_path: Path) -> None:
    seeder = Seeder(tmp_path / "peer", PAYLOAD_SIZE)
    save = tmp_path / "save"
    save.mkdir()
    first = loopback_engine()
    try:
        h = first.add(AddRequest(torrent=seeder.torrent.data, save_path=str(save), download_limit=LIMIT))
        drive(first, lambda _: bool((r := first.get(h)) and r.has_metadata))
        first.connect_peer(h, "127.0.0.1", seeder.port)
        drive(first, lambda _: _progress(first, h) >= 0.25, timeout=60)
        first.save_resume(h)
        events: list[EngineEvent] = []
        drive(first, lambda evs: any(isinstance(e, ResumeDataSaved) for e in evs), events=events)
        old = next(e for e in events if isinstance(e, ResumeDataSaved))
        drive(first, lambda _: _progress(first, h) >= 0.6, timeout=60)
        first.pause(h)
        drive(first, lambda _: bool((r := first.get(h)) and r.paused))
    finally:
        first.shutdown(5)  # what it saves now is dropped: the restore gets only the old data
        seeder.close()

    second = loopback_engine()
    try:
        # Started, not paused: libtorrent checks the files of a started torrent only. Nobody seeds
        # any more, so whatever it has is from disk.
        assert second.add(AddRequest(resume=old.data, torrent=seeder.torrent.data, paused=False)) == h

        def settled(_: list[EngineEvent]) -> bool:
            r = second.get(h)
            return r is not None and r.state in (TorrentState.STALLED, TorrentState.DOWNLOADING)

        drive(second, settled, timeout=60)
        found = _progress(second, h)
        assert found >= 0.55, (
            f"restored with progress {found:.3f}: the pieces written after the save were lost"
        )
    finally:
        second.shutdown(5)
