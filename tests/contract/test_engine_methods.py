"""Every method of the Engine Protocol, one test body over FakeEngine and the real engine.

Waiting is on conditions with a deadline (events the pump delivers from the engine's fd, rows of
the table), never a sleep followed by an assertion.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from revaer.api.qbittorrent.items import build_item, update_item
from revaer.engine._row import FIELD_BITS
from revaer.engine.errors import (
    EngineClosedError,
    InvalidSettingError,
    InvalidTorrentError,
    TorrentNotFoundError,
)
from revaer.engine.protocol import (
    MAX_TRACKERS,
    UNLIMITED,
    AddRequest,
    Changes,
    EngineEvent,
    FileInfo,
    QueueMove,
    ResumeDataSaved,
    SessionStats,
    StorageMoved,
    TorrentAdded,
    TorrentState,
    TorrentSummary,
    TrackerInfo,
)
from revaer.errors import RevaerError, UsageError
from revaer.events import Envelope
from revaer.labels import Labels
from tests.contract.conftest import Rig
from tests.support.engine import eventually
from tests.support.torrents import MadeTorrent, bdecode, synthetic_torrent

TRACKERS = ("http://127.0.0.1:1/announce", "http://127.0.0.1:2/announce")
UNKNOWN = "00" * 20


class Seen:
    """The events the rig's pump published, collected from the bus as they come."""

    def __init__(self) -> None:
        self.events: list[EngineEvent] = []

    async def wait(self, pred: Callable[[EngineEvent], bool], within: float = 30.0) -> EngineEvent:
        found: list[EngineEvent] = []

        def check() -> bool:
            found[:] = [e for e in self.events if pred(e)]
            return bool(found)

        await eventually(check, within=within)
        return found[0]


@pytest.fixture
async def seen(rig: Rig) -> AsyncIterator[Seen]:
    s = Seen()
    rig.pump.on_resume = s.events.append  # the pump hands resume data there, not to the bus

    async def collect() -> None:
        with rig.bus.subscribe() as sub:
            while True:
                item = await sub.get()
                if isinstance(item, Envelope):
                    s.events.append(item.event)

    task = asyncio.create_task(collect())
    await asyncio.sleep(0)
    yield s
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def _added(rig: Rig, seen: Seen, request: AddRequest) -> str:
    """Adds and waits until the engine confirmed it (its handle exists)."""
    h = rig.engine.add(request)
    await seen.wait(lambda e: isinstance(e, TorrentAdded) and e.info_hash == h)
    return h


def _row(rig: Rig, h: str) -> TorrentSummary:
    row = rig.engine.get(h)
    assert row is not None
    return row


def _torrent(name: str = "methods") -> MadeTorrent:
    return synthetic_torrent(name, size=1024 * 1024, piece_length=64 * 1024, trackers=TRACKERS)


def _piece_hashes(t: MadeTorrent) -> list[str]:
    meta = bdecode(t.data)
    assert isinstance(meta, dict)
    pieces = meta[b"info"][b"pieces"]
    return [pieces[i : i + 20].hex() for i in range(0, len(pieces), 20)]


async def test_add_from_magnet_carries_name_and_trackers(rig: Rig, seen: Seen, tmp_path: Path) -> None:
    t = _torrent("magnetic")
    magnet = t.magnet() + "".join(f"&tr={u}" for u in TRACKERS)
    h = await _added(rig, seen, AddRequest(magnet=magnet, save_path=str(tmp_path), paused=True))
    assert h == t.info_hash
    row = _row(rig, h)
    assert (row.name, row.has_metadata, row.tracker_urls, row.num_trackers) == (
        "magnetic",
        False,
        TRACKERS,
        2,
    )
    assert row.paused
    assert rig.engine.files(h) == []
    assert rig.engine.piece_states(h) == b""
    assert rig.engine.piece_hashes(h) == []
    assert [tr.url for tr in rig.engine.trackers(h)] == list(TRACKERS)


async def test_a_torrent_with_too_many_trackers_is_refused(rig: Rig, seen: Seen, tmp_path: Path) -> None:
    many = [f"http://127.0.0.1:{i + 1}/announce" for i in range(MAX_TRACKERS + 1)]
    t = synthetic_torrent("crowded", size=64 * 1024, piece_length=16 * 1024, trackers=many)
    for request in (
        AddRequest(magnet=t.magnet() + "".join(f"&tr={u}" for u in many), save_path=str(tmp_path)),
        AddRequest(torrent=t.data, save_path=str(tmp_path)),
    ):
        with pytest.raises(InvalidTorrentError, match=f"too many trackers: {MAX_TRACKERS + 1} "):
            rig.engine.add(request)
    assert rig.engine.get(t.info_hash) is None
    # The bound itself is accepted.
    magnet = t.magnet() + "".join(f"&tr={u}" for u in many[:MAX_TRACKERS])
    h = await _added(rig, seen, AddRequest(magnet=magnet, save_path=str(tmp_path), paused=True))
    assert _row(rig, h).num_trackers == MAX_TRACKERS


