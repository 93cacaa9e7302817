"""Every native object (session, status rows) goes away when the engine is closed and rows are dropped."""

from __future__ import annotations

import gc
import warnings
from pathlib import Path

import pytest

from revaer import _engine
from revaer.engine.errors import EngineClosedError
from revaer.engine.protocol import AddRequest
from tests.support.engine import drive, loopback_engine
from tests.support.torrents import synthetic_torrent


def _run(tmp_path: Path, before: int) -> list[_engine.TorrentStatus]:
    engine = loopback_engine()
    hashes = [
        engine.add(AddRequest(torrent=synthetic_torrent(f"t{i}", size=1 << 20).data, save_path=str(tmp_path)))
        for i in range(20)
    ]
    drive(engine, lambda _: all(getattr(engine.get(h), "state", "checking") != "checking" for h in hashes))
    rows = engine.snapshot()
    assert len(rows) == 20
    assert _engine.live_objects() > before
    saved = engine.shutdown(5)
    assert len(saved) == 20
    # Rows handed out earlier stay readable after the engine is gone...
    assert {r.info_hash for r in rows} == set(hashes)
    with pytest.raises(EngineClosedError):
        engine.snapshot()
    assert engine.poll() == []
    assert engine.shutdown(1) == []
    return [r for r in rows if isinstance(r, _engine.TorrentStatus)]


def test_no_native_object_outlives_the_engine(tmp_path: Path) -> None:
    gc.collect()
    before = _engine.live_objects()
    rows = _run(tmp_path, before)
    assert len(rows) == 20
    # ...and are freed with their last reference.
    del rows
    gc.collect()
    assert _engine.live_objects() == before


def test_rows_cannot_be_made_from_python() -> None:
    with pytest.raises(TypeError):
        _engine.TorrentStatus()


def test_an_unclosed_engine_warns_and_still_stops(tmp_path: Path) -> None:
    gc.collect()
    before = _engine.live_objects()
    engine = loopback_engine()
    engine.add(AddRequest(torrent=synthetic_torrent("unclosed", size=1 << 20).data, save_path=str(tmp_path)))
    with pytest.warns(ResourceWarning, match="unclosed"):
        del engine  # the last reference: the session is torn down here
    gc.collect()
    assert _engine.live_objects() == before


def test_a_closed_engine_does_not_warn() -> None:
    engine = loopback_engine()
    engine.shutdown(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        del engine
        gc.collect()
