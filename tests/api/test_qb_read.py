"""The façade's read half against qBittorrent's captured answers (/work/shared/golden, 4.5.2).

Key sets, value types, status codes and text bodies; 4.6.7 adds the two
``*inactive*`` keys to items and preferences and ``use_subcategories`` to
``server_state``.
"""

from __future__ import annotations

import asyncio
import gzip
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from revaer.api.qbittorrent import reading
from revaer.api.qbittorrent.items import ITEM_KEYS
from revaer.torrents import AddOptions
from tests.api.conftest import Api
from tests.support.torrents import synthetic_torrent

GOLDEN = Path(__file__).resolve().parents[3] / "shared" / "golden"
if not GOLDEN.is_dir():
    GOLDEN = Path("/work/shared/golden")

INACTIVE = {"inactive_seeding_time_limit", "max_inactive_seeding_time"}
UNKNOWN = "0" * 40


def golden(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text())


def kind(v: Any) -> str:
    """A JSON value's type as a client sees it (Qt writes whole doubles as integers)."""
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    return type(v).__name__


def shape(d: dict[str, Any]) -> dict[str, str]:
    return {k: kind(v) for k, v in d.items()}


async def _get(api: Api, path: str, **params: str) -> tuple[int, Any]:
    r = await api.client.get(f"/api/v2/{path}", params=params, headers=api.auth)
    if r.content_type == "application/json":
        return r.status, await r.json()
    return r.status, await r.text()


async def _post(api: Api, path: str, **form: str) -> tuple[int, Any]:
    r = await api.client.post(f"/api/v2/{path}", data=form, headers=api.auth)
    if r.content_type == "application/json":
        return r.status, await r.json()
    return r.status, await r.text()


def _add(
    api: Api,
    name: str,
    *,
    category: str = "",
    tags: tuple[str, ...] = (),
    paused: bool = True,
    files: int = 1,
    size: int = 1_000_000,
    trackers: tuple[str, ...] = (),
) -> str:
    t = synthetic_torrent(name, size=size, piece_length=256 * 1024, files=files, trackers=trackers)
    return api.torrents.add(torrent=t.data, options=AddOptions(category=category, tags=tags, paused=paused))


@pytest.fixture
async def three(ready: Api) -> tuple[Api, list[str]]:
    await ready.torrents.categories.create_category("music")
    hashes = [
        _add(ready, "alpha-00002.bin", category="music", tags=("alpha",)),
        _add(ready, "alpha-00010.bin", category="music", tags=("beta", "gamma")),
        _add(
            ready, "Bravo", tags=("gamma",), files=3, paused=False, trackers=("http://127.0.0.1:9/announce",)
        ),
    ]
    return ready, hashes


async def test_identity(ready: Api) -> None:
    assert await _get(ready, "app/version") == (200, "v4.6.7")
    assert await _post(ready, "app/version") == (200, "v4.6.7")
    assert await _get(ready, "app/webapiVersion") == (200, "2.9.3")
    status, info = await _get(ready, "app/buildInfo")
    assert status == 200
    assert shape(info) == shape(golden("app_buildInfo.json"))
    assert info["libtorrent"].startswith("2.")
    status, path = await _get(ready, "app/defaultSavePath")
    assert (status, path) == (200, str(ready.root))
    ready.client.session.cookie_jar.clear()
    r = await ready.client.get("/api/v2/app/webapiVersion")
    assert (r.status, await r.text()) == (403, "Forbidden")


async def test_preferences(ready: Api) -> None:
    status, prefs = await _get(ready, "app/preferences")
    assert status == 200
    expected = golden("app_preferences.json")
    assert set(prefs) - set(expected) == {"max_inactive_seeding_time", "max_inactive_seeding_time_enabled"}
    assert set(expected) <= set(prefs)
    for k, v in expected.items():
        assert kind(prefs[k]) == kind(v), k
    assert prefs["save_path"] == str(ready.root)
    assert prefs["queueing_enabled"] is False
    assert prefs["max_ratio_enabled"] is False
    assert prefs["dht"] is True  # engine.dht's default