async def test_add_from_torrent_bytes_and_the_per_torrent_queries(
    rig: Rig, seen: Seen, tmp_path: Path
) -> None:
    t = _torrent()
    e = rig.engine
    h = await _added(rig, seen, AddRequest(torrent=t.data, save_path=str(tmp_path), paused=True))
    row = _row(rig, h)
    assert (row.has_metadata, row.total_size, row.num_files, row.piece_length) == (
        True,
        t.total_size,
        1,
        64 * 1024,
    )
    assert row.num_pieces == 16
    assert row.tracker_urls == TRACKERS
    assert (row.upload_limit, row.download_limit, row.max_connections) == (UNLIMITED, UNLIMITED, UNLIMITED)
    assert isinstance(row, TorrentSummary)

    files = e.files(h)
    assert [(f.index, f.size) for f in files] == [(0, t.total_size)]
    assert all(isinstance(f, FileInfo) and f.done == 0 for f in files)
    trackers = e.trackers(h)
    assert all(isinstance(tr, TrackerInfo) for tr in trackers)
    assert [tr.url for tr in trackers] == list(TRACKERS)
    assert e.piece_hashes(h) == _piece_hashes(t)
    await eventually(lambda: _row(rig, h).state != TorrentState.CHECKING)
    assert e.piece_states(h) == b"\x00" * 16

    e.set_file_priorities(h, {0: 7})
    with pytest.raises(InvalidTorrentError):
        e.set_file_priorities(h, {5: 1})
    with pytest.raises(InvalidTorrentError):
        e.set_file_priorities(h, {0: 9})


async def test_resume_data_keeps_trackers_and_limits(rig: Rig, seen: Seen, tmp_path: Path) -> None:
    t = _torrent("resumed")
    e = rig.engine
    h = await _added(rig, seen, AddRequest(torrent=t.data, save_path=str(tmp_path), paused=True))
    e.set_limits(h, 5000, 0)
    e.save_resume(h)
    saved = await seen.wait(lambda ev: isinstance(ev, ResumeDataSaved) and ev.info_hash == h)
    assert isinstance(saved, ResumeDataSaved)
    other = rig.make()
    try:
        assert other.add(AddRequest(resume=saved.data)) == h
        row = other.get(h)
        assert row is not None
        assert (row.name, row.paused, row.tracker_urls) == ("resumed", True, TRACKERS)
    finally:
        other.shutdown(5)


async def test_resume_data_restores_with_the_torrent_file_it_came_from(
    rig: Rig, seen: Seen, tmp_path: Path
) -> None:
    t = _torrent("with-file")
    e = rig.engine
    h = await _added(rig, seen, AddRequest(torrent=t.data, save_path=str(tmp_path), paused=True))
    e.save_resume(h)
    saved = await seen.wait(lambda ev: isinstance(ev, ResumeDataSaved) and ev.info_hash == h)
    assert isinstance(saved, ResumeDataSaved)
    other = rig.make()
    try:
        with pytest.raises(InvalidTorrentError, match="not the one the resume data belongs to"):
            other.add(AddRequest(resume=saved.data, torrent=_torrent("another").data))
        assert other.get(h) is None
        assert other.add(AddRequest(resume=saved.data, torrent=t.data)) == h
        row = other.get(h)
        assert row is not None
        # Its metadata from the file, its trackers from the resume data (each once).
        assert (row.has_metadata, row.total_size, row.num_pieces) == (True, t.total_size, 16)
        assert (row.name, row.paused, row.tracker_urls) == ("with-file", True, TRACKERS)
        assert other.piece_hashes(h) == _piece_hashes(t)
    finally:
        other.shutdown(5)


async def test_rows_name_the_fields_that_changed(rig: Rig, seen: Seen, tmp_path: Path) -> None:
    """``changed_fields`` is the same on both engines: one bit per differing field, ``version`` aside;
    an item updated from it is the item built whole."""
    e = rig.engine
    h = await _added(rig, seen, AddRequest(torrent=_torrent().data, save_path=str(tmp_path), paused=True))
    before = _row(rig, h)
    assert before.changed_fields(before) == 0
    e.set_limits(h, 1000, 2000)
    after = _row(rig, h)
    mask = after.changed_fields(before)
    assert mask == sum(b for f, b in FIELD_BITS.items() if getattr(after, f) != getattr(before, f))
    assert mask & FIELD_BITS["upload_limit"]
    assert mask & FIELD_BITS["download_limit"]
    item, keys = update_item(build_item(before, Labels()), before, after, Labels())
    assert item == build_item(after, Labels())
    assert {"up_limit", "dl_limit"} <= set(keys)


