"""One test body, two engines: FakeEngine and the real libtorrent engine behave the same."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from revaer.engine.errors import (
    DuplicateTorrentError,
    EngineClosedError,
    InvalidTorrentError,
    TorrentNotFoundError,
)
from revaer.engine.protocol import (
    AddRequest,
    TorrentAdded,
    TorrentRemoved,
    TorrentState,
    TorrentStateChanged,
    TorrentUpdated,
)
from revaer.events import Envelope, Lagged
from tests.contract.conftest import Rig
from tests.support.engine import eventually
from tests.support.torrents import synthetic_torrent


async def _collect(rig: Rig, sub_events: list[object], stop: asyncio.Event) -> None:
    with rig.bus.subscribe() as sub:
        while not stop.is_set():
            try:
                item = await asyncio.wait_for(sub.get(), 0.1)
            except TimeoutError:
                continue
            assert not isinstance(item, Lagged)
            assert isinstance(item, Envelope)
            sub_events.append(item.event)


async def test_add_pause_resume_remove_and_event_order(rig: Rig, tmp_path: Path) -> None:
    events: list[object] = []
    stop = asyncio.Event()
    collector = asyncio.create_task(_collect(rig, events, stop))
    await asyncio.sleep(0)
    t = synthetic_torrent("contract", size=4 * 1024 * 1024, piece_length=256 * 1024)
    e = rig.engine
    h = e.add(AddRequest(torrent=t.data, save_path=str(tmp_path)))
    assert h == t.info_hash
    # Listed at once, before the engine has confirmed the add.
    assert [r.info_hash for r in e.snapshot()] == [h]
    row = e.get(h.upper())
    assert row is not None
    assert row.name == "contract"
    assert row.total_size == t.total_size
    assert row.save_path == str(tmp_path)

    await eventually(lambda: any(isinstance(x, TorrentAdded) and x.info_hash == h for x in events))
    await eventually(lambda: getattr(e.get(h), "state", None) not in (TorrentState.CHECKING, None))

    e.pause(h)
    await eventually(lambda: getattr(e.get(h), "state", None) == TorrentState.PAUSED)
    e.pause(h)  # pausing a paused torrent is fine
    assert getattr(e.get(h), "paused", False)

    e.resume(h)
    await eventually(lambda: getattr(e.get(h), "state", None) != TorrentState.PAUSED)
    row = e.get(h)
    assert row is not None
    assert not row.paused

    v = e.version
    e.remove(h)
    assert e.get(h) is None
    assert e.snapshot() == []
    assert h in e.changed_since(v).removed
    await eventually(lambda: any(isinstance(x, TorrentRemoved) for x in events))
    stop.set()
    await collector

    mine = [x for x in events if getattr(x, "info_hash", None) == h]
    assert isinstance(mine[0], TorrentAdded)
    assert isinstance(mine[-1], TorrentRemoved)
    states = [x.new for x in mine if isinstance(x, TorrentStateChanged)]
    assert TorrentState.PAUSED in states
    assert states[-1] != TorrentState.PAUSED
    assert any(isinstance(x, TorrentUpdated) for x in mine)
    with pytest.raises(TorrentNotFoundError):
        e.pause(h)


BAD_MAGNETS = [
    "garbage",
    "http://example.com/x.torrent",
    "magnet:?dn=no-hash",
    "magnet:?xt=urn:btih:abcdef",  # truncated hash
    "magnet:?xt=urn:btih:" + "zz" * 20,
]


def _bad_torrents() -> list[bytes]:
    good = synthetic_torrent("bad", size=1024 * 1024).data
    return [b"garbage", b"de", b"d4:infoi1ee", good[: len(good) // 2], good[:-1]]


async def test_bad_input_is_refused_and_the_session_keeps_serving(rig: Rig, tmp_path: Path) -> None:
    e = rig.engine
    keep = synthetic_torrent("keep", size=1024 * 1024)
    h = e.add(AddRequest(torrent=keep.data, save_path=str(tmp_path), paused=True))
    for m in BAD_MAGNETS:
        with pytest.raises(InvalidTorrentError, match="magnet"):
            e.add(AddRequest(magnet=m, save_path=str(tmp_path)))
    for data in _bad_torrents():
        with pytest.raises(InvalidTorrentError, match="torrent file"):
            e.add(AddRequest(torrent=data, save_path=str(tmp_path)))
    with pytest.raises(InvalidTorrentError, match="resume data"):
        e.add(AddRequest(resume=b"not resume data", save_path=str(tmp_path)))
    with pytest.raises(InvalidTorrentError):
        e.add(AddRequest(save_path=str(tmp_path)))
    with pytest.raises(InvalidTorrentError, match="save path"):
        e.add(AddRequest(torrent=synthetic_torrent("nopath").data))
    with pytest.raises(DuplicateTorrentError, match=h):
        e.add(AddRequest(torrent=keep.data, save_path=str(tmp_path)))
    with pytest.raises(DuplicateTorrentError):
        e.add(AddRequest(magnet=keep.magnet(), save_path=str(tmp_path)))
    for unknown in ("00" * 20, "not-a-hash", ""):
        with pytest.raises(TorrentNotFoundError):
            e.pause(unknown)
        with pytest.raises(TorrentNotFoundError):
            e.remove(unknown)
    assert e.get("00" * 20) is None
    # The other torrent is untouched and still answers.
    assert [r.info_hash for r in e.snapshot()] == [h]
    e.resume(h)
    await eventually(lambda: getattr(e.get(h), "paused", True) is False)


async def test_resume_data_round_trip(rig: Rig, tmp_path: Path) -> None:
    e = rig.engine
    t = synthetic_torrent("roundtrip", size=2 * 1024 * 1024)
    h = e.add(AddRequest(torrent=t.data, save_path=str(tmp_path), paused=True))
    await eventually(lambda: e.get(h) is not None)
    rig.pump.pump()
    saved = await rig.pump.stop(resume_timeout=5)
    assert [s.info_hash for s in saved] == [h]
    with pytest.raises(EngineClosedError):
        e.snapshot()

    other = rig.make()
    try:
        h2 = other.add(AddRequest(resume=saved[0].data))
        assert h2 == h
        row = other.get(h)
        assert row is not None
        assert row.name == "roundtrip"
        assert row.save_path == str(tmp_path)
        assert row.paused
    finally:
        other.shutdown(5)
    # The fixture stops the pump again: that must be harmless.