async def test_info_item_shape(three: tuple[Api, list[str]]) -> None:
    api, hashes = three
    status, items = await _get(api, "torrents/info")
    assert status == 200
    assert [i["hash"] for i in items] == hashes
    want = shape(golden("torrents_info_item.json"))
    for item in items:
        assert tuple(item) == ITEM_KEYS
        got = shape(item)
        assert set(got) - set(want) == INACTIVE
        assert {k: got[k] for k in want} == want
    first = items[0]
    assert first["state"] == "pausedDL"
    assert first["tags"] == "alpha"
    assert items[1]["tags"] == "beta, gamma"
    assert first["category"] == "music"
    assert first["eta"] == 8640000
    assert first["ratio"] == 0
    assert first["ratio_limit"] == -2
    assert first["max_ratio"] == -1
    assert first["dl_limit"] == 0
    assert first["up_limit"] == 0
    assert first["magnet_uri"] == f"magnet:?xt=urn:btih:{hashes[0]}&dn=alpha-00002.bin"
    assert first["content_path"] == f"{api.root}/music/alpha-00002.bin"
    assert first["infohash_v1"] == hashes[0]
    assert first["infohash_v2"] == ""


async def test_info_parameters(three: tuple[Api, list[str]]) -> None:
    api, (a, _b, c) = three

    async def names(**params: str) -> list[str]:
        status, items = await _get(api, "torrents/info", **params)
        assert status == 200
        return [i["name"] for i in items]

    assert await names(category="music") == ["alpha-00002.bin", "alpha-00010.bin"]
    assert await names(category="") == ["Bravo"]
    assert await names(category="nonexistent") == []
    assert await names(tag="gamma") == ["alpha-00010.bin", "Bravo"]
    assert await names(tag="") == []
    assert await names(filter="paused") == ["alpha-00002.bin", "alpha-00010.bin"]
    assert await names(filter="resumed") == ["Bravo"]
    assert await names(filter="bogus") == await names()
    for f in (
        "all",
        "downloading",
        "seeding",
        "completed",
        "active",
        "inactive",
        "stalled",
        "stalled_uploading",
        "stalled_downloading",
        "checking",
        "moving",
        "errored",
    ):
        assert (await _get(api, "torrents/info", filter=f))[0] == 200
    assert await names(filter="completed") == []
    assert await names(filter="errored") == []
    # Case-insensitive order: "alpha" before "Bravo".
    assert await names(sort="name") == ["alpha-00002.bin", "alpha-00010.bin", "Bravo"]
    assert await names(sort="name", reverse="true") == ["Bravo", "alpha-00010.bin", "alpha-00002.bin"]
    assert await names(sort="name", limit="1") == ["alpha-00002.bin"]
    assert await names(sort="name", limit="0") == ["alpha-00002.bin", "alpha-00010.bin", "Bravo"]
    assert await names(sort="name", offset="-1") == ["Bravo"]
    assert await names(sort="name", offset="1", limit="1") == ["alpha-00010.bin"]
    assert await names(sort="name", offset="9") == ["alpha-00002.bin", "alpha-00010.bin", "Bravo"]
    assert await names(sort="name", limit="x", offset="y") == ["alpha-00002.bin", "alpha-00010.bin", "Bravo"]
    assert await names(hashes=f"{a.upper()}|{c}") == ["alpha-00002.bin", "Bravo"]
    assert await names(hashes="garbage|../../etc") == []
    assert await names(hashes="") == await names()
    bad = golden("torrents_info_sort_unknown.json")
    assert await _get(api, "torrents/info", sort="nosuchfield") == (bad["status"], bad["body"])
    # POST carries the parameters in the body.
    assert [i["name"] for i in (await _post(api, "torrents/info", category="music", limit="1"))[1]] == [
        "alpha-00002.bin"
    ]


async def test_info_sort_unknown_on_empty_list(ready: Api) -> None:
    assert await _get(ready, "torrents/info", sort="nosuchfield") == (200, [])