async def test_commands_take_effect(rig: Rig, seen: Seen, tmp_path: Path) -> None:
    e = rig.engine
    h = await _added(rig, seen, AddRequest(torrent=_torrent().data, save_path=str(tmp_path), paused=True))

    e.set_limits(h, 1000, 0)  # shown at once, no round trip
    assert (_row(rig, h).upload_limit, _row(rig, h).download_limit) == (1000, UNLIMITED)
    e.set_limits(h, -5, 2000)
    assert (_row(rig, h).upload_limit, _row(rig, h).download_limit) == (UNLIMITED, 2000)

    e.set_sequential(h, True)
    await eventually(lambda: _row(rig, h).sequential)
    e.set_sequential(h, False)
    await eventually(lambda: not _row(rig, h).sequential)

    for move in QueueMove:
        e.queue(h, move)
    e.recheck(h)
    e.reannounce(h)

    dest = tmp_path / "moved"
    dest.mkdir()
    e.move_storage(h, str(dest))
    moved = await seen.wait(lambda ev: isinstance(ev, StorageMoved) and ev.info_hash == h)
    assert isinstance(moved, StorageMoved)
    assert moved.path.rstrip("/") == str(dest)
    await eventually(lambda: _row(rig, h).save_path == str(dest))
    with pytest.raises(InvalidTorrentError):
        e.move_storage(h, "")

    n = e.save_resume_modified()
    assert 0 <= n <= len(e.snapshot())
    # The paused torrent is not downloading: the frequent save leaves it alone.
    e.pause(h)
    await eventually(lambda: _row(rig, h).paused)
    assert e.save_resume_modified(downloading_only=True) == 0


async def test_table_versions_and_session(rig: Rig, seen: Seen, tmp_path: Path) -> None:
    e = rig.engine
    v0 = e.version
    h = e.add(AddRequest(torrent=_torrent().data, save_path=str(tmp_path), paused=True))
    assert e.version > v0
    ch = e.changed_since(v0)
    assert isinstance(ch, Changes)
    assert not ch.resync
    assert [r.info_hash for r in ch.rows] == [h]
    assert ch.version == e.version
    assert e.changed_since(e.version).rows == []
    row = e.get(h)
    assert row is not None
    assert row.version <= e.version

    await seen.wait(lambda ev: isinstance(ev, TorrentAdded) and ev.info_hash == h)
    stats = e.stats()
    assert isinstance(stats, SessionStats)
    assert stats.num_torrents == 1

    e.apply_settings({"connections_limit": 100, "enable_dht": False, "user_agent": "contract"})
    bad_settings: list[dict[str, bool | int | str]] = [
        {"no_such_setting": 1},
        {"connections_limit": "many"},
        {"enable_dht": 1},
    ]
    for bad in bad_settings:
        with pytest.raises(InvalidSettingError):
            e.apply_settings(bad)
    assert isinstance(e.fd, int)
    assert e.fd >= 0


@pytest.mark.parametrize(
    "call",
    [
        lambda e, h: e.pause(h),
        lambda e, h: e.resume(h),
        lambda e, h: e.remove(h),
        lambda e, h: e.recheck(h),
        lambda e, h: e.reannounce(h),
        lambda e, h: e.set_limits(h, 1, 1),
        lambda e, h: e.set_sequential(h, True),
        lambda e, h: e.queue(h, QueueMove.TOP),
        lambda e, h: e.move_storage(h, "/tmp"),
        lambda e, h: e.save_resume(h),
        lambda e, h: e.files(h),
        lambda e, h: e.set_file_priorities(h, {0: 1}),
        lambda e, h: e.trackers(h),
        lambda e, h: e.piece_states(h),
        lambda e, h: e.piece_hashes(h),
    ],
)
async def test_unknown_torrent_is_a_usage_error(rig: Rig, call: Callable[..., object]) -> None:
    with pytest.raises(TorrentNotFoundError) as info:
        call(rig.engine, UNKNOWN)
    assert isinstance(info.value, UsageError)
    assert isinstance(info.value, LookupError)
    assert rig.engine.get(UNKNOWN) is None


async def test_poll_fd_and_shutdown(rig: Rig, tmp_path: Path) -> None:
    """The engine's own fd and poll(), without the pump: events arrive when the fd says so."""
    e = rig.make()
    try:
        h = e.add(AddRequest(torrent=_torrent().data, save_path=str(tmp_path), paused=True))
        loop = asyncio.get_running_loop()
        readable = asyncio.Event()
        loop.add_reader(e.fd, readable.set)
        got: list[EngineEvent] = []
        try:
            async with asyncio.timeout(30):
                while not any(isinstance(x, TorrentAdded) and x.info_hash == h for x in got):
                    await readable.wait()
                    readable.clear()
                    got.extend(e.poll())
        finally:
            loop.remove_reader(e.fd)
        e.tick()
        saved = e.shutdown(5)
        assert [s.info_hash for s in saved] == [h]
    finally:
        e.shutdown(1)
    assert e.poll() == []
    assert e.shutdown(1) == []
    # The session's teardown goes on after shutdown() returned; it ends (waited for, not timed).
    assert await asyncio.to_thread(e.wait_closed, 60)
    assert e.wait_closed(0)
    for call in (e.snapshot, lambda: e.get(h), lambda: e.add(AddRequest(magnet="x", save_path="/"))):
        with pytest.raises(EngineClosedError) as info:
            call()
        assert isinstance(info.value, RevaerError)
