"""The listing's change log and ``sync/maindata``'s deltas, over a small in-memory torrent table."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import orjson
import pytest

from revaer.api.qbittorrent.extras import TorrentExtras
from revaer.api.qbittorrent.items import ITEM_KEYS
from revaer.api.qbittorrent.listing import Listing
from revaer.api.qbittorrent.sync import SyncState, answer, changed_item, delta, full_update
from revaer.categories import Category, CategoryStore
from revaer.engine.fake import FakeSummary
from revaer.engine.protocol import Changes, TorrentState, TorrentSummary, TrackerInfo, TrackerStatus
from revaer.labels import Labels

A, B, C = "aa" * 20, "bb" * 20, "cc" * 20
SERVER = {"dl_info_speed": 0, "free_space_on_disk": 100}


class Table:
    """A versioned torrent table with labels (what a Listing reads; TorrentService is the real one)."""

    def __init__(self) -> None:
        self.rows: dict[str, FakeSummary] = {}
        self.version = 0
        self.tombstones: list[tuple[int, str]] = []
        self.floor = 0  # removals at or before this version are forgotten
        self.labels: dict[str, Labels] = {}
        self.label_clock = 0
        self.tracker_asks = 0  # a listing must never ask (the rows carry the URLs)

    # -- what the listing reads
    @property
    def table_version(self) -> int:
        return self.version

    def snapshot(self) -> Sequence[TorrentSummary]:
        return list(self.rows.values())

    def changed_since(self, version: int) -> Changes:
        if version < self.floor:
            return Changes(self.version, True, [], [])
        rows = sorted((r for r in self.rows.values() if r.version > version), key=lambda r: r.version)
        return Changes(self.version, False, rows, [h for v, h in self.tombstones if v > version])

    def get(self, info_hash: str) -> TorrentSummary | None:
        return self.rows.get(info_hash)

    def trackers(self, info_hash: str) -> list[TrackerInfo]:
        self.tracker_asks += 1
        urls = self.rows[info_hash].tracker_urls
        return [TrackerInfo(u, 0, TrackerStatus.WORKING, 0, 0, 0, 0, "") for u in urls]

    def labels_of(self, h: str) -> Labels:
        return self.labels.get(h) or Labels()

    # -- changes
    def put(self, h: str, **changes: Any) -> None:
        self.version += 1
        old = self.rows.get(h) or FakeSummary(info_hash=h, name=h[:4], has_metadata=True, total_size=10)
        self.rows[h] = dataclasses.replace(old, version=self.version, **changes)

    def remove(self, h: str) -> None:
        del self.rows[h]
        self.version += 1
        self.tombstones.append((self.version, h))

    def label(self, h: str, category: str = "", tags: tuple[str, ...] = ()) -> None:
        self.label_clock += 1
        self.labels[h] = Labels(category, tags, self.label_clock)


class Rig:
    def __init__(self) -> None:
        self.table = Table()
        self.extras = TorrentExtras()
        self.store = CategoryStore()
        self.listing = Listing()
        self.state = SyncState()

    def refresh(self) -> Listing:
        self.listing.refresh(self.table, self.extras)
        return self.listing

    def full(self) -> tuple[dict[str, Any], list[bytes]]:
        return full_update(self.refresh(), self.store, dict(SERVER), self.state)

    def delta(self, server: dict[str, Any] | None = None) -> dict[str, Any] | None:
        return delta(self.refresh(), self.store, dict(server or SERVER), self.state)


@pytest.fixture
def rig() -> Rig:
    r = Rig()
    for h in (A, B, C):
        r.table.put(h)
    r.table.label(A, "tv", ("hd",))
    r.store.ensure_category("tv")
    r.store.ensure_tags(("hd",))
    return r


def test_full_update_has_everything(rig: Rig) -> None:
    rest, fragments = rig.full()
    assert rest == {
        "categories": {"tv": {"name": "tv", "savePath": ""}},
        "full_update": True,
        "server_state": SERVER,
        "tags": ["hd"],
        "trackers": {},
    }
    assert [f.split(b":", 1)[0] for f in fragments] == [f'"{h}"'.encode() for h in (A, B, C)]
    assert set(rig.state.items) == {A, B, C}
    assert rig.state.generation == rig.listing.generation


def test_nothing_changed_is_an_empty_delta(rig: Rig) -> None:
    rig.full()
    assert rig.delta() == {}
    assert rig.delta() == {}


def test_delta_has_exactly_the_changed_keys(rig: Rig) -> None:
    rig.full()
    rig.table.put(B, download_rate=5, state=TorrentState.DOWNLOADING)
    out = rig.delta()
    # What the rate changes: the speed, the eta (nothing left: 0, not infinite) and the state.
    assert out == {"torrents": {B: {"dlspeed": 5, "eta": 0, "state": "downloading"}}}
    # The session holds the new item: the same change is not sent twice.
    assert rig.delta() == {}


def test_a_row_version_without_a_visible_change_sends_nothing(rig: Rig) -> None:
    rig.full()
    rig.table.put(C)  # a new version, the same values
    assert rig.delta() == {}


def test_added_torrent_is_sent_whole_without_hash(rig: Rig) -> None:
    rig.full()
    d = "dd" * 20
    rig.table.put(d, download_rate=1)
    out = rig.delta()
    assert out is not None
    assert list(out) == ["torrents"]
    assert set(out["torrents"][d]) == set(ITEM_KEYS) - {"hash"}


def test_removed_torrents(rig: Rig) -> None:
    rig.full()
    rig.table.remove(B)
    assert rig.delta() == {"torrents_removed": [B]}
    assert B not in rig.state.items
    # A torrent added and removed between two polls was never sent: nothing to say.
    rig.table.put("ee" * 20)
    rig.table.remove("ee" * 20)
    assert rig.delta() == {}


def test_removed_then_added_again_is_a_change(rig: Rig) -> None:
    rig.full()
    rig.table.remove(B)
    rig.table.put(B, name="again")
    assert rig.delta() == {
        "torrents": {
            B: {"content_path": "/again", "magnet_uri": f"magnet:?xt=urn:btih:{B}&dn=again", "name": "again"}
        }
    }


def test_label_changes_without_a_row_change(rig: Rig) -> None:
    rig.full()
    rig.table.label(C, "tv", ("hd", "new"))
    assert rig.delta() == {"torrents": {C: {"category": "tv", "tags": "hd, new"}}}


def test_extras_changes_without_a_row_change(rig: Rig) -> None:
    rig.full()
    rig.extras.edit(A).force_start = True
    assert rig.delta() == {"torrents": {A: {"force_start": True, "state": "forcedDL"}}}


async def test_categories_and_tags_added_and_removed(rig: Rig) -> None:
    rig.full()
    await rig.store.create_category("movies", "/data/movies")
    await rig.store.create_tags(["new"])
    assert rig.delta() == {
        "categories": {"movies": {"name": "movies", "savePath": "/data/movies"}},
        "tags": ["new"],
    }
    await rig.store.edit_category("movies", "/m")
    assert rig.delta() == {"categories": {"movies": {"name": "movies", "savePath": "/m"}}}
    await rig.store.remove_categories(["tv", "movies"])
    rig.store.tags.discard("hd")
    rig.store.categories["x"] = Category("x")
    rig.store.version += 1
    assert rig.delta() == {
        "categories": {"x": {"name": "x", "savePath": ""}},
        "categories_removed": ["tv", "movies"],
        "tags_removed": ["hd"],
    }


def test_server_state_sends_only_what_changed(rig: Rig) -> None:
    rig.full()
    assert rig.delta({**SERVER, "dl_info_speed": 9}) == {"server_state": {"dl_info_speed": 9}}
    assert rig.delta({**SERVER, "dl_info_speed": 9}) == {}


def _trackers(*urls: str) -> dict[str, Any]:
    """A row's tracker fields, as both engines fill them."""
    return {"tracker_urls": urls, "num_trackers": len(urls)}