async def test_properties(three: tuple[Api, list[str]]) -> None:
    api, (a, _, _c) = three
    status, props = await _get(api, "torrents/properties", hash=a.upper())
    assert status == 200
    want = shape(golden("torrents_properties_multifile_paused.json"))
    assert shape(props) == want
    assert props["hash"] == a
    assert props["pieces_num"] == 4
    assert props["piece_size"] == 256 * 1024
    assert props["total_size"] == 1_000_000
    assert props["dl_limit"] == -1
    assert props["up_limit"] == -1
    assert props["completion_date"] == -1
    assert props["last_seen"] == -1
    for name in ("properties_unknown_hash", "properties_malformed_hash", "properties_missing_hash"):
        g = golden("errors.json")[name]
        r = await api.client.get(g["request"]["path"], headers=api.auth)
        assert (r.status, await r.text()) == (g["status"], g["body"])
    assert (await _get(api, "torrents/properties", hash="../" * 20))[0] == 404


async def test_properties_magnet_without_metadata(ready: Api) -> None:
    h = ready.torrents.add(magnet="magnet:?xt=urn:btih:" + "ab" * 20 + "&dn=lab-magnet")
    status, props = await _get(ready, "torrents/properties", hash=h)
    assert status == 200
    want = golden("torrents_properties_magnet_no_metadata_queuedDL.json")
    assert shape(props) == shape(want)
    for k in ("total_size", "piece_size", "pieces_num", "creation_date", "completion_date", "last_seen"):
        assert props[k] == -1, k
    assert await _get(ready, "torrents/files", hash=h) == (200, [])
    assert await _get(ready, "torrents/pieceStates", hash=h) == (200, [])
    assert await _get(ready, "torrents/pieceHashes", hash=h) == (200, [])
    status, items = await _get(ready, "torrents/info", hashes=h)
    assert items[0]["state"] in ("metaDL", "stalledDL", "checkingDL")
    assert items[0]["content_path"] == ""


async def test_files(three: tuple[Api, list[str]]) -> None:
    api, (_a, _, c) = three
    status, files = await _get(api, "torrents/files", hash=c)
    assert status == 200
    multi = golden("torrents_files_multifile_paused.json")
    assert [shape(f) for f in files] == [shape(f) for f in multi[:3]]
    assert [f["index"] for f in files] == [0, 1, 2]
    assert files[0]["piece_range"][0] == 0
    assert files[-1]["piece_range"][1] == 3
    status, files = await _get(api, "torrents/files", hash=c, indexes="1|2")
    assert [f["index"] for f in files] == [1, 2]
    assert "is_seed" not in files[0]
    assert await _get(api, "torrents/files", hash=c, indexes="7") == (409, "Index 7 is out of bounds.")
    assert await _get(api, "torrents/files", hash=c, indexes="x") == (409, '"x" is not a valid file index.')
    errors = golden("errors.json")
    for name in ("files_unknown_hash", "files_missing_hash"):
        g = errors[name]
        r = await api.client.get(g["request"]["path"], headers=api.auth)
        assert (r.status, await r.text()) == (g["status"], g["body"])


async def test_trackers_webseeds_pieces(three: tuple[Api, list[str]]) -> None:
    api, (a, _, c) = three
    status, trackers = await _get(api, "torrents/trackers", hash=c)
    assert status == 200
    want = golden("torrents_trackers_tracker_forced.json")
    assert [t["url"] for t in trackers[:3]] == ["** [DHT] **", "** [PeX] **", "** [LSD] **"]
    assert [shape(t) for t in trackers] == [shape(t) for t in want[: len(trackers)]]
    assert all(t["tier"] == -1 for t in trackers[:3])
    assert trackers[0]["status"] == 2  # DHT on by default
    g = golden("errors.json")["trackers_unknown_hash"]
    r = await api.client.get(g["request"]["path"], headers=api.auth)
    assert (r.status, await r.text()) == (g["status"], g["body"])

    assert await _get(api, "torrents/webseeds", hash=a) == (200, golden("torrents_webseeds.json"))
    assert (await _get(api, "torrents/webseeds", hash=UNKNOWN))[0] == 404
    status, states = await _get(api, "torrents/pieceStates", hash=a)
    assert (status, states) == (200, [0, 0, 0, 0])
    status, hashes = await _get(api, "torrents/pieceHashes", hash=a)
    assert status == 200
    assert len(hashes) == 4
    assert all(len(h) == 40 for h in hashes)
    assert (await _get(api, "torrents/pieceStates"))[0] == 400
    assert (await _get(api, "torrents/pieceHashes", hash=UNKNOWN))[0] == 404
    # qBittorrent 4.5.2 (the golden) predates torrents/count; 4.6 (WebAPI 2.9) answers the number.
    r = await api.client.get("/api/v2/torrents/count", headers=api.auth)
    assert (r.status, await r.text()) == (200, str(len(api.torrents.snapshot())))


