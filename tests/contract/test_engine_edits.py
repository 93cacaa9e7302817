"""The engine's per-torrent edits and .torrent reads, one body over FakeEngine and the real engine:
peers, the tracker list, file names, the exported .torrent and what it says."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from revaer.engine.errors import (
    EngineRefusedError,
    InvalidSettingError,
    InvalidTorrentError,
    TorrentNotFoundError,
)
from revaer.engine.protocol import AddRequest, TorrentMeta
from tests.contract.conftest import Rig
from tests.contract.test_engine_methods import TRACKERS, UNKNOWN, Seen, _added, _row, seen
from tests.support.engine import eventually
from tests.support.torrents import bdecode, bencode, synthetic_torrent

__all__ = ["seen"]


def _described(name: str, *, files: int = 1) -> bytes:
    """A .torrent with a comment, a creator, a date and a web seed (and two trackers)."""
    t = synthetic_torrent(name, size=256 * 1024, piece_length=64 * 1024, files=files, trackers=TRACKERS)
    meta = bdecode(t.data)
    assert isinstance(meta, dict)
    meta[b"comment"] = b"a comment"
    meta[b"created by"] = b"revaer tests"
    meta[b"creation date"] = 1_700_000_000
    meta[b"url-list"] = [b"http://127.0.0.1:9/seed/"]
    out: Any = meta
    return bencode(out)


async def test_connect_peer_checks_the_address(rig: Rig, seen: Seen, tmp_path: Path) -> None:
    data = _described("peered")
    h = await _added(rig, seen, AddRequest(torrent=data, save_path=str(tmp_path), paused=True))
    rig.engine.connect_peer(h, "127.0.0.1", 9)  # nobody there: accepted, the connection just fails
    for ip, port in (("not-an-ip", 80), ("127.0.0.1", 0), ("127.0.0.1", 70000)):
        with pytest.raises(InvalidTorrentError):
            rig.engine.connect_peer(h, ip, port)
    with pytest.raises(TorrentNotFoundError):
        rig.engine.connect_peer(UNKNOWN, "127.0.0.1", 9)


async def test_replace_trackers_sets_the_list_and_the_row(rig: Rig, seen: Seen, tmp_path: Path) -> None:
    e = rig.engine
    h = await _added(
        rig, seen, AddRequest(torrent=_described("tracked"), save_path=str(tmp_path), paused=True)
    )
    new = [("http://127.0.0.1:3/announce", 0), ("http://127.0.0.1:4/announce", 1)]
    e.replace_trackers(h, new)
    assert _row(rig, h).tracker_urls == tuple(url for url, _ in new)
    assert _row(rig, h).num_trackers == 2
    await eventually(lambda: [(t.url, t.tier) for t in e.trackers(h)] == new)
    e.replace_trackers(h, [])
    assert _row(rig, h).num_trackers == 0
    with pytest.raises(InvalidTorrentError):
        e.replace_trackers(h, [("", 0)])


async def test_rename_file_shows_in_files(rig: Rig, seen: Seen, tmp_path: Path) -> None:
    e = rig.engine
    data = _described("renamed", files=2)
    h = await _added(rig, seen, AddRequest(torrent=data, save_path=str(tmp_path), paused=True))
    e.rename_file(h, 1, "renamed/other name.bin")
    await eventually(lambda: e.files(h)[1].path == "renamed/other name.bin")
    with pytest.raises(InvalidTorrentError):
        e.rename_file(h, 7, "x")
    with pytest.raises(InvalidTorrentError):
        e.rename_file(h, 0, "")


async def test_torrent_file_and_meta(rig: Rig, seen: Seen, tmp_path: Path) -> None:
    e = rig.engine
    data = _described("exported")
    h = await _added(rig, seen, AddRequest(torrent=data, save_path=str(tmp_path), paused=True))
    exported = bdecode(e.torrent_file(h))
    assert isinstance(exported, dict)
    original = bdecode(data)
    assert isinstance(original, dict)
    assert hashlib.sha1(bencode(exported[b"info"])).hexdigest() == h
    assert exported[b"info"] == original[b"info"]
    assert exported[b"comment"] == b"a comment"
    assert e.torrent_meta(h) == TorrentMeta(
        "a comment", "revaer tests", 1_700_000_000, ("http://127.0.0.1:9/seed/",)
    )

    t = synthetic_torrent("metaless", size=64 * 1024, piece_length=16 * 1024)
    m = await _added(rig, seen, AddRequest(magnet=t.magnet(), save_path=str(tmp_path), paused=True))
    assert e.torrent_meta(m) == TorrentMeta()
    with pytest.raises(EngineRefusedError):
        e.torrent_file(m)
    with pytest.raises(EngineRefusedError):
        e.rename_file(m, 0, "x")


async def test_renamed_files_on_add_lay_the_files_out(rig: Rig, seen: Seen, tmp_path: Path) -> None:
    data = _described("laid", files=2)
    request = AddRequest(
        torrent=data,
        save_path=str(tmp_path),
        paused=True,
        renamed_files=((0, "first.bin"), (1, "x/second.bin")),
    )
    h = await _added(rig, seen, request)
    assert [f.path for f in rig.engine.files(h)] == ["first.bin", "x/second.bin"]


async def test_super_seeding_and_first_last_piece_priority(rig: Rig, seen: Seen, tmp_path: Path) -> None:
    e = rig.engine
    h = await _added(
        rig, seen, AddRequest(torrent=_described("seeded"), save_path=str(tmp_path), paused=True)
    )
    e.set_super_seeding(h, True)
    assert _row(rig, h).super_seeding is True
    e.set_super_seeding(h, False)
    assert _row(rig, h).super_seeding is False
    e.set_first_last_priority(h, True)
    e.set_first_last_priority(h, False)
    t = synthetic_torrent("prioless", size=64 * 1024, piece_length=16 * 1024)
    m = await _added(rig, seen, AddRequest(magnet=t.magnet(), save_path=str(tmp_path), paused=True))
    with pytest.raises(EngineRefusedError):
        e.set_first_last_priority(m, True)


async def test_set_banned_checks_the_addresses(rig: Rig) -> None:
    rig.engine.set_banned(["127.0.0.2", "::2"])
    rig.engine.set_banned([])
    with pytest.raises(InvalidSettingError):
        rig.engine.set_banned(["not-an-address"])


async def test_a_paused_torrent_has_no_peers(rig: Rig, seen: Seen, tmp_path: Path) -> None:
    h = await _added(rig, seen, AddRequest(torrent=_described("alone"), save_path=str(tmp_path), paused=True))
    assert rig.engine.peers(h) == []
    with pytest.raises(TorrentNotFoundError):
        rig.engine.peers(UNKNOWN)
