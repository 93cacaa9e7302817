"""Façade behaviour the qbittorrent-api suite (``make compat``) exercises, each held here on its own.

Over the real app builder and a real database; the FakeEngine where the engine is not what is
being tested (its own contract tests hold it to the real engine).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
import pytest

from revaer.api.qbittorrent import share_limits
from revaer.api.qbittorrent.extras import EXTRAS
from revaer.engine.fake import FakeEngine, ManualClock
from tests.api.conftest import Api, serving
from tests.api.test_qb_write import facade, post
from tests.support.torrents import bdecode, bencode, synthetic_torrent


@pytest.fixture
async def library(tmp_path: Path) -> Path:
    """A directory outside the download root that ``paths.allowed_roots`` names."""
    path = tmp_path / "library"
    path.mkdir()
    return path


@pytest.fixture
async def qb(db_url: str, pool: asyncpg.Pool, tmp_path: Path, library: Path) -> AsyncIterator[Api]:
    """The app over a FakeEngine, set up and logged in to the façade; ``library`` is an allowed root."""
    engine = FakeEngine(rate=1 << 20, clock=ManualClock())  # moves only when a test steps the clock
    config = {"paths.allowed_roots": [str(library)]}
    async with serving(engine, db_url, pool, tmp_path / "data", update_interval=None, config=config) as api:
        await api.set_up()
        login = {"username": "admin", "password": "correct horse"}
        r = await api.client.post("/api/v2/auth/login", data=login)
        assert await r.text() == "Ok."
        yield api


async def get_json(qb: Api, path: str, **query: str) -> Any:
    r = await qb.client.get(f"/api/v2/{path}", params=query)
    assert r.status == 200, await r.text()
    return orjson.loads(await r.read())


async def add_torrent(qb: Api, data: bytes, **fields: str) -> None:
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    form.add_field("torrents", data, filename="t.torrent", content_type="application/x-bittorrent")
    assert await post(qb.client, "torrents/add", form) == (200, "Ok.")
    await qb.torrents.commit()


# ---- paths.allowed_roots ----------------------------------------------------------------------


async def test_a_category_may_save_under_an_allowed_root_and_nowhere_else(qb: Api, library: Path) -> None:
    inside = str(library / "films")
    assert await post(qb.client, "torrents/createCategory", {"category": "films", "savePath": inside}) == (
        200,
        "",
    )
    assert (await get_json(qb, "torrents/categories"))["films"]["savePath"] == inside
    outside = {"category": "elsewhere", "savePath": "/srv/elsewhere"}
    assert await post(qb.client, "torrents/createCategory", outside) == (409, "Unable to create category")
    assert "elsewhere" not in await get_json(qb, "torrents/categories")


async def test_an_add_may_save_under_an_allowed_root(qb: Api, library: Path) -> None:
    made = synthetic_torrent(name="in-library", size=64 * 1024)
    await add_torrent(qb, made.data, savepath=str(library / "in"), paused="true")
    (item,) = await get_json(qb, "torrents/info")
    assert item["save_path"] == str(library / "in")


# ---- one torrent's edits ----------------------------------------------------------------------


async def _one(qb: Api, *, files: int = 1) -> str:
    made = synthetic_torrent(name="edited", size=256 * 1024, piece_length=64 * 1024, files=files)
    meta = bdecode(made.data)
    assert isinstance(meta, dict)
    meta[b"comment"], meta[b"created by"], meta[b"creation date"] = b"hello", b"maker 1.0", 1_700_000_000
    meta[b"url-list"] = [b"http://127.0.0.1:9/seed/"]
    out: Any = meta
    await add_torrent(qb, bencode(out), paused="true")
    return made.info_hash


async def _tracker_urls(qb: Api, h: str) -> list[str]:
    rows = await get_json(qb, "torrents/trackers", hash=h)
    return [t["url"] for t in rows if not t["url"].startswith("** [")]


async def test_trackers_are_added_edited_and_removed(qb: Api) -> None:
    h = await _one(qb)
    c = qb.client
    a, b = "http://127.0.0.1:7001/announce", "http://127.0.0.1:7002/announce"
    assert await post(c, "torrents/addTrackers", {"hash": h, "urls": f"{a}\n{b}\n{a}"}) == (200, "")
    assert await _tracker_urls(qb, h) == [a, b]
    (item,) = await get_json(qb, "torrents/info")
    assert item["trackers_count"] == 2
    edited = "http://127.0.0.1:7003/announce"
    assert await post(c, "torrents/editTracker", {"hash": h, "origUrl": a, "newUrl": edited}) == (200, "")
    assert await _tracker_urls(qb, h) == [edited, b]
    assert await post(c, "torrents/editTracker", {"hash": h, "origUrl": a, "newUrl": a}) == (
        409,
        "Tracker not found",
    )
    assert await post(c, "torrents/editTracker", {"hash": h, "origUrl": b, "newUrl": edited}) == (
        409,
        "New tracker URL already exists",
    )
    assert await post(c, "torrents/removeTrackers", {"hash": h, "urls": f"{edited}|{b}"}) == (200, "")
    assert await _tracker_urls(qb, h) == []
    assert await post(c, "torrents/addTrackers", {"hash": "0" * 40, "urls": a}) == (404, "Not Found")
    assert await post(c, "torrents/addTrackers", {"hash": h}) == (400, "Bad Request")


async def test_add_peers_needs_a_port(qb: Api) -> None:
    h = await _one(qb)
    assert await post(qb.client, "torrents/addPeers", {"hashes": h, "peers": "127.0.0.1"}) == (
        400,
        "No valid peers were specified",
    )
    r = await qb.client.post(
        "/api/v2/torrents/addPeers", data={"hashes": h, "peers": "127.0.0.1:5000|[::1]:6"}
    )
    assert r.status == 200
    assert orjson.loads(await r.read()) == {h: {"added": 2, "failed": 0}}


async def test_rename_file_and_folder(qb: Api) -> None:
    h = await _one(qb, files=2)
    c = qb.client
    paths = [f["name"] for f in await get_json(qb, "torrents/files", hash=h)]
    assert len(paths) == 2
    assert all(path.startswith("edited/") for path in paths)
    moved = {"hash": h, "oldPath": paths[0], "newPath": "edited/sub/first.bin"}
    assert await post(c, "torrents/renameFile", moved) == (200, "")
    assert await post(c, "torrents/renameFile", {"hash": h, "oldPath": "nope", "newPath": "x"}) == (
        409,
        "No such file or folder",
    )
    assert await post(c, "torrents/renameFile", {"hash": h, "id": "10", "name": "x"}) == (
        409,
        "ID is not valid",
    )
    assert await post(
        c, "torrents/renameFolder", {"hash": h, "oldPath": "edited/sub", "newPath": "edited/b"}
    ) == (
        200,
        "",
    )
    names = [f["name"] for f in await get_json(qb, "torrents/files", hash=h)]
    assert names == ["edited/b/first.bin", paths[1]]


async def test_export_properties_webseeds_and_count(qb: Api) -> None:
    h = await _one(qb)
    r = await qb.client.post("/api/v2/torrents/export", data={"hash": h})
    assert (r.status, r.content_type) == (200, "application/x-bittorrent")
    exported = bdecode(await r.read())
    assert isinstance(exported, dict)
    assert hashlib.sha1(bencode(exported[b"info"])).hexdigest() == h
    props = await get_json(qb, "torrents/properties", hash=h)
    assert (props["comment"], props["created_by"], props["creation_date"]) == (
        "hello",
        "maker 1.0",
        1_700_000_000,
    )
    assert await get_json(qb, "torrents/webseeds", hash=h) == [{"url": "http://127.0.0.1:9/seed/"}]
    r = await qb.client.get("/api/v2/torrents/count")
    assert (r.status, await r.text()) == (200, "1")


# ---- app and transfer ---------------------------------------------------------------------------


async def test_network_interfaces_and_their_addresses(qb: Api) -> None:
    names = await get_json(qb, "app/networkInterfaceList")
    assert {"name": "lo", "value": "lo"} in names
    assert "127.0.0.1" in await get_json(qb, "app/networkInterfaceAddressList", iface="lo")
    assert "127.0.0.1" in await get_json(qb, "app/networkInterfaceAddressList")


async def _mode(qb: Api) -> str:
    r = await qb.client.get("/api/v2/transfer/speedLimitsMode")
    assert r.status == 200
    return await r.text()


async def test_alternative_speed_limits_apply_to_the_session(qb: Api) -> None:
    engine = qb.engine
    c = qb.client
    prefs = {"dl_limit": 500_000, "up_limit": 400_000, "alt_dl_limit": 20_000, "alt_up_limit": 10_000}
    assert await post(c, "app/setPreferences", {"json": orjson.dumps(prefs).decode()}) == (200, "")
    assert await _mode(qb) == "0"
    assert (engine.settings["download_rate_limit"], engine.settings["upload_rate_limit"]) == (
        500_000,
        400_000,
    )

    assert await post(c, "transfer/toggleSpeedLimitsMode") == (200, "")
    assert await _mode(qb) == "1"
    assert (engine.settings["download_rate_limit"], engine.settings["upload_rate_limit"]) == (20_000, 10_000)
    r = await c.get("/api/v2/transfer/downloadLimit")
    assert await r.text() == "20000"
    # While they are on, setDownloadLimit sets the alternative limit (as qBittorrent).
    assert await post(c, "transfer/setDownloadLimit", {"limit": "30000"}) == (200, "")
    assert engine.settings["download_rate_limit"] == 30_000
    assert (await get_json(qb, "app/preferences"))["alt_dl_limit"] == 30_000
    assert (await get_json(qb, "sync/maindata"))["server_state"]["use_alt_speed_limits"] is True

    assert await post(c, "transfer/toggleSpeedLimitsMode") == (200, "")
    assert await _mode(qb) == "0"
    assert engine.settings["download_rate_limit"] == 500_000
    assert await post(c, "transfer/setSpeedLimitsMode", {"mode": "1"}) == (200, "")
    assert await _mode(qb) == "1"
    assert await post(c, "transfer/setSpeedLimitsMode", {"mode": "0"}) == (200, "")
    assert await _mode(qb) == "0"
    assert await post(c, "transfer/setSpeedLimitsMode", {"mode": "on"}) == (400, "Bad Request")
    assert (await get_json(qb, "app/preferences"))["dl_limit"] == 500_000


# ---- share limits -----------------------------------------------------------------------------


def _enforce(qb: Api) -> list[str]:
    share = qb.listener.config.share_limits
    return share_limits.enforce(qb.torrents, facade(qb)[EXTRAS], share)


async def _seeding(qb: Api, name: str) -> str:
    made = synthetic_torrent(name=name, size=256 * 1024, piece_length=64 * 1024)
    await add_torrent(qb, made.data)
    qb.step(1.0)  # the FakeEngine downloads it in this second
    qb.step(1.0)
    (item,) = [i for i in await get_json(qb, "torrents/info") if i["hash"] == made.info_hash]
    assert item["state"] in ("uploading", "stalledUP")
    return made.info_hash


async def test_set_share_limits_reads_back_and_pauses_at_the_limit(qb: Api) -> None:
    h = await _seeding(qb, "limited")
    limits = {"hashes": h, "ratioLimit": "2", "seedingTimeLimit": "5", "inactiveSeedingTimeLimit": "8"}
    assert await post(qb.client, "torrents/setShareLimits", limits) == (200, "")
    (item,) = await get_json(qb, "torrents/info")
    assert (item["max_ratio"], item["max_seeding_time"], item["max_inactive_seeding_time"]) == (2, 5, 8)
    assert (item["ratio_limit"], item["seeding_time_limit"]) == (2, 5)
    assert _enforce(qb) == []  # ratio 0, seeded for seconds: no limit reached

    limits.update(ratioLimit="0")  # a ratio of 0 is reached as soon as the torrent seeds
    assert await post(qb.client, "torrents/setShareLimits", limits) == (200, "")
    assert _enforce(qb) == [h]
    qb.step()
    (item,) = await get_json(qb, "torrents/info")
    assert item["state"] == "pausedUP"
    assert _enforce(qb) == []  # paused: nothing more to do


async def test_the_global_limit_and_its_action_remove(qb: Api) -> None:
    h = await _seeding(qb, "global")
    # A torrent on the global limits reports them in max_* (qBittorrent's maxRatio()), -1 for none.
    (item,) = await get_json(qb, "torrents/info")
    assert (item["ratio_limit"], item["max_ratio"], item["max_seeding_time"]) == (-2, -1, -1)
    later = {
        "max_ratio_enabled": True,
        "max_ratio": 1.5,
        "max_seeding_time_enabled": True,
        "max_seeding_time": 90,
    }
    assert await post(qb.client, "app/setPreferences", {"json": orjson.dumps(later).decode()}) == (200, "")
    (item,) = await get_json(qb, "torrents/info")
    assert (item["ratio_limit"], item["max_ratio"], item["max_seeding_time"]) == (-2, 1.5, 90)
    assert _enforce(qb) == []
    prefs = {"max_ratio_enabled": True, "max_ratio": 0, "max_ratio_act": 1}
    assert await post(qb.client, "app/setPreferences", {"json": orjson.dumps(prefs).decode()}) == (200, "")
    got = await get_json(qb, "app/preferences")
    assert (got["max_ratio_enabled"], got["max_ratio"], got["max_ratio_act"]) == (True, 0, 1)
    assert qb.listener.config.share_limits.action == "remove"
    assert _enforce(qb) == [h]
    await qb.torrents.commit()
    assert await get_json(qb, "torrents/info") == []


# ---- save and download paths --------------------------------------------------------------------


async def _item(qb: Api, h: str) -> dict[str, Any]:
    qb.step()
    (item,) = [i for i in await get_json(qb, "torrents/info") if i["hash"] == h]
    found: dict[str, Any] = item
    return found


async def test_set_save_path_answers_as_qbittorrent(qb: Api, library: Path) -> None:
    made = synthetic_torrent(name="nodata", size=64 * 1024)
    await add_torrent(qb, made.data, paused="true")
    h = made.info_hash
    c = qb.client
    assert await post(c, "torrents/setSavePath", {"id": h, "path": "/etc/"}) == (
        403,
        "Cannot write to directory",
    )
    assert await post(c, "torrents/setSavePath", {"id": h, "path": "/etc/asdf"}) == (
        409,
        "Cannot create target directory",
    )
    assert await post(c, "torrents/setSavePath", {"id": h}) == (400, "Bad Request")
    target = library / "saved"
    assert await post(c, "torrents/setSavePath", {"id": h, "path": str(target)}) == (200, "")
    assert (await _item(qb, h))["save_path"] == str(target)


async def test_set_save_path_moves_the_payload_through_the_worker(qb: Api, library: Path) -> None:
    h = await _seeding(qb, "payload")
    row = qb.torrents.get(h)
    assert row is not None
    source = Path(row.save_path) / "payload"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(b"x" * 1000)  # the FakeEngine writes no files: the payload it "downloaded"
    target = library / "moved"
    assert await post(qb.client, "torrents/setSavePath", {"id": h, "path": str(target)}) == (200, "")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    query = "SELECT status::text AS status, requested FROM revaer_runtime.fs_jobs"
    while [(j["status"], j["requested"]) for j in await qb.database.pool.fetch(query)] != [("moved", True)]:
        assert loop.time() < deadline, "the move did not finish"
        qb.step()
        await asyncio.sleep(0.02)
    assert (await _item(qb, h))["save_path"] == str(target)
    assert (target / "payload").read_bytes() == b"x" * 1000
    assert not source.exists()


async def test_set_download_path_and_auto_management(qb: Api, library: Path) -> None:
    made = synthetic_torrent(name="unfinished", size=64 * 1024)
    await add_torrent(qb, made.data, paused="true")
    h = made.info_hash
    incomplete = library / "incomplete"
    assert await post(qb.client, "torrents/setDownloadPath", {"id": h, "path": str(incomplete)}) == (200, "")
    item = await _item(qb, h)
    assert (item["download_path"], item["save_path"]) == (str(incomplete), str(incomplete))
    assert (await get_json(qb, "torrents/properties", hash=h))["download_path"] == str(incomplete)
    assert await post(qb.client, "torrents/setDownloadPath", {"id": h, "path": "/etc/x"}) == (
        409,
        "Cannot create target directory",
    )

    assert (await _item(qb, h))["auto_tmm"] is False
    assert await post(qb.client, "torrents/setAutoManagement", {"hashes": h, "enable": "true"}) == (200, "")
    assert (await _item(qb, h))["auto_tmm"] is True


async def test_a_category_keeps_its_download_path(qb: Api, library: Path) -> None:
    c = qb.client
    down = str(library / "incoming")
    form = {
        "category": "tv",
        "savePath": str(library / "tv"),
        "downloadPath": down,
        "downloadPathEnabled": "true",
    }
    assert await post(c, "torrents/createCategory", form) == (200, "")
    assert (await get_json(qb, "torrents/categories"))["tv"] == {
        "name": "tv",
        "savePath": str(library / "tv"),
        "download_path": down,
    }
    off = {"category": "tv", "savePath": str(library / "tv"), "downloadPathEnabled": "false"}
    assert await post(c, "torrents/editCategory", off) == (200, "")
    assert (await get_json(qb, "torrents/categories"))["tv"]["download_path"] is False
    outside = {"category": "tv", "savePath": str(library / "tv"), "downloadPath": "/srv/x"}
    assert await post(c, "torrents/editCategory", outside) == (409, "Unable to edit category")
    await qb.torrents.categories.load()  # what the database holds
    assert qb.torrents.categories.categories["tv"].download_path == ""


# ---- contentLayout ----------------------------------------------------------------------------


async def test_content_layout_on_add(qb: Api) -> None:
    multi = synthetic_torrent(name="multi", size=128 * 1024, piece_length=64 * 1024, files=2)
    single = synthetic_torrent(name="single.iso", size=64 * 1024)
    original = synthetic_torrent(name="kept", size=128 * 1024, piece_length=64 * 1024, files=2)
    await add_torrent(qb, multi.data, paused="true", contentLayout="NoSubfolder")
    await add_torrent(qb, single.data, paused="true", contentLayout="Subfolder")
    await add_torrent(qb, original.data, paused="true", root_folder="true")

    def names(files: list[dict[str, Any]]) -> list[str]:
        return [f["name"] for f in files]

    multi_files = names(await get_json(qb, "torrents/files", hash=multi.info_hash))
    assert len(multi_files) == 2
    assert not any(n.startswith("multi/") for n in multi_files)
    assert names(await get_json(qb, "torrents/files", hash=single.info_hash)) == ["single/single.iso"]
    assert all(
        n.startswith("kept/") for n in names(await get_json(qb, "torrents/files", hash=original.info_hash))
    )


async def test_a_download_path_on_add_then_the_save_path_once_finished(qb: Api, library: Path) -> None:
    made = synthetic_torrent(name="staged", size=256 * 1024, piece_length=64 * 1024)
    incoming, final = library / "incoming", library / "final"
    fields = {
        "savepath": str(final),
        "downloadPath": str(incoming),
        "useDownloadPath": "true",
        "paused": "true",
    }
    await add_torrent(qb, made.data, **fields)
    h = made.info_hash
    item = await _item(qb, h)
    assert (item["download_path"], item["save_path"]) == (str(incoming), str(final))
    row = qb.torrents.get(h)
    assert row is not None
    assert row.save_path == str(incoming)  # the engine downloads into the download path
    (incoming / "staged").parent.mkdir(parents=True, exist_ok=True)
    (incoming / "staged").write_bytes(b"y" * 100)  # the payload the FakeEngine "downloads"
    assert await post(qb.client, "torrents/resume", {"hashes": h}) == (200, "")
    qb.step(1.0)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20
    while (row := qb.torrents.get(h)) is None or row.save_path != str(final):
        assert loop.time() < deadline, "the finished torrent did not move to its save path"
        qb.step()
        await asyncio.sleep(0.02)
    assert (final / "staged").read_bytes() == b"y" * 100

    unused = synthetic_torrent(name="direct", size=64 * 1024)
    await add_torrent(qb, unused.data, downloadPath=str(incoming), useDownloadPath="false", paused="true")
    assert (await _item(qb, unused.info_hash))["download_path"] == ""


# ---- qBittorrent's per-torrent settings survive a restart ---------------------------------------


async def test_qbittorrent_settings_are_stored_and_applied_again_after_a_restart(
    db_url: str, pool: asyncpg.Pool, tmp_path: Path, library: Path
) -> None:
    made = synthetic_torrent(name="kept", size=128 * 1024, piece_length=64 * 1024)
    h = made.info_hash
    login = {"username": "admin", "password": "correct horse"}
    config = {"paths.allowed_roots": [str(library)]}
    first = FakeEngine(rate=0, clock=ManualClock())
    async with serving(first, db_url, pool, tmp_path / "data", update_interval=None, config=config) as api:
        await api.set_up()
        assert await (await api.client.post("/api/v2/auth/login", data=login)).text() == "Ok."
        await add_torrent(api, made.data, paused="true", firstLastPiecePrio="true")
        c = api.client
        limits = {
            "hashes": h,
            "ratioLimit": "1.5",
            "seedingTimeLimit": "60",
            "inactiveSeedingTimeLimit": "-1",
        }
        assert await post(c, "torrents/setShareLimits", limits) == (200, "")
        assert await post(c, "torrents/setSuperSeeding", {"hashes": h, "value": "true"}) == (200, "")
        assert await post(c, "torrents/rename", {"hash": h, "name": "a better name"}) == (200, "")
        row = first.get(h)
        assert row is not None
        assert row.super_seeding is True
        api.step()
    second = FakeEngine(rate=0, clock=ManualClock())
    async with serving(second, db_url, pool, tmp_path / "data", update_interval=None, config=config) as api:
        assert await (await api.client.post("/api/v2/auth/login", data=login)).text() == "Ok."
        api.step()
        (item,) = await get_json(api, "torrents/info")
        assert (item["hash"], item["name"], item["ratio_limit"], item["seeding_time_limit"]) == (
            h,
            "a better name",
            1.5,
            60,
        )
        assert (item["super_seeding"], item["f_l_piece_prio"]) == (True, True)
        row = second.get(h)
        assert row is not None
        assert row.super_seeding is True  # told to the new engine again


async def test_ban_peers_blocks_their_addresses(qb: Api) -> None:
    c = qb.client
    assert await post(c, "transfer/banPeers", {"peers": "1.1.1.1:8080|[2001:db8::1]:6881|junk"}) == (200, "")
    assert (await get_json(qb, "app/preferences"))["banned_IPs"] == "1.1.1.1\n2001:db8::1"
    banned: tuple[str, ...] = qb.engine.banned
    assert banned == ("1.1.1.1", "2001:db8::1")
    assert await post(
        c, "app/setPreferences", {"json": orjson.dumps({"banned_IPs": "1.1.1.2"}).decode()}
    ) == (
        200,
        "",
    )
    banned = qb.engine.banned
    assert banned == ("1.1.1.2",)
    assert await post(c, "transfer/banPeers") == (400, "Bad Request")


async def test_search_answers_as_a_qbittorrent_without_python(qb: Api) -> None:
    c = qb.client
    assert await get_json(qb, "search/plugins") == []
    start = {"pattern": "ubuntu", "category": "all", "plugins": "all"}
    assert await post(c, "search/start", start) == (409, "Python must be installed to use the Search Engine.")
    assert await get_json(qb, "search/status") == []
    assert await post(c, "search/status", {"id": "5"}) == (404, "Not Found")
    assert await post(c, "search/results", {"id": "5"}) == (404, "Not Found")
    assert await post(c, "search/stop") == (400, "Bad Request")
    assert await post(c, "search/installPlugin", {"sources": "http://127.0.0.1:9/x.py"}) == (200, "")
    assert await get_json(qb, "search/plugins") == []


async def test_preferences_revaer_cannot_honour_are_refused(qb: Api) -> None:
    c = qb.client
    for bad in (
        {"scheduler_enabled": True},
        {"proxy_type": "SOCKS5"},
        {"autorun_enabled": 1},
    ):
        got = await post(c, "app/setPreferences", {"json": orjson.dumps({"dht": False, **bad}).decode()})
        assert got == (400, f"Unsupported preference: {next(iter(bad))}"), bad
    # HTTPS without a certificate and key that load (tests/e2e/test_https.py serves it for real).
    status, text = await post(
        c, "app/setPreferences", {"json": orjson.dumps({"dht": False, "use_https": True}).decode()}
    )
    assert (status, text) == (400, "Invalid preference: expected an absolute path, got an empty string")
    assert qb.listener.config.engine.dht is True  # nothing written
    # Every preference as read back (what clients send to restore them) is accepted.
    prefs = await get_json(qb, "app/preferences")
    assert await post(c, "app/setPreferences", {"json": orjson.dumps(prefs).decode()}) == (200, "")


async def test_a_refused_add_says_why_at_warning_level(qb: Api, caplog: pytest.LogCaptureFixture) -> None:
    made = synthetic_torrent(name="elsewhere", size=64 * 1024)
    form = aiohttp.FormData()
    form.add_field("savepath", "/srv/not-allowed")
    form.add_field("torrents", made.data, filename="t.torrent", content_type="application/x-bittorrent")
    with caplog.at_level("WARNING", logger="revaer.api.qbittorrent.add"):
        assert await post(qb.client, "torrents/add", form) == (200, "Fails.")
    assert any("outside the roots" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)
    assert await get_json(qb, "torrents/info") == []