def test_trackers_added_and_removed(rig: Rig) -> None:
    rig.table.put(A, **_trackers("http://t/a"))
    rest, _ = rig.full()
    assert rest["trackers"] == {"http://t/a": [A]}
    rig.table.put(B, **_trackers("http://t/a", "http://t/b"))
    out = rig.delta()
    assert out is not None
    assert out["trackers"] == {"http://t/a": [A, B], "http://t/b": [B]}
    rig.table.remove(A)
    rig.table.put(B, **_trackers("http://t/b"))
    out = rig.delta()
    assert out is not None
    assert out["torrents_removed"] == [A]
    assert out["trackers"] == {"http://t/b": [B]}
    assert out["trackers_removed"] == ["http://t/a"]


def test_a_tracker_replaced_by_another_is_seen_and_the_engine_never_asked(rig: Rig) -> None:
    """The row's ``tracker_urls`` are the listing's only source: a swap that keeps the count shows,
    and no listing calls ``trackers()`` (a blocking engine call per torrent)."""
    rig.table.put(A, **_trackers("http://t/a"))
    rest, _ = rig.full()
    assert rest["trackers"] == {"http://t/a": [A]}
    assert "tr=http%3a%2f%2ft%2fa" in rig.listing.items[A]["magnet_uri"]
    rig.table.put(A, **_trackers("http://t/b"))
    out = rig.delta()
    assert out is not None
    assert out["trackers"] == {"http://t/b": [A]}
    assert out["trackers_removed"] == ["http://t/a"]
    assert "tr=http%3a%2f%2ft%2fb" in out["torrents"][A]["magnet_uri"]
    rig.table.put(A, download_rate=3)
    rig.refresh()
    assert rig.table.tracker_asks == 0


def test_sessions_at_different_generations(rig: Rig) -> None:
    """Two sessions polling at different times each get what changed since their own last answer."""
    rig.full()
    other = SyncState()
    full_update(rig.listing, rig.store, dict(SERVER), other)
    rig.table.put(A, downloaded_session=1)
    assert rig.delta() == {"torrents": {A: {"downloaded_session": 1}}}
    rig.table.put(B, uploaded_session=2)
    assert rig.delta() == {"torrents": {B: {"uploaded_session": 2}}}
    late = delta(rig.refresh(), rig.store, dict(SERVER), other)
    assert late == {"torrents": {A: {"downloaded_session": 1}, B: {"uploaded_session": 2}}}


