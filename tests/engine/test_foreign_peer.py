"""A foreign peer: Debian's qbittorrent-nox seeds to the engine and downloads from it, on 127.0.0.1.

qBittorrent cannot be told to connect to a peer, so both sides find each other
through a tiny HTTP tracker (the torrent's only announce URL). Nothing is
skipped: a missing qbittorrent-nox fails with a message that says how to get it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from revaer import _engine
from revaer.engine.libtorrent import LibtorrentEngine
from revaer.engine.protocol import AddRequest, EngineEvent, TorrentCompleted, TorrentState
from tests.support.engine import loopback_engine
from tests.support.qbittorrent import QBittorrent, QBittorrentError, find_binary, is_seeding
from tests.support.torrents import MadeTorrent, file_sha256, make_torrent, write_random_file
from tests.support.tracker import Tracker

PAYLOAD_SIZE = 12 * 1024 * 1024

pytestmark = pytest.mark.timeout(90)


def _drive(
    engine: LibtorrentEngine,
    until: Callable[[], bool],
    events: list[EngineEvent],
    *,
    what: str,
    timeout: float = 40.0,
) -> None:
    """Tick and poll until ``until()`` holds; fail after ``timeout`` seconds (a bound, not a measurement)."""
    deadline = time.monotonic() + timeout
    while True:
        engine.tick()
        time.sleep(0.2)
        events.extend(engine.poll())
        if until():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout} s; last events: {events[-10:]}")


def _state(engine: LibtorrentEngine, info_hash: str) -> TorrentState | None:
    row = engine.get(info_hash)
    return None if row is None else row.state


@pytest.fixture
def tracker() -> Iterator[Tracker]:
    with Tracker(interval=5) as t:
        yield t


@pytest.fixture
def qbt(tmp_path: Path) -> Iterator[QBittorrent]:
    try:
        find_binary()
    except QBittorrentError as e:
        pytest.fail(str(e), pytrace=False)
    with QBittorrent(tmp_path / "qbt") as q:
        yield q


def _with_engine(body: Callable[[LibtorrentEngine], None]) -> None:
    """Run ``body`` with a loopback engine, shut it down, and check no native object outlived it.

    The engine is not a fixture: pytest would hold it until after the check.
    """
    before = _engine.live_objects()
    engine = loopback_engine()
    try:
        body(engine)
    finally:
        engine.shutdown(10)
    del engine
    assert _engine.live_objects() == before


@pytest.fixture
def payload(tmp_path: Path, tracker: Tracker) -> tuple[Path, MadeTorrent]:
    path = tmp_path / "seed" / "foreign.bin"
    write_random_file(path, PAYLOAD_SIZE)
    return path, make_torrent(path, trackers=[tracker.announce_url])


def test_qbittorrent_seeds_to_engine(
    tmp_path: Path, qbt: QBittorrent, tracker: Tracker, payload: tuple[Path, MadeTorrent]
) -> None:
    _with_engine(lambda engine: _download_from_qbittorrent(tmp_path, qbt, engine, tracker, payload))


def _download_from_qbittorrent(
    tmp_path: Path,
    qbt: QBittorrent,
    engine: LibtorrentEngine,
    tracker: Tracker,
    payload: tuple[Path, MadeTorrent],
) -> None:
    source, torrent = payload
    qbt.add_torrent(torrent.data, source.parent)
    seeded = qbt.wait_torrent(torrent.info_hash, is_seeding, timeout=30)
    assert seeded["total_size"] == PAYLOAD_SIZE

    target = tmp_path / "ours"
    events: list[EngineEvent] = []
    h = engine.add(AddRequest(torrent=torrent.data, save_path=str(target)))
    assert h == torrent.info_hash
    _drive(
        engine,
        lambda: _state(engine, h) == TorrentState.SEEDING,
        events,
        what=f"download from qBittorrent (tracker peers: {tracker.peers(h)})",
    )

    completed = [e for e in events if isinstance(e, TorrentCompleted)]
    assert completed == [TorrentCompleted(h, "foreign.bin")]
    row = engine.get(h)
    assert row is not None
    assert row.is_seeding
    assert row.total_done == PAYLOAD_SIZE
    assert file_sha256(target / "foreign.bin") == file_sha256(source)
    assert any(p.port == qbt.listen_port for p in tracker.peers(h))


def test_qbittorrent_downloads_from_engine(
    tmp_path: Path, qbt: QBittorrent, tracker: Tracker, payload: tuple[Path, MadeTorrent]
) -> None:
    _with_engine(lambda engine: _upload_to_qbittorrent(tmp_path, qbt, engine, tracker, payload))


def _upload_to_qbittorrent(
    tmp_path: Path,
    qbt: QBittorrent,
    engine: LibtorrentEngine,
    tracker: Tracker,
    payload: tuple[Path, MadeTorrent],
) -> None:
    source, torrent = payload
    events: list[EngineEvent] = []
    # No seed_mode: the engine checks the file, then seeds it.
    h = engine.add(AddRequest(torrent=torrent.data, save_path=str(source.parent)))
    _drive(engine, lambda: _state(engine, h) == TorrentState.SEEDING, events, what="engine check and seed")
    # The engine announces itself: qBittorrent learns its port from the tracker only.
    _drive(
        engine,
        lambda: any(p.port == engine.listen_port() for p in tracker.peers(h)),
        events,
        what="engine announce to the tracker",
    )

    target = tmp_path / "theirs"
    target.mkdir()
    qbt.add_torrent(torrent.data, target)
    done = qbt.wait_torrent(h, is_seeding, timeout=40)
    assert done["progress"] == 1.0
    assert file_sha256(target / "foreign.bin") == file_sha256(source)

    # The bytes came from the engine: its row counts them as uploaded.
    _drive(
        engine,
        lambda: (r := engine.get(h)) is not None and r.uploaded_session >= PAYLOAD_SIZE,
        events,
        what="engine upload counter",
    )
    row = engine.get(h)
    assert row is not None
    assert row.state == TorrentState.SEEDING
