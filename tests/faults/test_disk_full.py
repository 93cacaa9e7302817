"""A full disk: a 50 MB torrent into a real 20 MB tmpfs.

The error must name the cause (ENOSPC, "No space left on device") and the file, and once space is
back (the tmpfs remounted bigger) the torrent must complete with nobody resuming it.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from revaer.engine.protocol import AddRequest, EngineEvent, TorrentFailed, TorrentState
from tests.support.engine import Seeder, drive, loopback_engine
from tests.support.torrents import file_sha256

PAYLOAD_SIZE = 50 * 1024 * 1024
ENOSPC_TEXT = os.strerror(errno.ENOSPC)  # "No space left on device"


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, timeout=30)


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 20 MB tmpfs of its own (needs root: a real mount, not a quota emulation)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    d = Path(tempfile.mkdtemp(prefix="revaer-full-", dir="/tmp"))
    try:
        _mount("-t", "tmpfs", "-o", "size=20m", "tmpfs", str(d))
    except (OSError, subprocess.CalledProcessError) as e:
        d.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {e}")
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", str(d)], capture_output=True, timeout=30)
        shutil.rmtree(d, ignore_errors=True)


def test_disk_full_names_the_cause_and_recovers_when_space_is_back(small_disk: Path, tmp_path: Path) -> None:
    seeder = Seeder(tmp_path / "peer", PAYLOAD_SIZE)
    leecher = loopback_engine()
    try:
        h = leecher.add(AddRequest(torrent=seeder.torrent.data, save_path=str(small_disk)))
        events: list[EngineEvent] = []
        drive(leecher, lambda _: bool((r := leecher.get(h)) and r.has_metadata), events=events)
        leecher.connect_peer(h, "127.0.0.1", seeder.port)

        def failed(evs: list[EngineEvent]) -> bool:
            return any(isinstance(e, TorrentFailed) and e.info_hash == h for e in evs)

        drive(leecher, failed, timeout=60, events=events)
        texts = [e.message for e in events if isinstance(e, TorrentFailed)]
        # The cause first, then the file, once (libtorrent raises one alert per failed block).
        expected = f"{ENOSPC_TEXT}: {small_disk / seeder.path.name} (file_write)"
        assert texts == [expected], texts
        # The row says it too, for as long as the disk is full (a listing shows why it stopped).
        drive(leecher, lambda _: bool((r := leecher.get(h)) and r.state is TorrentState.ERROR), events=events)
        row = leecher.get(h)
        assert row is not None
        assert row.error == expected, row.error

        _mount("-o", "remount,size=100m", str(small_disk))
        drive(leecher, lambda _: bool((r := leecher.get(h)) and r.is_seeding), timeout=120, events=events)
        assert file_sha256(small_disk / seeder.path.name) == file_sha256(seeder.path)
    finally:
        leecher.shutdown(5)
        seeder.close()
