"""The façade's pure conversions: qBittorrent's state names and the 51-key item of a row."""

from __future__ import annotations

import dataclasses
from typing import Any

import orjson
import pytest

from revaer.api.qbittorrent.extras import Extras
from revaer.api.qbittorrent.items import (
    ITEM_KEYS,
    MAX_ETA,
    build_item,
    fragment,
    keyed_fragment,
    lt_escape,
    qb_state,
)
from revaer.engine.fake import FakeSummary
from revaer.engine.protocol import TorrentState
from revaer.labels import Labels

H = "ab" * 20
V2 = "cd" * 32

# A downloading torrent with metadata, started, not queued: the base every case below edits.
BASE = FakeSummary(
    info_hash=H,
    state=TorrentState.DOWNLOADING,
    version=7,
    name="Some.Show.S01E01",
    save_path="/data/tv",
    has_metadata=True,
    total_size=1000,
    total_wanted=1000,
    num_trackers=0,
)
SEED = {"is_finished": True, "is_seeding": True, "state": TorrentState.SEEDING, "progress": 1.0}
PAUSED = {"paused": True, "auto_managed": False}  # by the user
QUEUED = {"paused": True, "auto_managed": True}  # by the engine's queue


def row(**changes: Any) -> FakeSummary:
    return dataclasses.replace(BASE, **changes)


STATES: list[tuple[str, dict[str, Any], bool, str]] = [
    # (case, row changes, force_start, qBittorrent's state)
    ("moving by state", {"state": TorrentState.MOVING}, False, "moving"),
    ("moving storage wins over an error", {"moving_storage": True, "error": "boom"}, False, "moving"),
    ("error by state", {"state": TorrentState.ERROR}, False, "error"),
    ("error message", {"error": "disk full"}, False, "error"),
    ("missing file", {"error": "No such file or directory"}, False, "missingFiles"),
    ("file not found", {"error": "file not found", **SEED}, False, "missingFiles"),
    ("error wins over paused", {"error": "boom", **PAUSED}, False, "error"),
    ("resume data being checked", {"checking_resume_data": True}, False, "checkingResumeData"),
    ("resume data, queued", {"checking_resume_data": True, **QUEUED}, False, "checkingResumeData"),
    ("resume data, paused by the user", {"checking_resume_data": True, **PAUSED}, False, "pausedDL"),
    ("no metadata", {"has_metadata": False}, False, "metaDL"),
    ("no metadata, forced (4.6.7 shows metaDL)", {"has_metadata": False}, True, "metaDL"),
    ("no metadata, paused", {"has_metadata": False, **PAUSED}, False, "pausedDL"),
    ("no metadata, queued", {"has_metadata": False, **QUEUED}, False, "queuedDL"),
    ("checking, unfinished", {"state": TorrentState.CHECKING}, False, "checkingDL"),
    ("checking, finished", {**SEED, "state": TorrentState.CHECKING}, False, "checkingUP"),
    ("checking, queued", {"state": TorrentState.CHECKING, **QUEUED}, False, "checkingDL"),
    ("checking, paused", {"state": TorrentState.CHECKING, **PAUSED}, False, "pausedDL"),
    ("checking, paused seed", {**SEED, "state": TorrentState.CHECKING, **PAUSED}, False, "pausedUP"),
    ("uploading", {**SEED, "upload_rate": 5}, False, "uploading"),
    ("stalled seed", SEED, False, "stalledUP"),
    ("finished, not all pieces", {"is_finished": True}, False, "stalledUP"),
    ("forced seed", SEED, True, "forcedUP"),
    ("paused seed", {**SEED, **PAUSED}, False, "pausedUP"),
    ("paused seed, forced", {**SEED, **PAUSED}, True, "pausedUP"),
    ("queued seed", {**SEED, **QUEUED}, False, "queuedUP"),
    ("queued seed, forced", {**SEED, **QUEUED}, True, "queuedUP"),
    ("downloading", {"download_rate": 5}, False, "downloading"),
    ("downloading, only uploading", {"upload_rate": 5}, False, "stalledDL"),
    ("stalled download", {}, False, "stalledDL"),
    ("stalled by state", {"state": TorrentState.STALLED}, False, "stalledDL"),
    ("forced download", {"download_rate": 5}, True, "forcedDL"),
    ("paused download", PAUSED, False, "pausedDL"),
    ("paused by state and flag", {"state": TorrentState.PAUSED, **PAUSED}, False, "pausedDL"),
    ("paused download, forced", PAUSED, True, "pausedDL"),
    ("queued download", QUEUED, False, "queuedDL"),
    ("queued by state and flag", {"state": TorrentState.QUEUED, **QUEUED}, False, "queuedDL"),
    ("queued download, forced", QUEUED, True, "queuedDL"),
    ("completed", {**SEED, "state": TorrentState.COMPLETED}, False, "stalledUP"),
]


