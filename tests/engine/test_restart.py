"""Restarts: from resume data after a clean stop, and after SIGKILL from the last periodic save."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from revaer.engine.protocol import AddRequest, ResumeDataSaved, TorrentCompleted, TorrentState
from tests.support.engine import Seeder, drive, loopback_engine
from tests.support.torrents import bdecode, file_sha256, synthetic_torrent

PIECE = 256 * 1024


def _pieces_in(resume: bytes) -> int:
    decoded = bdecode(resume)
    assert isinstance(decoded, dict)
    pieces = decoded[b"pieces"]
    assert isinstance(pieces, bytes)
    return sum(1 for b in pieces if b & 1)


def _finish(resume: bytes, seeder: Seeder, floor_pieces: int) -> None:
    """Re-add from resume data, check nothing it had is fetched again, and complete the download."""
    engine = loopback_engine()
    try:
        # Resume data of a torrent added from its .torrent file comes back with that file.
        h = engine.add(AddRequest(resume=resume, torrent=seeder.torrent.data))
        assert h == seeder.info_hash
        # Once the resume data is checked, every piece it recorded is still there.
        drive(engine, lambda _: getattr(engine.get(h), "state", None) not in (TorrentState.CHECKING, None))
        row = engine.get(h)
        assert row is not None
        assert row.pieces_have >= floor_pieces
        had = row.total_done
        assert had >= floor_pieces * PIECE
        engine.set_limits(h, -1, -1)
        engine.connect_peer(h, "127.0.0.1", seeder.port)
        drive(engine, lambda evs: any(isinstance(e, TorrentCompleted) for e in evs), timeout=90)
        drive(engine, lambda _: bool(getattr(engine.get(h), "is_seeding", False)))
        row = engine.get(h)
        assert row is not None
        # Only what was missing came over the wire (a few pieces of slack for requests in flight).
        assert row.downloaded_session <= seeder.torrent.total_size - had + 8 * PIECE
        assert row.downloaded_session >= seeder.torrent.total_size - had - PIECE
        assert file_sha256(Path(row.save_path) / row.name) == file_sha256(seeder.path)
    finally:
        engine.shutdown(5)


def test_restart_after_clean_stop_continues_without_redownloading(seeder64: Seeder, downloads: Path) -> None:
    engine = loopback_engine()
    h = engine.add(
        AddRequest(torrent=seeder64.torrent.data, save_path=str(downloads), download_limit=8_000_000)
    )
    engine.connect_peer(h, "127.0.0.1", seeder64.port)
    drive(engine, lambda _: getattr(engine.get(h), "progress", 0.0) >= 0.25, timeout=60)
    row = engine.get(h)
    assert row is not None
    assert row.progress < 0.9
    saved = engine.shutdown(5)
    assert [s.info_hash for s in saved] == [h]
    resume = saved[0].data
    pieces = _pieces_in(resume)
    assert pieces >= row.pieces_have
    _finish(resume, seeder64, pieces)


def test_sigkill_loses_at_most_what_came_after_the_last_resume_save(
    seeder64: Seeder, downloads: Path, tmp_path: Path
) -> None:
    torrent = tmp_path / "t.torrent"
    torrent.write_bytes(seeder64.torrent.data)
    resume_dir = tmp_path / "resume"
    resume_dir.mkdir()
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.engine.resume_child",
            str(torrent),
            str(downloads),
            str(resume_dir),
            str(seeder64.port),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    resume_file = resume_dir / f"{seeder64.info_hash}.resume"
    try:
        assert child.stdout is not None
        deadline = time.monotonic() + 60
        # Wait for a resume save that holds a good share of the torrent, then kill mid-download.
        for line in child.stdout:
            if (
                line.startswith("saved")
                and resume_file.exists()
                and _pieces_in(resume_file.read_bytes()) * PIECE >= seeder64.torrent.total_size // 4
            ):
                break
            assert time.monotonic() < deadline, "the child never got a quarter of the torrent"
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    resume = resume_file.read_bytes()
    pieces = _pieces_in(resume)
    assert pieces * PIECE < seeder64.torrent.total_size  # killed mid-download
    _finish(resume, seeder64, pieces)


def _saved_resume(seeder: Seeder, request: AddRequest) -> dict[bytes, object]:
    """The resume data a clean stop saves for ``request`` (a magnet: once its metadata is in)."""
    engine = loopback_engine()
    try:
        h = engine.add(request)
        if request.magnet is not None:
            engine.connect_peer(h, "127.0.0.1", seeder.port)
            drive(engine, lambda _: bool(getattr(engine.get(h), "has_metadata", False)), timeout=30)
        drive(engine, lambda _: getattr(engine.get(h), "state", None) not in (TorrentState.CHECKING, None))
    finally:
        saved = engine.shutdown(5)
    assert [s.info_hash for s in saved] == [seeder.info_hash]
    decoded = bdecode(saved[0].data)
    assert isinstance(decoded, dict)
    return decoded


def test_resume_data_holds_the_info_dictionary_only_when_nothing_else_does(
    seeder64: Seeder, downloads: Path
) -> None:
    # Added from its .torrent file (which the registry keeps): the piece list is not stored twice.
    from_file = _saved_resume(seeder64, AddRequest(torrent=seeder64.torrent.data, save_path=str(downloads)))
    assert b"info" not in from_file
    # From a magnet, the metadata came from a peer: the resume data is its only copy.
    magnet = f"magnet:?xt=urn:btih:{seeder64.info_hash}&dn=payload.bin"
    from_magnet = _saved_resume(seeder64, AddRequest(magnet=magnet, save_path=str(downloads / "m")))
    assert b"info" in from_magnet


def test_a_stop_saves_only_the_resume_data_changed_since_the_last_save(downloads: Path) -> None:
    # What is stored already is not saved again (at 10,000 idle torrents that was most of a stop).
    engine = loopback_engine()
    quiet, changed = (synthetic_torrent(name, size=1024 * 1024) for name in ("quiet", "changed"))
    hashes = [
        engine.add(AddRequest(torrent=t.data, save_path=str(downloads), paused=True))
        for t in (quiet, changed)
    ]
    try:
        drive(
            engine,
            lambda _: all(getattr(engine.get(h), "state", None) == TorrentState.PAUSED for h in hashes),
        )
        for h in hashes:
            engine.save_resume(h)
        drive(engine, lambda ev: {e.info_hash for e in ev if isinstance(e, ResumeDataSaved)} == set(hashes))
        engine.resume(changed.info_hash)
    finally:
        saved = engine.shutdown(5)
    assert [s.info_hash for s in saved] == [changed.info_hash]