async def test_transfer(ready: Api) -> None:
    status, info = await _get(ready, "transfer/info")
    assert status == 200
    assert shape(info) == shape(golden("transfer_info.json"))
    assert await _get(ready, "transfer/uploadLimit") == (200, "0")
    assert await _post(ready, "transfer/setUploadLimit", limit="1048576") == (200, "")
    assert await _get(ready, "transfer/uploadLimit") == (200, "1048576")
    assert ready.engine.settings["upload_rate_limit"] == 1048576
    assert await _post(ready, "transfer/setDownloadLimit", limit="2048") == (200, "")
    assert await _get(ready, "transfer/downloadLimit") == (200, "2048")
    assert (await _get(ready, "transfer/info"))[1]["dl_rate_limit"] == 2048
    assert await _post(ready, "transfer/setDownloadLimit", limit="-5") == (200, "")
    assert await _get(ready, "transfer/downloadLimit") == (200, "0")
    assert await _post(ready, "transfer/setUploadLimit") == (400, "Bad Request")
    r = await ready.client.get("/api/v2/transfer/setUploadLimit?limit=1", headers=ready.auth)
    assert (r.status, await r.text()) == (405, "Method Not Allowed")
    assert ready.listener is not None
    assert ready.listener.config.engine.upload_limit == 1048576


async def test_maindata(three: tuple[Api, list[str]]) -> None:
    api, (a, b, c) = three
    status, full = await _get(api, "sync/maindata", rid="0")
    assert status == 200
    g = golden("sync_maindata_rid0_trimmed.json")
    assert set(full) == set(g) - {"_note"}
    assert full["full_update"] is True
    assert full["rid"] == 1
    assert set(full["server_state"]) - set(g["server_state"]) == {"use_subcategories"}
    for k, v in g["server_state"].items():
        assert kind(full["server_state"][k]) == kind(v), k
    assert set(full["torrents"]) == {a, b, c}
    item = next(iter(g["torrents"].values()))
    for t in full["torrents"].values():
        assert set(t) - set(item) == INACTIVE
        assert "hash" not in t
    assert full["categories"] == {"music": {"name": "music", "savePath": ""}}
    assert sorted(full["tags"]) == ["alpha", "beta", "gamma"]
    assert full["trackers"] == {"http://127.0.0.1:9/announce": [c]}  # Bravo's, as the FakeEngine lists it

    # Nothing changed: just the next rid.
    status, body = await _get(api, "sync/maindata", rid="1")
    body.pop("server_state", None)  # free space on disk may move
    assert body == {"rid": 2}

    # A change of labels, a category and a tag, a removal.
    api.torrents.set_labels(a, category="", tags=("alpha", "zeta"))
    await api.torrents.categories.create_category("newcat", "")
    api.torrents.remove(b)
    api.engine.resume(a)
    status, delta = await _get(api, "sync/maindata", rid="2")
    assert delta["rid"] == 3
    assert "full_update" not in delta
    assert delta["torrents_removed"] == [b]
    assert delta["torrents"][a]["category"] == ""
    assert delta["torrents"][a]["tags"] == "alpha, zeta"
    assert "name" not in delta["torrents"][a]
    assert delta["categories"] == {"newcat": {"name": "newcat", "savePath": ""}}
    assert delta["tags"] == ["zeta"]

    await api.torrents.remove_categories(["newcat"])
    await api.torrents.delete_tags(["zeta"])
    status, delta = await _get(api, "sync/maindata", rid="3")
    assert delta["categories_removed"] == ["newcat"]
    assert delta["tags_removed"] == ["zeta"]
    assert delta["torrents"][a]["tags"] == "alpha"

    # Stale, unknown and non-numeric rids get a full update.
    for rid in ("1", "999", "abc", ""):
        status, body = await _get(api, "sync/maindata", rid=rid)
        assert body["full_update"] is True, rid
        assert set(body["torrents"]) == {a, c}
    g = golden("errors.json")["maindata_no_rid"]
    assert g["status"] == 200


