"""Items updated in the keys that read a changed row field equal items built whole, and the
changed keys a sync delta takes from the listing are exactly the keys that differ."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import pytest

from revaer.api.qbittorrent.extras import Extras, TorrentExtras
from revaer.api.qbittorrent.items import build_item, fragment, keyed_fragment, update_item, without_hash
from revaer.api.qbittorrent.listing import Listing
from revaer.api.qbittorrent.sync import SyncState, delta
from revaer.categories import CategoryStore
from revaer.engine._row import FIELD_BITS
from revaer.engine.fake import FakeSummary
from revaer.engine.protocol import Changes, TorrentState
from revaer.labels import Labels

H = "ab" * 20
V2 = "cd" * 32

BASES: list[FakeSummary] = [
    FakeSummary(
        info_hash=H,
        state=TorrentState.DOWNLOADING,
        name="Some.Show",
        save_path="/data/tv",
        has_metadata=True,
        total_size=1000,
        total_wanted=1000,
        total_wanted_done=250,
        total_done=250,
        progress=0.25,
        download_rate=100,
        queue_position=3,
        tracker_urls=("http://t.example/a",),
        num_trackers=1,
    ),
    FakeSummary(info_hash=H, state=TorrentState.SEEDING, is_seeding=True, is_finished=True, progress=1.0),
    FakeSummary(info_hash=H, state=TorrentState.PAUSED, paused=True, has_metadata=False),
    FakeSummary(info_hash=V2[:40], info_hash_v2=V2, state=TorrentState.ERROR, error="boom"),
]


def _other(value: Any) -> list[Any]:
    """Values unlike ``value`` of its type, chosen to cross the thresholds items look at."""
    if isinstance(value, TorrentState):
        return [s for s in TorrentState if s is not value]
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1, -1, 0, 10**6]
    if isinstance(value, float):
        return [value + 0.5, 1.0, 0.0, 2.0]
    if isinstance(value, str):
        return [value + "x", "No such file", V2[:40]]
    return [(*value, "udp://u.example:80"), ()]


CASES = [
    pytest.param(base, name, new, id=f"{i}-{name}-{j}")
    for i, base in enumerate(BASES)
    for name in FIELD_BITS
    for j, new in enumerate(_other(getattr(base, name)))
]


@pytest.mark.parametrize(("base", "name", "new"), CASES)
def test_an_updated_item_is_the_item_built_whole(base: FakeSummary, name: str, new: Any) -> None:
    labels, extras = Labels("tv", ("hd",)), Extras(force_start=True)
    old = build_item(base, labels, extras)
    row = dataclasses.replace(base, **{name: new}, version=base.version + 1)
    item, keys = update_item(old, base, row, labels, extras)
    whole = build_item(row, labels, extras)
    assert item == whole
    assert orjson.dumps(item) == orjson.dumps(whole)  # the same types: the same JSON
    assert set(keys) == {k for k in whole if old[k] != whole[k]}
    assert (item is old) == (not keys)


def test_a_new_version_with_nothing_shown_changed_keeps_the_item() -> None:
    base = BASES[0]
    old = build_item(base, Labels())
    assert update_item(old, base, dataclasses.replace(base, version=9), Labels()) == (old, ())
    # need_save_resume is read by no key: the item is the same object
    assert update_item(old, base, dataclasses.replace(base, need_save_resume=True), Labels())[0] is old


def test_the_keyed_fragment_is_the_item_without_its_hash() -> None:
    tricky = dataclasses.replace(BASES[0], name=f'"hash":"{H}",', save_path=f'/x","hash":"{H}",')
    item = build_item(tricky, Labels(f'"hash":"{H}",'))
    expected = b'"' + H.encode() + b'":' + orjson.dumps(without_hash(item))
    assert keyed_fragment(item) == expected
    assert keyed_fragment(item, fragment(item)) == expected


class _Source:
    """A TorrentSource over rows set by the test (labels and extras never change here)."""

    def __init__(self, rows: list[FakeSummary]) -> None:
        self.rows = {r.info_hash: r for r in rows}
        self.table_version = 1
        self.label_clock = 0

    def snapshot(self) -> list[FakeSummary]:
        return list(self.rows.values())

    def changed_since(self, version: int) -> Changes:
        rows = [r for r in self.rows.values() if r.version > version]
        return Changes(version=self.table_version, resync=False, rows=rows, removed=[])

    def get(self, h: str) -> FakeSummary | None:
        return self.rows.get(h)

    def labels_of(self, h: str) -> Labels:
        return Labels()

    def put(self, row: FakeSummary) -> None:
        self.table_version += 1
        self.rows[row.info_hash] = dataclasses.replace(row, version=self.table_version)


def test_a_sync_delta_names_the_changed_keys_the_listing_kept() -> None:
    source, extras = _Source([dataclasses.replace(BASES[0], version=1)]), TorrentExtras()
    listing, state, store = Listing(), SyncState(), CategoryStore()
    listing.refresh(source, extras)
    state.items, state.generation = dict(listing.items), listing.generation
    state.trackers = dict(listing.trackers)
    for rate in (0, 5, 5, 7):
        source.put(dataclasses.replace(source.rows[H], upload_rate=rate, upload_limit=rate))
        listing.refresh(source, extras)
        before = state.items[H]
        out = delta(listing, store, {}, state)
        assert out is not None
        expected = {k: v for k, v in listing.items[H].items() if before[k] != v and k != "hash"}
        assert out.get("torrents", {}).get(H) == (expected or None)
        # An entry updated in place encodes its fragments again.
        assert listing.fragments()[H] == fragment(listing.items[H])
        assert listing.keyed()[H] == keyed_fragment(listing.items[H])