@pytest.mark.parametrize(
    ("changes", "force_start", "expected"), [c[1:] for c in STATES], ids=[c[0] for c in STATES]
)
def test_qb_state(changes: dict[str, Any], force_start: bool, expected: str) -> None:
    assert qb_state(row(**changes), force_start) == expected


# The type of every key as qBittorrent 4.6.7 writes it (numbers: int, or float when not whole).
NUMBER = (int, float)
TYPES: dict[str, type | tuple[type, ...]] = {
    **dict.fromkeys(ITEM_KEYS, int),
    **dict.fromkeys(
        [
            "category",
            "content_path",
            "download_path",
            "hash",
            "infohash_v1",
            "infohash_v2",
            "magnet_uri",
            "name",
            "save_path",
            "state",
            "tags",
            "tracker",
        ],
        str,
    ),
    **dict.fromkeys(["auto_tmm", "f_l_piece_prio", "force_start", "seq_dl", "super_seeding"], bool),
    **dict.fromkeys(["availability", "progress", "ratio", "ratio_limit", "max_ratio"], NUMBER),
}


def _typed(item: dict[str, Any]) -> None:
    assert tuple(item) == ITEM_KEYS
    assert len(item) == 51
    for key, value in item.items():
        expected = TYPES[key]
        assert isinstance(value, expected), key
        if expected is int:
            assert not isinstance(value, bool), key


def test_item_has_every_key_with_its_type() -> None:
    r = row(
        total_wanted_done=250,
        total_done=250,
        progress=0.25,
        download_rate=100,
        upload_rate=7,
        downloaded_total=250,
        uploaded_total=125,
        availability=1.5,
        num_trackers=2,
        current_tracker="http://t.example/announce",
        tracker_urls=("http://t.example/announce", "udp://u.example:80"),
    )
    item = build_item(r, Labels("tv", ("hd", "new"), 3))
    _typed(item)
    assert item["hash"] == H
    assert item["category"] == "tv"
    assert item["tags"] == "hd, new"
    assert item["save_path"] == "/data/tv"
    assert item["content_path"] == "/data/tv/Some.Show.S01E01"
    assert item["dlspeed"] == 100
    assert item["upspeed"] == 7
    assert item["eta"] == 7  # 750 bytes left at 100 B/s
    assert item["amount_left"] == 750
    assert item["ratio"] == 0.5
    assert item["progress"] == 0.25
    assert item["availability"] == 1.5
    assert item["state"] == "downloading"
    assert item["magnet_uri"] == (
        f"magnet:?xt=urn:btih:{H}&dn=Some.Show.S01E01"
        "&tr=http%3a%2f%2ft.example%2fannounce&tr=udp%3a%2f%2fu.example%3a80"
    )


def test_item_conventions_for_an_idle_torrent() -> None:
    item = build_item(row(), Labels())
    _typed(item)
    assert item["eta"] == MAX_ETA  # not downloading: infinite
    assert item["ratio"] == 0  # nothing transferred
    assert item["tags"] == ""
    assert item["category"] == ""
    assert item["dl_limit"] == 0  # unlimited (-1 in the engine) shows as 0
    assert item["up_limit"] == 0
    assert item["max_ratio"] == -1
    assert item["max_seeding_time"] == -1
    assert item["max_inactive_seeding_time"] == -1
    assert item["ratio_limit"] == -2  # use global
    assert item["seeding_time_limit"] == -2
    assert item["inactive_seeding_time_limit"] == -2
    assert item["availability"] == 0  # -1 from the engine shows as 0
    assert item["num_complete"] == 0  # unknown from the tracker: the known seeds
    assert item["priority"] == 0  # not queued
    assert item["magnet_uri"] == f"magnet:?xt=urn:btih:{H}&dn=Some.Show.S01E01"
    assert item["infohash_v1"] == H
    assert item["infohash_v2"] == ""