async def test_maindata_unchanged_while_wall_time_passes(three: tuple[Api, list[str]]) -> None:
    """The fake moves only when stepped: real time between two calls changes nothing."""
    api, (_, _, c) = three
    status, full = await _get(api, "sync/maindata", rid="0")
    assert status == 200
    assert full["torrents"][c]["state"] == "checkingDL"
    await asyncio.sleep(0.08)  # longer than the pump's old timer, which used to move the fake here
    status, body = await _get(api, "sync/maindata", rid=str(full["rid"]))
    body.pop("server_state", None)  # free space on disk may move
    assert body == {"rid": full["rid"] + 1}
    # Stepped, the fake does move: checking ends, the torrent stalls (rate 0).
    api.step(1.0)
    status, delta = await _get(api, "sync/maindata", rid=str(full["rid"] + 1))
    assert delta["torrents"] == {c: {"state": "stalledDL"}}


async def test_maindata_per_session(three: tuple[Api, list[str]]) -> None:
    api, _ = three
    c = api.client
    c.session.cookie_jar.clear()
    assert (
        await c.post("/api/v2/auth/login", data={"username": "admin", "password": "correct horse"})
    ).status == 200
    r = await c.get("/api/v2/sync/maindata")
    assert (await r.json())["rid"] == 1
    r = await c.get("/api/v2/sync/maindata", params={"rid": "1"})
    assert "full_update" not in await r.json()
    # The bearer session has its own rid: rid 1 is unknown there.
    _status, body = await _get(api, "sync/maindata", rid="1")
    assert body["full_update"] is True


async def test_torrent_peers(three: tuple[Api, list[str]]) -> None:
    api, (a, _, _) = three
    status, body = await _get(api, "sync/torrentPeers", hash=a, rid="0")
    assert status == 200
    assert set(body) == {"full_update", "peers", "rid", "show_flags"}
    g = golden("errors.json")["torrentPeers_unknown"]
    r = await api.client.get(g["request"]["path"], headers=api.auth)
    assert (r.status, await r.text()) == (g["status"], g["body"])
    assert (await _get(api, "sync/torrentPeers"))[0] == 400


async def test_reads_need_a_session(three: tuple[Api, list[str]]) -> None:
    api, (a, _, _) = three
    api.client.session.cookie_jar.clear()
    for path in (
        "torrents/info",
        f"torrents/properties?hash={a}",
        "sync/maindata",
        "transfer/info",
        "app/preferences",
    ):
        r = await api.client.get(f"/api/v2/{path}")
        assert (r.status, await r.text()) == (403, "Forbidden"), path


async def test_long_listings_written_in_pieces(
    three: tuple[Api, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A listing written piece by piece (as a long one is) is byte for byte the one-piece answer,
    with its Content-Length, for torrents/info (plain and gzip) and a full sync/maindata."""
    api, _ = three
    asks = (
        ("torrents/info?", "identity"),
        ("torrents/info?sort=name&limit=2&", "identity"),
        ("torrents/info?filter=paused&", "gzip"),
        ("sync/maindata?rid=0&", "identity"),
    )

    async def bodies(nonce: str) -> list[tuple[Any, str | None]]:
        out: list[tuple[Any, str | None]] = []
        for path, encoding in asks:
            # A parameter no handler reads: torrents/info's whole-response cache does not answer.
            r = await api.client.get(
                f"/api/v2/{path}n={nonce}",
                headers={**api.auth, "Accept-Encoding": encoding},
                auto_decompress=False,
            )
            assert r.status == 200
            raw = await r.read()
            assert r.headers["Content-Length"] == str(len(raw))
            data = orjson.loads(gzip.decompress(raw) if encoding == "gzip" else raw)
            if isinstance(data, dict):
                del data["server_state"]  # free space and rates may move between the two asks
            out.append((data, r.headers.get("Content-Encoding")))
        return out

    whole = await bodies("1")
    monkeypatch.setattr(reading, "PIECE_FRAGMENTS", 1)
    monkeypatch.setattr(reading, "STREAM_MIN", 0)
    assert await bodies("2") == whole
    assert whole[2][1] == "gzip"
    assert len(whole[0][0]) == 3
    assert reading.joined(b"[", [b"1", b"2", b"3"], b"]") == [b"[1", b",2", b",3", b"]"]
