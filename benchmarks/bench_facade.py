"""The façade's hot paths in isolation, over the real engine with 10,000 torrents.

Item building and fragment encoding, the listing's refresh (nothing changed, 100 rows changed),
a category filter, the full join, and a sync/maindata delta. Figures are printed, never asserted;
the end-to-end numbers beside qBittorrent come from ``benchmarks/compare_qbittorrent.py``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.support.engine import LOOPBACK

from benchmarks.compare_qbittorrent import make_torrents
from benchmarks.conftest import drive
from revaer.api.qbittorrent.extras import TorrentExtras
from revaer.api.qbittorrent.serialize import ItemCache, Listing, build_item
from revaer.api.qbittorrent.sync import SyncState
from revaer.engine.libtorrent import LibtorrentEngine
from revaer.torrents import AddOptions, TorrentService

N = 10_000


@dataclass
class Rig:
    engine: LibtorrentEngine
    torrents: TorrentService
    listing: Listing
    hashes: list[str]


@pytest.fixture(scope="module")
def rig() -> Iterator[Rig]:
    engine = LibtorrentEngine(LOOPBACK)
    root = Path(tempfile.mkdtemp(prefix="revaer-bench-facade-", dir="/tmp"))
    torrents = TorrentService(engine, None, root)
    hashes = [
        torrents.add(torrent=data, options=AddOptions(category=cat, tags=tags, paused=True))
        for data, cat, tags, _ in make_torrents(N)
    ]
    drive(engine, lambda: len(engine.snapshot()) == N, timeout=120, what="all added")
    listing = Listing(ItemCache(engine), torrents, TorrentExtras())
    listing.refresh()
    yield Rig(engine, torrents, listing, hashes)
    engine.shutdown(10)


def _change(rig: Rig, k: int) -> None:
    for h in rig.hashes[:100]:
        rig.engine.set_limits(h, 1024 * (k + 1), -1)


def test_build_item(benchmark: pytest.FixtureRequest, rig: Rig) -> None:
    row = rig.engine.get(rig.hashes[0])
    assert row is not None
    lab = rig.torrents.labels_of(row.info_hash)
    benchmark(build_item, row, lab, ())  # type: ignore[operator]


def test_refresh_nothing_changed(benchmark: pytest.FixtureRequest, rig: Rig) -> None:
    benchmark(rig.listing.refresh)  # type: ignore[operator]


def test_refresh_100_changed(benchmark: pytest.FixtureRequest, rig: Rig) -> None:
    counter = iter(range(10**9))

    def setup() -> None:
        _change(rig, next(counter))

    benchmark.pedantic(rig.listing.refresh, setup=setup, rounds=50)  # type: ignore[attr-defined]
    assert len(rig.listing.items) == N


def test_full_join(benchmark: pytest.FixtureRequest, rig: Rig) -> None:
    def join() -> bytes:
        return b"[" + b",".join(rig.listing.fragments.values()) + b"]"

    body = benchmark(join)  # type: ignore[operator]
    print(f"\n[bench] full listing of {N:,}: {len(body):,} bytes")


def test_category_filter(benchmark: pytest.FixtureRequest, rig: Rig) -> None:
    def tv() -> int:
        return sum(1 for i in rig.listing.items.values() if i["category"] == "tv")

    assert benchmark(tv) == N // 4  # type: ignore[operator]


def test_sync_delta_100_changed(benchmark: pytest.FixtureRequest, rig: Rig) -> None:
    """The delta of 100 changed torrents against what a session was last sent."""
    from revaer.api.qbittorrent.sync import _changed_item

    state = SyncState()
    state.items = dict(rig.listing.items)
    counter = iter(range(10**9))

    def setup() -> None:
        _change(rig, next(counter))
        rig.listing.refresh()

    def delta() -> int:
        changed = 0
        for h in rig.hashes[:100]:
            new = rig.listing.items[h]
            if _changed_item(state.items.get(h), new):
                changed += 1
            state.items[h] = new
        return changed

    benchmark.pedantic(delta, setup=setup, rounds=50)  # type: ignore[attr-defined]