@pytest.mark.parametrize(
    ("changes", "key", "expected"),
    [
        ({"uploaded_total": 10**9, "downloaded_total": 1, "total_done": 1000}, "ratio", -1),  # >= 9999
        ({"uploaded_total": 5, "downloaded_total": 0, "total_done": 0}, "ratio", -1),  # up, never down
        ({"uploaded_total": 300, "downloaded_total": 200, "total_done": 200}, "ratio", 1.5),
        ({"uploaded_total": 400, "downloaded_total": 200, "total_done": 200}, "ratio", 2),  # whole: an int
        ({"download_rate": 1, "total_wanted": 10**12}, "eta", MAX_ETA),  # capped
        ({"download_rate": 10, **PAUSED}, "eta", MAX_ETA),
        ({"download_rate": 10, **SEED}, "eta", MAX_ETA),
        ({"queue_position": 4}, "priority", 5),
        ({"queue_position": 4, **SEED}, "priority", 0),  # finished torrents are not numbered
        ({"download_limit": 2048, "upload_limit": 0}, "dl_limit", 2048),
        ({"upload_limit": 0}, "up_limit", 0),
        ({"has_metadata": False}, "total_size", -1),
        ({"has_metadata": False}, "size", 0),
        ({"has_metadata": False, "progress": 0.5}, "progress", 0),
        ({"has_metadata": False}, "content_path", ""),
        ({"save_path": "/"}, "content_path", "/Some.Show.S01E01"),
        ({"save_path": "/data/tv/"}, "content_path", "/data/tv/Some.Show.S01E01"),
        ({"progress": 1.0}, "progress", 1),
        ({"num_complete": -1, "list_seeds": 4}, "num_complete", 4),
        ({"num_incomplete": -1, "list_peers": 9, "list_seeds": 4}, "num_incomplete", 5),
        ({"num_incomplete": 3}, "num_incomplete", 3),
        ({"num_peers": 6, "num_seeds": 2}, "num_leechs", 4),
        ({"last_activity": 0, "added_time": 1700000000}, "last_activity", 1700000000),
        ({"super_seeding": True}, "super_seeding", True),
        ({"sequential": True}, "seq_dl", True),
        ({"info_hash_v2": V2}, "infohash_v2", V2),
        ({"info_hash": V2[:40], "info_hash_v2": V2}, "infohash_v1", ""),  # v2 only
    ],
)
def test_item_values(changes: dict[str, Any], key: str, expected: Any) -> None:
    value = build_item(row(**changes), Labels())[key]
    assert value == expected
    assert type(value) is type(expected)


def test_magnet_of_a_hybrid_and_a_v2_only_torrent() -> None:
    hybrid = build_item(row(info_hash_v2=V2, name="a b"), Labels())
    assert hybrid["magnet_uri"] == f"magnet:?xt=urn:btih:{H}&xt=urn:btmh:1220{V2}&dn=a%20b"
    v2 = build_item(row(info_hash=V2[:40], info_hash_v2=V2, name=""), Labels())
    assert v2["magnet_uri"] == f"magnet:?xt=urn:btmh:1220{V2}"
    assert lt_escape("ä/~*") == "%c3%a4%2f~*"


def test_extras_show_in_the_item() -> None:
    extras = Extras(
        force_start=True,
        super_seeding=True,
        first_last_piece_prio=True,
        ratio_limit=1.5,
        seeding_time_limit=60,
        inactive_seeding_time_limit=30,
        auto_tmm=True,
        name="Renamed",
    )
    item = build_item(row(download_rate=5), Labels(), extras)
    _typed(item)
    assert item["state"] == "forcedDL"
    assert item["name"] == "Renamed"
    assert item["ratio_limit"] == 1.5
    assert item["seeding_time_limit"] == 60
    assert item["inactive_seeding_time_limit"] == 30
    # The torrent's own limits, also as the limits in force.
    assert (item["max_ratio"], item["max_seeding_time"], item["max_inactive_seeding_time"]) == (1.5, 60, 30)
    assert (item["super_seeding"], item["f_l_piece_prio"], item["auto_tmm"]) == (True, True, True)
    assert build_item(row(), Labels(), Extras(ratio_limit=2.0))["ratio_limit"] == 2  # whole: an int


def test_fragments_are_the_item_as_json() -> None:
    item = build_item(row(), Labels("tv", ("hd",)))
    assert orjson.loads(fragment(item)) == item
    key, _, rest = keyed_fragment(item).partition(b":")
    assert key == f'"{H}"'.encode()
    assert orjson.loads(rest) == {k: v for k, v in item.items() if k != "hash"}
