"""The façade's write endpoints: add, actions, categories and tags, setPreferences.

Each answers as qBittorrent 4.x does (golden/errors.json and the 4.6.7 source);
bad input gets its plain-text answer and changes nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from revaer.api.keys import API_OPTIONS
from revaer.api.qbittorrent.add import MAX_URLS
from revaer.api.qbittorrent.extras import EXTRAS, TorrentExtras
from revaer.api.qbittorrent.preferences_write import PREFERENCES
from revaer.torrent_adds import ADD_CHUNK
from tests.api.conftest import Api
from tests.api.test_v1 import _sse
from tests.support.torrents import synthetic_torrent

MAGNET = "magnet:?xt=urn:btih:" + "ab" * 20 + "&dn=lab-magnet&tr=http%3A%2F%2F127.0.0.1%3A9%2Fannounce"
ZERO = "0" * 40


async def _text(r: aiohttp.ClientResponse) -> tuple[int, str]:
    return r.status, await r.text()


@pytest.fixture
async def qb(ready: Api) -> Api:
    """``ready``, logged in to the façade (the SID cookie is in the client's jar)."""
    r = await ready.client.post("/api/v2/auth/login", data={"username": "admin", "password": "correct horse"})
    assert await _text(r) == (200, "Ok.")
    return ready


def facade(api: Api) -> web.Application:
    """The ``/api/v2`` sub-application (where the façade keeps its state)."""
    assert api.client.app is not None
    for r in api.client.app.router.resources():
        if isinstance(r, web.PrefixedSubAppResource) and r.canonical == "/api/v2":
            return r._app
    raise AssertionError("no /api/v2 sub-app")


def extras(api: Api) -> TorrentExtras:
    return facade(api)[EXTRAS]


async def post(c: TestClient[Any, Any], path: str, data: Any = None) -> tuple[int, str]:
    return await _text(await c.post(f"/api/v2/{path}", data=data))


async def v1_torrents(api: Api) -> list[dict[str, Any]]:
    r = await api.client.get("/v1/torrents", headers=api.auth)
    assert r.status == 200
    body: list[dict[str, Any]] = (await r.json())["torrents"]
    return body


def _files(*items: tuple[str, bytes], **fields: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    for filename, data in items:
        form.add_field("torrents", data, filename=filename, content_type="application/x-bittorrent")
    return form


# ---- torrents/add -------------------------------------------------------------------------------


async def test_add_magnet_and_file_with_options(qb: Api) -> None:
    c = qb.client
    assert await post(c, "torrents/add", {"urls": MAGNET, "category": "linux", "tags": "newtag"}) == (
        200,
        "Ok.",
    )
    h = "ab" * 20
    [t] = await v1_torrents(qb)
    assert (t["info_hash"], t["category"], t["tags"]) == (h, "linux", ["newtag"])
    # A duplicate is 200 Fails., as qBittorrent answers.
    assert await post(c, "torrents/add", {"urls": MAGNET}) == (200, "Fails.")

    tor = synthetic_torrent("show.s01e01.mkv", size=4 * 1024 * 1024, files=2)
    dest = str(qb.root / "tv" / "season1")
    form = _files(
        ("show.torrent", tor.data),
        category="tv",
        tags="a, b,,a",
        savepath=dest,
        paused="true",
        ratioLimit="1.5",
        seedingTimeLimit="60",
        firstLastPiecePrio="true",
        sequentialDownload="true",
        upLimit="1000",
        dlLimit="abc",  # qBittorrent takes its default for what it cannot parse
        rename="Show S01E01",
        contentLayout="Subfolder",
    )
    assert await post(c, "torrents/add", form) == (200, "Ok.")
    row = qb.engine.get(tor.info_hash)
    assert row is not None
    assert (row.paused, row.save_path, row.sequential) == (True, dest, True)
    assert (row.upload_limit, row.download_limit) == (1000, -1)
    rec = extras(qb).get(tor.info_hash)
    assert (rec.ratio_limit, rec.seeding_time_limit, rec.first_last_piece_prio) == (1.5, 60, True)
    assert rec.name == "Show S01E01"
    by_hash = {t["info_hash"]: t for t in await v1_torrents(qb)}
    assert by_hash[tor.info_hash]["category"] == "tv"
    assert by_hash[tor.info_hash]["tags"] == ["a", "b"]
    # 5.x's "stopped" is an alias of "paused".
    tor2 = synthetic_torrent("other", size=1024 * 1024)
    assert await post(c, "torrents/add", _files(("o.torrent", tor2.data), stopped="true")) == (200, "Ok.")
    row2 = qb.engine.get(tor2.info_hash)
    assert row2 is not None
    assert row2.paused


async def test_an_add_of_many_files_commits_them_all_before_ok(qb: Api) -> None:
    # More than one ADD_CHUNK: the first chunks are committed while the rest are added.
    tors = [synthetic_torrent(f"many-{i:03d}", size=1024 * 1024) for i in range(2 * ADD_CHUNK + 7)]
    form = _files(*((f"{i}.torrent", t.data) for i, t in enumerate(tors)), paused="true")
    assert await post(qb.client, "torrents/add", form) == (200, "Ok.")
    stored = {
        r["info_hash"] for r in await qb.database.pool.fetch("SELECT info_hash FROM revaer_runtime.torrents")
    }
    assert stored == {t.info_hash for t in tors}


async def test_an_add_with_default_settings_stores_no_settings_record(qb: Api) -> None:
    # A torrent without a record has qBittorrent's defaults: an add that sets none writes no record
    # (each one was a second transaction before "Ok.", and a walk over every record).
    plain = synthetic_torrent("plain", size=1024 * 1024)
    assert await post(qb.client, "torrents/add", _files(("p.torrent", plain.data), paused="true")) == (
        200,
        "Ok.",
    )
    assert plain.info_hash not in extras(qb).changed_since(0)
    rows = await qb.database.pool.fetch("SELECT info_hash FROM revaer_runtime.qb_torrent_settings")
    assert rows == []
    # One that sets something is stored before its "Ok.".
    prio = synthetic_torrent("prio", size=1024 * 1024)
    form = _files(("q.torrent", prio.data), paused="true", firstLastPiecePrio="true")
    assert await post(qb.client, "torrents/add", form) == (200, "Ok.")
    rows = await qb.database.pool.fetch("SELECT info_hash FROM revaer_runtime.qb_torrent_settings")
    assert [r["info_hash"] for r in rows] == [prio.info_hash]


async def test_add_refusals_change_nothing(qb: Api) -> None:
    c = qb.client
    good = synthetic_torrent("good", size=1024 * 1024)
    assert await post(c, "torrents/add", "") == (200, "Fails.")
    assert await post(c, "torrents/add", _files(category="x")) == (200, "Fails.")
    assert await post(c, "torrents/add", {"urls": "notaurl"}) == (200, "Fails.")
    assert await post(c, "torrents/add", {"urls": "ftp://127.0.0.1/x.torrent"}) == (200, "Fails.")
    assert await post(c, "torrents/add", {"urls": "magnet:?xt=urn:btih:nothex"}) == (200, "Fails.")
    garbage = _files(("garbage.torrent", b"this is not a torrent"), ("good.torrent", good.data))
    assert await post(c, "torrents/add", garbage) == (
        415,
        "Error: 'garbage.torrent' is not a valid torrent file.",
    )
    truncated = _files(("good.torrent", good.data), ("cut.torrent", good.data[:-5]))
    assert await post(c, "torrents/add", truncated) == (
        415,
        "Error: 'cut.torrent' is not a valid torrent file.",
    )
    hostile_paths = [
        str(qb.root / ".." / "escape"),
        "../../etc",
        "/etc",
        "relative/dir",
        str(qb.root) + "/\x00x",
    ]
    for path in hostile_paths:
        got = await post(c, "torrents/add", _files(("good.torrent", good.data), savepath=path))
        assert got == (200, "Fails."), path
        got = await post(c, "torrents/add", {"urls": MAGNET, "savepath": path})
        assert got == (200, "Fails."), path
    assert await post(c, "torrents/add", {"urls": MAGNET, "category": "a//b"}) == (
        409,
        "Incorrect category name",
    )
    many = "\n".join(f"magnet:?xt=urn:btih:{i:040x}" for i in range(MAX_URLS + 1))
    assert await post(c, "torrents/add", {"urls": many}) == (200, "Fails.")
    huge = (
        "magnet:?xt=urn:btih:" + "ab" * 20 + "&dn=" + "x" * (qb.app[API_OPTIONS].max_upload + 2 * 1024 * 1024)
    )
    r = await c.post(
        "/api/v2/torrents/add",
        data=io.BytesIO(b"urls=" + huge.encode()),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert await _text(r) == (413, "Payload Too Large")
    assert await _text(await c.get("/api/v2/torrents/add?urls=" + MAGNET[:60])) == (405, "Method Not Allowed")
    assert qb.engine.snapshot() == []
    assert await v1_torrents(qb) == []
    assert "a//b" not in qb.torrents.categories.categories
    # A bare info-hash is a magnet, as qBittorrent takes it.
    assert await post(c, "torrents/add", {"urls": "cd" * 20}) == (200, "Ok.")
    assert qb.engine.get("cd" * 20) is not None


@pytest.fixture
async def link_server() -> AsyncIterator[tuple[str, dict[str, bytes]]]:
    """An http server on 127.0.0.1 serving .torrent files, a redirect to a magnet, and a huge body."""
    payloads: dict[str, bytes] = {}

    async def serve(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name == "to-magnet":
            raise web.HTTPFound("magnet:?xt=urn:btih:" + "ef" * 20 + "&dn=redirected")
        if name == "hop":
            raise web.HTTPFound("/t/a.torrent")
        if name == "huge":
            return web.Response(body=b"d" + b"0" * (512 * 1024))
        if name not in payloads:
            raise web.HTTPNotFound()
        return web.Response(body=payloads[name], content_type="application/x-bittorrent")

    app = web.Application()
    app.router.add_get("/t/{name}", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/t/", payloads
    finally:
        await runner.cleanup()


async def test_add_http_links(qb: Api, link_server: tuple[str, dict[str, bytes]]) -> None:
    base, payloads = link_server
    a = synthetic_torrent("from-link", size=1024 * 1024)
    payloads["a.torrent"] = a.data
    payloads["junk.torrent"] = b"<html>not a torrent</html>"
    c = qb.client
    for bad in ("missing.torrent", "junk.torrent", "huge"):
        assert await post(c, "torrents/add", {"urls": base + bad}) == (200, "Fails."), bad
    assert qb.engine.snapshot() == []
    urls = "\n".join([base + "hop", base + "to-magnet", base + "missing.torrent", "  "])
    assert await post(c, "torrents/add", {"urls": urls, "category": "web"}) == (200, "Ok.")
    assert {r.info_hash for r in qb.engine.snapshot()} == {a.info_hash, "ef" * 20}
    assert {t["category"] for t in await v1_torrents(qb)} == {"web"}


# ---- actions ------------------------------------------------------------------------------------


async def _two(qb: Api) -> tuple[str, str]:
    a = synthetic_torrent("alpha", size=2 * 1024 * 1024, files=3)
    b = synthetic_torrent("beta", size=1024 * 1024)
    assert await post(qb.client, "torrents/add", _files(("a.torrent", a.data), ("b.torrent", b.data))) == (
        200,
        "Ok.",
    )
    return a.info_hash, b.info_hash


def _settable(api: Api) -> dict[str, tuple[object, ...]]:
    """What the actions could change, per torrent (the state moves on its own as the engine ticks)."""
    ex = extras(api)
    return {
        r.info_hash: (
            r.paused,
            r.sequential,
            r.save_path,
            r.upload_limit,
            r.download_limit,
            dataclasses.astuple(ex.get(r.info_hash)),
            dataclasses.astuple(api.torrents.labels_of(r.info_hash)),
        )
        for r in api.engine.snapshot()
    }


ACTIONS_WITH_HASHES = [
    "pause",
    "resume",
    "stop",
    "start",
    "recheck",
    "reannounce",
    "toggleSequentialDownload",
    "toggleFirstLastPiecePrio",
]


async def test_actions_need_post_and_hashes_and_skip_unknown(qb: Api) -> None:
    c = qb.client
    a, _ = await _two(qb)
    before = _settable(qb)
    for name in [
        *ACTIONS_WITH_HASHES,
        "delete",
        "setForceStart",
        "setSuperSeeding",
        "setShareLimits",
        "setUploadLimit",
        "setDownloadLimit",
        "setLocation",
        "rename",
        "filePrio",
        "setCategory",
        "addTags",
        "removeTags",
        "topPrio",
    ]:
        assert await _text(await c.get(f"/api/v2/torrents/{name}?hashes={a}")) == (405, "Method Not Allowed")
        assert await post(c, f"torrents/{name}", {}) == (400, "Bad Request"), name
    hostile = f"{ZERO}|xyz|../../etc|{'A' * 41}||%00|all|"
    for name in ACTIONS_WITH_HASHES:
        assert await post(c, f"torrents/{name}", {"hashes": hostile}) == (200, ""), name
    # golden: delete without deleteFiles is 400.
    assert await post(c, "torrents/delete", {"hashes": a}) == (400, "Bad Request")
    assert await post(c, "torrents/delete", {"hashes": hostile, "deleteFiles": "true"}) == (200, "")
    assert _settable(qb) == before


async def test_pause_resume_delete(qb: Api) -> None:
    c = qb.client
    a, b = await _two(qb)
    assert await post(c, "torrents/pause", {"hashes": f"{a.upper()}|{ZERO}"}) == (200, "")
    row = qb.engine.get(a)
    assert row is not None
    assert row.paused
    assert await post(c, "torrents/start", {"hashes": a}) == (200, "")
    row = qb.engine.get(a)
    assert row is not None
    assert not row.paused
    assert await post(c, "torrents/stop", {"hashes": "all"}) == (200, "")
    assert all(r.paused for r in qb.engine.snapshot())
    assert await post(c, "torrents/resume", {"hashes": "all"}) == (200, "")
    assert not any(r.paused for r in qb.engine.snapshot())
    assert await post(c, "torrents/recheck", {"hashes": b}) == (200, "")
    assert await post(c, "torrents/reannounce", {"hashes": b}) == (200, "")
    assert await post(c, "torrents/setForceStart", {"hashes": a, "value": "true"}) == (200, "")
    assert extras(qb).get(a).force_start
    assert await post(c, "torrents/pause", {"hashes": a}) == (200, "")
    assert not extras(qb).get(a).force_start
    assert await post(c, "torrents/delete", {"hashes": a, "deleteFiles": "false"}) == (200, "")
    assert qb.engine.get(a) is None
    assert [t["info_hash"] for t in await v1_torrents(qb)] == [b]
    assert await post(c, "torrents/delete", {"hashes": "all", "deleteFiles": "true"}) == (200, "")
    assert qb.engine.snapshot() == []


async def test_limits_share_limits_and_toggles(qb: Api) -> None:
    c = qb.client
    a, b = await _two(qb)
    assert await post(c, "torrents/setUploadLimit", {"hashes": a, "limit": "2048"}) == (200, "")
    assert await post(c, "torrents/setDownloadLimit", {"hashes": f"{a}|{b}", "limit": "4096"}) == (200, "")
    assert await post(c, "torrents/setUploadLimit", {"hashes": a, "limit": "lots"}) == (400, "Bad Request")
    r = await c.get(f"/api/v2/torrents/uploadLimit?hashes={a}|{b}|{ZERO}")
    assert r.status == 200
    assert r.content_type == "application/json"
    assert await r.json() == {a: 2048, b: 0, ZERO: -1}
    r = await c.post("/api/v2/torrents/downloadLimit", data={"hashes": f"{a}|{b}"})
    assert await r.json() == {a: 4096, b: 4096}
    assert await post(c, "torrents/setDownloadLimit", {"hashes": b, "limit": "0"}) == (200, "")
    row = qb.engine.get(b)
    assert row is not None
    assert row.download_limit == -1

    share = {"hashes": a, "ratioLimit": "2.5", "seedingTimeLimit": "120"}
    assert await post(c, "torrents/setShareLimits", share) == (400, "Bad Request")  # 4.6.7 needs inactive
    assert await post(c, "torrents/setShareLimits", {**share, "inactiveSeedingTimeLimit": "x"}) == (
        400,
        "Bad Request",
    )
    assert extras(qb).get(a).ratio_limit == -2
    assert await post(c, "torrents/setShareLimits", {**share, "inactiveSeedingTimeLimit": "-5"}) == (200, "")
    rec = extras(qb).get(a)
    assert (rec.ratio_limit, rec.seeding_time_limit, rec.inactive_seeding_time_limit) == (2.5, 120, -1)
    assert await post(
        c,
        "torrents/setShareLimits",
        {"hashes": a, "ratioLimit": "1e9", "seedingTimeLimit": "-2", "inactiveSeedingTimeLimit": "-2"},
    ) == (200, "")
    assert extras(qb).get(a).ratio_limit == 9999

    assert await post(c, "torrents/setSuperSeeding", {"hashes": b, "value": "true"}) == (200, "")
    assert extras(qb).get(b).super_seeding
    assert await post(c, "torrents/toggleFirstLastPiecePrio", {"hashes": b}) == (200, "")
    assert extras(qb).get(b).first_last_piece_prio
    row = qb.engine.get(b)
    assert row is not None
    seq = row.sequential
    assert await post(c, "torrents/toggleSequentialDownload", {"hashes": b}) == (200, "")
    row = qb.engine.get(b)
    assert row is not None
    assert row.sequential is not seq


async def test_queue_needs_queueing(qb: Api) -> None:
    c = qb.client
    a, b = await _two(qb)
    for name in ("topPrio", "bottomPrio", "increasePrio", "decreasePrio"):
        assert await post(c, f"torrents/{name}", {"hashes": a}) == (409, "Torrent queueing must be enabled")
    assert await post(c, "app/setPreferences", {"json": '{"queueing_enabled": true}'}) == (200, "")
    for name in ("topPrio", "bottomPrio", "increasePrio", "decreasePrio"):
        assert await post(c, f"torrents/{name}", {"hashes": f"{a}|{b}|{ZERO}"}) == (200, ""), name


async def test_set_location_rename_file_prio(qb: Api) -> None:
    c = qb.client
    a, b = await _two(qb)
    dest = qb.root / "moved" / "here"
    assert await post(c, "torrents/setLocation", {"hashes": a, "location": str(dest)}) == (200, "")
    assert dest.is_dir()
    row = qb.engine.get(a)
    assert row is not None
    assert row.save_path == str(dest)
    for bad in (str(qb.root / ".." / "out"), "/etc", "../x", "rel"):
        got = await post(c, "torrents/setLocation", {"hashes": b, "location": bad})
        assert got == (409, "Cannot make save path"), bad
    assert await post(c, "torrents/setLocation", {"hashes": b, "location": "  "}) == (
        400,
        "Save path cannot be empty",
    )
    row = qb.engine.get(b)
    assert row is not None
    assert row.save_path == str(qb.root)

    assert await post(c, "torrents/rename", {"hash": a, "name": " "}) == (409, "Incorrect torrent name")
    assert await post(c, "torrents/rename", {"hash": ZERO, "name": "x"}) == (404, "Not Found")
    assert await post(c, "torrents/rename", {"hash": "xyz", "name": "x"}) == (404, "Not Found")
    assert await post(c, "torrents/rename", {"hash": a, "name": "New\nName"}) == (200, "")
    assert extras(qb).get(a).name == "New Name"

    fp = {"hash": a, "id": "0|2", "priority": "0"}
    assert await post(c, "torrents/filePrio", fp) == (200, "")
    assert await post(c, "torrents/filePrio", {**fp, "priority": "high"}) == (
        400,
        "Priority must be an integer",
    )
    assert await post(c, "torrents/filePrio", {**fp, "priority": "3"}) == (400, "Priority is not valid")
    assert await post(c, "torrents/filePrio", {**fp, "hash": ZERO}) == (404, "Not Found")
    assert await post(c, "torrents/filePrio", {**fp, "id": "0|x"}) == (400, "File IDs must be integers")
    assert await post(c, "torrents/filePrio", {**fp, "id": "3"}) == (409, "File ID is not valid")
    assert await post(c, "torrents/filePrio", {**fp, "id": "-1"}) == (409, "File ID is not valid")
    assert await post(c, "torrents/add", {"urls": MAGNET}) == (200, "Ok.")
    assert await post(c, "torrents/filePrio", {**fp, "hash": "ab" * 20, "id": "0"}) == (
        409,
        "Torrent's metadata has not yet downloaded",
    )


# ---- categories and tags ------------------------------------------------------------------------


async def test_categories(qb: Api) -> None:
    c = qb.client
    assert await post(c, "torrents/createCategory", {}) == (400, "Bad Request")
    assert await post(c, "torrents/createCategory", {"category": ""}) == (400, "Category cannot be empty")
    for bad in ("a//b", "/abs", "trail/", "..", "a/../b", " spaced"):
        assert await post(c, "torrents/createCategory", {"category": bad}) == (
            409,
            "Incorrect category name",
        ), bad
    assert await post(c, "torrents/createCategory", {"category": "music"}) == (200, "")
    assert await post(c, "torrents/createCategory", {"category": "music"}) == (
        409,
        "Unable to create category",
    )
    movies = str(qb.root / "movies")
    assert await post(c, "torrents/createCategory", {"category": "movies", "savePath": movies}) == (200, "")
    assert await post(c, "torrents/createCategory", {"category": "books", "savePath": "books"}) == (200, "")
    for bad in ("../../etc", "/etc", str(qb.root / ".." / "x")):
        assert await post(c, "torrents/createCategory", {"category": "evil", "savePath": bad}) == (
            409,
            "Unable to create category",
        )
        assert await post(c, "torrents/editCategory", {"category": "movies", "savePath": bad}) == (
            409,
            "Unable to edit category",
        )
    r = await c.get("/api/v2/torrents/categories")
    assert r.content_type == "application/json"
    assert await r.json() == {
        "books": {"name": "books", "savePath": str(qb.root / "books")},
        "movies": {"name": "movies", "savePath": movies},
        "music": {"name": "music", "savePath": ""},
    }
    assert await post(c, "torrents/editCategory", {"category": "music"}) == (400, "Bad Request")
    assert await post(c, "torrents/editCategory", {"category": "", "savePath": ""}) == (
        400,
        "Category cannot be empty",
    )
    assert await post(c, "torrents/editCategory", {"category": "nope", "savePath": ""}) == (
        409,
        "Unable to edit category",
    )
    assert await post(c, "torrents/editCategory", {"category": "movies", "savePath": ""}) == (200, "")
    # The same rows in the database.
    assert qb.database is not None
    rows = await qb.database.pool.fetch("SELECT name, save_path FROM revaer_runtime.categories ORDER BY name")
    assert [(r["name"], r["save_path"]) for r in rows] == [
        ("books", str(qb.root / "books")),
        ("movies", ""),
        ("music", ""),
    ]

    a, b = await _two(qb)
    assert await post(c, "torrents/setCategory", {"hashes": a}) == (400, "Bad Request")
    assert await post(c, "torrents/setCategory", {"hashes": a, "category": "nope"}) == (
        409,
        "Incorrect category name",
    )
    assert await post(c, "torrents/setCategory", {"hashes": ZERO, "category": "nope"}) == (200, "")
    assert "nope" not in qb.torrents.categories.categories
    assert await post(c, "torrents/setCategory", {"hashes": f"{a}|{b}", "category": "music"}) == (200, "")
    assert {t["category"] for t in await v1_torrents(qb)} == {"music"}
    assert await post(c, "torrents/setCategory", {"hashes": b, "category": ""}) == (200, "")
    assert qb.torrents.labels_of(b).category == ""
    assert await post(c, "torrents/removeCategories", {}) == (400, "Bad Request")
    assert await post(c, "torrents/removeCategories", {"categories": "music\nbooks\nnope"}) == (200, "")
    assert qb.torrents.labels_of(a).category == ""
    assert await (await c.post("/api/v2/torrents/categories")).json() == {
        "movies": {"name": "movies", "savePath": ""}
    }


async def test_tags(qb: Api) -> None:
    c = qb.client
    assert await post(c, "torrents/createTags", {}) == (400, "Bad Request")
    assert await post(c, "torrents/createTags", {"tags": "alpha, beta,,gamma"}) == (200, "")
    assert sorted(await (await c.get("/api/v2/torrents/tags")).json()) == ["alpha", "beta", "gamma"]
    a, b = await _two(qb)
    assert await post(c, "torrents/addTags", {"hashes": a}) == (400, "Bad Request")
    assert await post(c, "torrents/addTags", {"hashes": f"{a}|{b}", "tags": "alpha,new"}) == (200, "")
    assert qb.torrents.labels_of(a).tags == ("alpha", "new")
    assert "new" in qb.torrents.categories.tags
    assert await post(c, "torrents/addTags", {"hashes": ZERO, "tags": "ghost"}) == (200, "")
    assert "ghost" not in qb.torrents.categories.tags
    assert await post(c, "torrents/removeTags", {"hashes": a, "tags": "alpha"}) == (200, "")
    assert qb.torrents.labels_of(a).tags == ("new",)
    assert await post(c, "torrents/removeTags", {"hashes": b}) == (200, "")  # no tags: all of them
    assert qb.torrents.labels_of(b).tags == ()
    by_hash = {t["info_hash"]: t["tags"] for t in await v1_torrents(qb)}
    assert by_hash == {a: ["new"], b: []}
    assert await post(c, "torrents/deleteTags", {}) == (400, "Bad Request")
    assert await post(c, "torrents/deleteTags", {"tags": "new,beta"}) == (200, "")
    assert qb.torrents.labels_of(a).tags == ()
    assert sorted(await (await c.get("/api/v2/torrents/tags")).json()) == ["alpha", "gamma"]


# ---- both APIs, one set of torrents --------------------------------------------------------------


async def test_v1_and_qb_see_the_same_torrents(qb: Api) -> None:
    c, auth = qb.client, qb.auth
    async with c.get("/v1/events/stream", headers=auth) as resp:
        await _sse(resp, "hello")
        assert await post(c, "torrents/add", {"urls": MAGNET, "category": "linux"}) == (200, "Ok.")
        got = await _sse(resp, "torrent.added")
        assert got[-1][2]["info_hash"] == "ab" * 20
    other = "magnet:?xt=urn:btih:" + "12" * 20 + "&dn=from-v1"
    r = await c.post("/v1/torrents/add", json={"magnet": other, "tags": ["x"]}, headers=auth)
    assert r.status == 201
    h = "12" * 20
    assert await post(c, "torrents/createCategory", {"category": "tv"}) == (200, "")
    assert await post(c, "torrents/setCategory", {"hashes": h, "category": "tv"}) == (200, "")
    assert await post(c, "torrents/addTags", {"hashes": h, "tags": "y"}) == (200, "")
    r = await c.get(f"/v1/torrents/{h}", headers=auth)
    t = await r.json()
    assert (t["category"], t["tags"]) == ("tv", ["x", "y"])
    assert await post(c, "torrents/delete", {"hashes": h, "deleteFiles": "false"}) == (200, "")
    assert (await c.get(f"/v1/torrents/{h}", headers=auth)).status == 404


# ---- app/setPreferences -------------------------------------------------------------------------


async def test_set_preferences(qb: Api) -> None:
    c = qb.client
    listener = qb.listener
    assert listener is not None
    kept = facade(qb)[PREFERENCES]
    assert await post(c, "app/setPreferences", {}) == (400, "Bad Request")
    assert await _text(await c.get("/api/v2/app/setPreferences?json={}")) == (405, "Method Not Allowed")
    before = dict(listener.config.values)
    for junk in ("not json", "[1,2]", '"text"', "{"):
        assert await post(c, "app/setPreferences", {"json": junk}) == (200, ""), junk
    new_root = str(qb.root / "elsewhere")
    prefs = {
        "save_path": new_root,
        "dht": False,
        "dl_limit": 1_000_000,
        "up_limit": -1,
        "max_connec": 300,
        "max_connec_per_torrent": 50,
        "listen_port": 16881,
        "upnp": False,
        "max_active_downloads": 7,
        "max_ratio_enabled": True,
        "max_ratio": 2.0,
        "queueing_enabled": True,
        "web_ui_port": 9999,
        "unknown nonsense key!": 1,
        "rss_feeds": [1, 2, 3],
    }
    assert await post(c, "app/setPreferences", {"json": orjson.dumps(prefs).decode()}) == (200, "")
    cfg = listener.config
    assert cfg.download_root == new_root
    assert cfg.engine.dht is False
    assert (cfg.engine.download_limit, cfg.engine.upload_limit, cfg.engine.connections_limit) == (
        1_000_000,
        0,
        300,
    )
    assert cfg.torrent_defaults.max_conns == 50
    assert all(p.endswith(":16881") for p in cfg.engine.listen_interfaces.split(","))
    assert cfg.engine.settings["enable_upnp"] is False
    assert cfg.engine.settings["active_downloads"] == 7
    assert cfg.share_limits.ratio == 2.0  # the global share limits are stored in the config
    assert "max_ratio" not in kept.values
    assert kept.queueing_enabled
    assert "unknown nonsense key!" not in kept.values
    assert "rss_feeds" not in kept.values
    assert "save_path" not in kept.values

    # A wrong type or value for a stored preference: 400, nothing written, nothing kept.
    snapshot = dict(listener.config.values)
    for bad in (
        {"dht": "yes", "max_ratio": 9.0},
        {"dl_limit": "fast"},
        {"save_path": "../../etc"},
        {"save_path": "relative"},
        {"listen_port": 70000},
        {"bypass_local_auth": 1},
    ):
        got = await post(c, "app/setPreferences", {"json": orjson.dumps(bad).decode()})
        assert got[0] == 400, bad
    await asyncio.sleep(0)
    assert dict(listener.config.values) == snapshot
    assert listener.config.share_limits.ratio == 2.0
    assert before != snapshot
