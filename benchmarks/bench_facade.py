"""The façade's hot paths in isolation, over the real engine with 10,000 torrents.

Item building and fragment encoding, the listing's refresh (nothing changed, 100 rows changed),
a category filter, the full join, a sync/maindata delta, and the torrents/info and sync/maindata
handlers called with a mocked request (filters, sort, paging; a delta after 100 changes). Figures
are printed, never asserted; the end-to-end numbers beside qBittorrent come from
``benchmarks/compare_qbittorrent.py``.
"""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from tests.support.engine import LOOPBACK

from benchmarks.compare_qbittorrent import make_torrents
from benchmarks.conftest import drive
from revaer.api.keys import BUS, TORRENTS
from revaer.api.qbittorrent import build_qbittorrent
from revaer.api.qbittorrent.extras import TorrentExtras
from revaer.api.qbittorrent.info import torrents_info
from revaer.api.qbittorrent.items import build_item
from revaer.api.qbittorrent.keys import SESSION
from revaer.api.qbittorrent.listing import Listing
from revaer.api.qbittorrent.session import WebSession
from revaer.api.qbittorrent.sync import SyncState, changed_item, maindata
from revaer.engine.libtorrent import LibtorrentEngine
from revaer.events import EventBus
from revaer.torrents import AddOptions, TorrentService

N = 10_000


@dataclass
class Rig:
    engine: LibtorrentEngine
    torrents: TorrentService
    listing: Listing
    extras: TorrentExtras
    hashes: list[str]

    def refresh(self) -> None:
        self.listing.refresh(self.torrents, self.extras)


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
    rig = Rig(engine, torrents, Listing(), TorrentExtras(), hashes)
    rig.refresh()
    yield rig
    engine.shutdown(10)


def _change(rig: Rig, k: int) -> None:
    for h in rig.hashes[:100]:
        rig.engine.set_limits(h, 1024 * (k + 1), -1)


def test_build_item(benchmark: pytest.FixtureRequest, rig: Rig) -> None:
    row = rig.engine.get(rig.hashes[0])
    assert row is not None
    lab = rig.torrents.labels_of(row.info_hash)
    benchmark(build_item, row, lab)  # type: ignore[operator]


def test_refresh_nothing_changed(benchmark: pytest.FixtureRequest, rig: Rig) -> None:
    benchmark(rig.refresh)  # type: ignore[operator]


def test_refresh_100_changed(benchmark: pytest.FixtureRequest, rig: Rig) -> None:
    counter = iter(range(10**9))

    def setup() -> None:
        _change(rig, next(counter))

    def refresh() -> None:
        # With the fragments of what changed encoded, as the next listing needs them.
        rig.refresh()
        rig.listing.fragments()
        rig.listing.keyed()

    benchmark.pedantic(refresh, setup=setup, rounds=50)  # type: ignore[attr-defined]
    assert len(rig.listing.items) == N


def test_full_join(benchmark: pytest.FixtureRequest, rig: Rig) -> None:
    def join() -> bytes:
        return b"[" + b",".join(rig.listing.fragments().values()) + b"]"

    body = benchmark(join)  # type: ignore[operator]
    print(f"\n[bench] full listing of {N:,}: {len(body):,} bytes")


def test_category_filter(benchmark: pytest.FixtureRequest, rig: Rig) -> None:
    def tv() -> int:
        return sum(1 for i in rig.listing.items.values() if i["category"] == "tv")

    assert benchmark(tv) == N // 4  # type: ignore[operator]


def test_sync_delta_100_changed(benchmark: pytest.FixtureRequest, rig: Rig) -> None:
    """The delta of 100 changed torrents against what a session was last sent."""
    state = SyncState()
    state.items = dict(rig.listing.items)
    counter = iter(range(10**9))

    def setup() -> None:
        _change(rig, next(counter))
        rig.refresh()

    def delta() -> int:
        changed = 0
        for h in rig.hashes[:100]:
            new = rig.listing.items[h]
            if changed_item(state.items.get(h), new):
                changed += 1
            state.items[h] = new
        return changed

    benchmark.pedantic(delta, setup=setup, rounds=50)  # type: ignore[attr-defined]


# ---- the handlers themselves (no HTTP server: a mocked request, one event loop) -------------------


@dataclass
class Served:
    app: web.Application
    loop: asyncio.AbstractEventLoop
    session: WebSession


@pytest.fixture(scope="module")
def served(rig: Rig) -> Iterator[Served]:
    app = build_qbittorrent(1024 * 1024)
    app[TORRENTS] = rig.torrents
    app[BUS] = EventBus()
    loop = asyncio.new_event_loop()
    yield Served(app, loop, WebSession("bench"))
    loop.close()


_nonce = itertools.count()


def _call(served: Served, handler: Any, query: str) -> web.Response:
    # A parameter no handler reads makes every call miss torrents/info's whole-response cache.
    req = make_mocked_request("GET", f"/api/v2/x?{query}&_n={next(_nonce)}", app=served.app)
    req[SESSION] = served.session
    resp: web.Response = served.loop.run_until_complete(handler(req))
    return resp


@pytest.mark.parametrize(
    "query",
    [
        "filter=paused&category=tv&tag=hd&sort=name&limit=50&offset=10",
        "sort=size&reverse=true",
        "category=tv",
    ],
)
def test_info_handler(benchmark: pytest.FixtureRequest, served: Served, query: str) -> None:
    """torrents/info with filters, sort and paging (the whole-response cache missed on purpose)."""
    _call(served, torrents_info, query)  # the listing's first full build is not what is measured
    resp = benchmark(_call, served, torrents_info, query)  # type: ignore[operator]
    assert resp.status == 200


def test_maindata_delta_handler(benchmark: pytest.FixtureRequest, rig: Rig, served: Served) -> None:
    """sync/maindata at the session's rid after 100 torrents changed (refresh, delta, encode)."""
    _call(served, maindata, "rid=0")  # a full update, written piece by piece (no body to read back)
    rid = [1]  # the answer to rid=0 is always rid 1
    counter = iter(range(10**9))

    def setup() -> None:
        _change(rig, next(counter))

    def delta() -> dict[str, Any]:
        out: dict[str, Any] = orjson.loads(_call(served, maindata, f"rid={rid[0]}").body)  # type: ignore[arg-type]
        rid[0] = out["rid"]
        return out

    benchmark.pedantic(delta, setup=setup, rounds=50)  # type: ignore[attr-defined]
    _change(rig, next(counter))
    assert len(delta()["torrents"]) == 100


def test_maindata_nothing_changed_handler(benchmark: pytest.FixtureRequest, served: Served) -> None:
    """sync/maindata at the session's rid with nothing changed since (refresh, empty delta)."""
    _call(served, maindata, "rid=0")
    rid = [1]

    def poll() -> None:
        out: dict[str, Any] = orjson.loads(_call(served, maindata, f"rid={rid[0]}").body)  # type: ignore[arg-type]
        rid[0] = out["rid"]

    benchmark(poll)  # type: ignore[operator]


def test_maindata_full_update_handler(benchmark: pytest.FixtureRequest, served: Served) -> None:
    """sync/maindata?rid=0: every torrent's kept keyed fragment, written piece by piece."""
    _call(served, maindata, "rid=0")
    benchmark(_call, served, maindata, "rid=0")  # type: ignore[operator]