def test_engine_resync_makes_every_session_take_a_full_update(rig: Rig) -> None:
    rig.full()
    rig.table.put(A, downloaded_session=1)
    rig.table.floor = rig.table.version  # the engine forgot removals the listing had not seen
    assert rig.delta() is None
    rig.full()
    assert rig.delta() == {}


def test_forgotten_removals_mean_a_full_update(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Listing, "MAX_REMOVED", 4)
    rig.full()
    old = SyncState()
    full_update(rig.listing, rig.store, dict(SERVER), old)
    for i in range(6):
        h = f"{i:02d}" * 20
        rig.table.put(h)
        rig.refresh()
        rig.table.remove(h)
        rig.refresh()
    assert delta(rig.refresh(), rig.store, dict(SERVER), old) is None
    rig.full()
    assert rig.delta() == {}


def test_the_listing_walks_the_table_once_per_refresh(rig: Rig) -> None:
    rig.full()
    calls: list[int] = []
    original = rig.table.changed_since

    def counted(version: int) -> Changes:
        calls.append(version)
        return original(version)

    rig.table.changed_since = counted  # type: ignore[method-assign]
    rig.table.put(A, download_rate=1)
    rig.delta()
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (None, {"hash": A, "x": 1}, {"x": 1}),
        ({"hash": A, "x": 1}, {"hash": A, "x": 1}, None),
        ({"hash": A, "x": 1, "y": 2}, {"hash": A, "x": 1, "y": 3}, {"y": 3}),
        ({"hash": A, "x": 1}, {"hash": B, "x": 2}, {"x": 2}),  # never "hash"
    ],
)
def test_changed_item(
    old: dict[str, Any] | None, new: dict[str, Any], expected: dict[str, Any] | None
) -> None:
    assert changed_item(old, new) == expected


def _answer(rig: Rig, rid: int) -> dict[str, Any]:
    pieces = answer(rig.refresh(), rig.store, dict(SERVER), rig.state, rid)
    out: dict[str, Any] = orjson.loads(b"".join(pieces))
    return out


@pytest.mark.parametrize("first", [0, -1, 7])
def test_rid_zero_or_unknown_is_a_full_update(rig: Rig, first: int) -> None:
    out = _answer(rig, first)
    assert out["full_update"] is True
    assert set(out["torrents"]) == {A, B, C}
    assert all("hash" not in t for t in out["torrents"].values())
    assert out["rid"] == 1


def test_rids_count_and_a_stale_one_is_a_full_update(rig: Rig) -> None:
    assert _answer(rig, 0)["rid"] == 1
    assert _answer(rig, 1) == {"rid": 2}
    rig.table.put(A, downloaded_session=4)
    assert _answer(rig, 2) == {"torrents": {A: {"downloaded_session": 4}}, "rid": 3}
    stale = _answer(rig, 2)
    assert stale["full_update"] is True
    assert stale["rid"] == 4
    assert _answer(rig, 4) == {"rid": 5}


def test_rid_wraps_at_a_million(rig: Rig) -> None:
    _answer(rig, 0)
    rig.state.rid = 1_000_000
    assert _answer(rig, 1_000_000) == {"rid": 1}


def test_kept_sort_orders_equal_a_fresh_sort() -> None:
    """``Listing.ordered`` (kept between requests) is what torrents/info's own sort gives, through
    changes that keep the order, renames that move it, equal names, adds and removals."""
    from revaer.api.qbittorrent.info import InfoQuery, order, render, sort_key

    rig = Rig()
    hashes = [f"{i:02x}" * 20 for i in range(1, 40)]
    for i, h in enumerate(hashes):
        rig.table.put(h, name=f"Name {i % 7}", total_size=1000 - i, upload_rate=i % 3)
    steps: list[Callable[[], None]] = [
        lambda: None,
        lambda: rig.table.put(hashes[3], upload_rate=99),  # the order by name stays
        lambda: rig.table.put(hashes[5], name="aaa first"),
        lambda: rig.table.put(hashes[6], name="name 3"),  # equal when case is folded
        lambda: rig.table.put("ff" * 20, name="Zed"),
        lambda: rig.table.remove(hashes[0]),
        lambda: rig.table.put(hashes[7], total_size=5),
    ]
    for step in steps:
        step()
        listing = rig.refresh()
        for key in ("name", "size", "upspeed"):
            for reverse in (False, True):
                expected = list(listing.items.values())
                order(expected, InfoQuery(sort=key, reverse=reverse))
                got = listing.ordered(key, reverse, sort_key)
                assert got == [i["hash"] for i in expected]
                q = InfoQuery(sort=key, reverse=reverse, offset=2, limit=5)
                body = orjson.loads(b"".join(render(listing, q)))
                assert [i["hash"] for i in body] == got[2:7]
