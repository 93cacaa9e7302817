"""``rss/*`` over the real app: feeds served by a local aiohttp server, refreshes driven by the test.

Nothing waits on the wall clock: a refresh is started by the endpoint (or the service) and the test
waits for it with ``RssService.settled()``; the refresh timer runs on an injected sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from revaer.api.keys import RSS, TORRENTS
from revaer.engine.fake import FakeEngine, ManualClock
from revaer.rss import RssService, Rule
from tests.api.conftest import Api, serving
from tests.support.torrents import MadeTorrent, synthetic_torrent


@dataclass
class FeedServer:
    """Feeds on 127.0.0.1: ``documents[name]`` is served at ``/name``; torrents at ``/t/<name>``."""

    server: TestServer
    documents: dict[str, bytes] = field(default_factory=dict)
    torrents: dict[str, bytes] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return str(self.server.make_url(f"/{name}"))


def rss(title: str, items: list[dict[str, str]]) -> bytes:
    parts = [f"<rss version='2.0'><channel><title>{title}</title>"]
    parts.append("<lastBuildDate>Tue, 01 Dec 2026 10:00:00 +0000</lastBuildDate>")
    for it in items:
        parts.append("<item>")
        parts.append(f"<title>{it['title']}</title><guid>{it['guid']}</guid>")
        if "date" in it:
            parts.append(f"<pubDate>{it['date']}</pubDate>")
        if "torrent" in it:
            parts.append(f"<enclosure url='{it['torrent']}' type='application/x-bittorrent' length='1'/>")
        if "link" in it:
            parts.append(f"<link>{it['link'].replace('&', '&amp;')}</link>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


@contextlib.asynccontextmanager
async def feed_server() -> AsyncIterator[FeedServer]:
    app = web.Application()
    fs: FeedServer

    async def document(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        fs.hits[name] = fs.hits.get(name, 0) + 1
        if name not in fs.documents:
            return web.Response(status=404, text="no such feed")
        return web.Response(body=fs.documents[name], content_type="application/rss+xml")

    async def torrent(request: web.Request) -> web.Response:
        data = fs.torrents.get(request.match_info["name"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/x-bittorrent")

    app.router.add_get("/t/{name}", torrent)
    app.router.add_get("/{name}", document)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    fs = FeedServer(server)
    try:
        yield fs
    finally:
        await server.close()


@pytest.fixture
async def feeds() -> AsyncIterator[FeedServer]:
    async with feed_server() as fs:
        yield fs


async def _api(db_url: str, pool: asyncpg.Pool, tmp_path: Path, rss_config: dict[str, Any]) -> Any:
    engine = FakeEngine(rate=0, clock=ManualClock())
    return serving(engine, db_url, pool, tmp_path, update_interval=None, config={"rss": rss_config})


@pytest.fixture
async def qb(db_url: str, pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[Api]:
    """The app with RSS processing and auto-download on, set up and logged in to the façade."""
    async with await _api(db_url, pool, tmp_path, {"enabled": True, "auto_download": True}) as api:
        await api.set_up()
        r = await api.client.post(
            "/api/v2/auth/login", data={"username": "admin", "password": "correct horse"}
        )
        assert await r.text() == "Ok."
        yield api


def service(api: Api) -> RssService:
    return api.app[RSS]


async def post(api: Api, endpoint: str, /, **data: str) -> tuple[int, str]:
    r = await api.client.post(f"/api/v2/rss/{endpoint}", data=data)
    return r.status, await r.text()


async def items(api: Api, with_data: bool = False) -> Any:
    r = await api.client.get("/api/v2/rss/items", params={"withData": "true" if with_data else "false"})
    assert r.status == 200
    return await r.json()


SHOW = [
    {"title": "Show S01E01 1080p", "guid": "e1", "date": "Mon, 30 Nov 2026 08:00:00 +0000"},
    {"title": "Show S01E02 1080p", "guid": "e2", "date": "Tue, 01 Dec 2026 08:00:00 +0000"},
    {"title": "Other thing", "guid": "o1", "date": "Tue, 01 Dec 2026 09:00:00 +0000"},
]


async def test_add_feed_fetches_and_lists_articles(
    qb: Api, feeds: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # as the server runs (pytest's root logger is at WARNING)
    feeds.documents["show.xml"] = rss("Show feed", SHOW)
    assert await post(qb, "addFeed", url=feeds.url("show.xml"), path="Shows") == (200, "")
    await service(qb).settled()
    plain = await items(qb)
    assert set(plain["Shows"]) == {"uid", "url"}
    assert plain["Shows"]["url"] == feeds.url("show.xml")
    data = (await items(qb, with_data=True))["Shows"]
    assert data["title"] == "Show feed"
    assert data["hasError"] is False
    assert data["isLoading"] is False
    assert data["lastBuildDate"] == "Tue, 01 Dec 2026 10:00:00 +0000"
    assert [a["id"] for a in data["articles"]] == ["o1", "e2", "e1"]  # newest first
    assert data["articles"][0]["title"] == "Other thing"
    assert "isRead" not in data["articles"][0]
    # The same URL twice, or the same path: 409 with qBittorrent's words, nothing added.
    assert await post(qb, "addFeed", url=feeds.url("show.xml"), path="Again") == (
        409,
        f"RSS feed with given URL already exists: {feeds.url('show.xml')}.",
    )
    assert await post(qb, "addFeed", url=feeds.url("x.xml"), path="Shows") == (
        409,
        "RSS item with given path already exists: Shows.",
    )
    assert await post(qb, "addFeed", url="", path="Empty") == (409, "Incorrect RSS feed URL: .")
    spaced = await post(qb, "addFeed", url="http://a b", path="Space")
    assert spaced == (409, "Incorrect RSS feed URL: http://a b.")
    assert set(await items(qb)) == {"Shows"}
    # The log says what qBittorrent says.
    r = await qb.client.get("/api/v2/log/main")
    messages = [m["message"] for m in await r.json()]
    assert f"RSS feed at '{feeds.url('show.xml')}' updated. Added 3 new articles." in messages


async def test_feed_without_path_takes_its_title(qb: Api, feeds: FeedServer) -> None:
    feeds.documents["t.xml"] = rss("Titled Feed", SHOW[:1])
    assert await post(qb, "addFeed", url=feeds.url("t.xml"), path="") == (200, "")
    await service(qb).settled()
    assert list(await items(qb)) == ["Titled Feed"]


async def test_folders_move_and_remove(qb: Api, feeds: FeedServer) -> None:
    feeds.documents["a.xml"] = rss("A", SHOW[:1])
    assert await post(qb, "addFolder", path="TV") == (200, "")
    assert await post(qb, "addFolder", path="TV\\Drama") == (200, "")
    assert await post(qb, "addFolder", path="Nope\\Sub") == (409, "Parent folder doesn't exist: Nope.")
    assert await post(qb, "addFolder", path="TV\\") == (409, "Incorrect RSS Item path: TV\\.")
    assert await post(qb, "addFeed", url=feeds.url("a.xml"), path="TV\\Drama\\A") == (200, "")
    await service(qb).settled()
    assert list((await items(qb))["TV"]["Drama"]) == ["A"]
    assert await post(qb, "moveItem", itemPath="TV", destPath="TV\\Drama\\X") == (
        409,
        "Couldn't move folder into itself.",
    )
    assert await post(qb, "moveItem", itemPath="TV\\Drama", destPath="Drama") == (200, "")
    tree = await items(qb, with_data=True)
    assert list(tree) == ["Drama", "TV"]  # by name, as qBittorrent's JSON objects
    assert tree["TV"] == {}
    assert tree["Drama"]["A"]["articles"][0]["id"] == "e1"  # the articles moved with it
    assert await post(qb, "moveItem", itemPath="Gone", destPath="X") == (409, "Item doesn't exist: Gone.")
    assert await post(qb, "removeItem", path="") == (409, "Cannot delete root folder.")
    assert await post(qb, "removeItem", path="Drama") == (200, "")
    assert await items(qb) == {"TV": {}}
    # Kept in PostgreSQL: what a restart reads back.
    rows = await qb.database.pool.fetch("SELECT path FROM revaer_rss.items ORDER BY seq")
    assert [r["path"] for r in rows] == ["TV"]
    assert await qb.database.pool.fetchval("SELECT count(*) FROM revaer_rss.articles") == 0
    # Missing parameters: 400, as qBittorrent.
    assert (await post(qb, "addFolder"))[0] == 400
    assert (await post(qb, "moveItem", itemPath="TV"))[0] == 400


async def test_mark_as_read_and_refresh(qb: Api, feeds: FeedServer) -> None:
    feeds.documents["s.xml"] = rss("S", SHOW[:2])
    await post(qb, "addFeed", url=feeds.url("s.xml"), path="S")
    await service(qb).settled()
    assert await post(qb, "markAsRead", itemPath="S", articleId="e1") == (200, "")
    arts = {a["id"]: a for a in (await items(qb, with_data=True))["S"]["articles"]}
    assert arts["e1"]["isRead"] is True
    assert "isRead" not in arts["e2"]
    assert await post(qb, "markAsRead", itemPath="unknown") == (200, "")
    # A new article appears on the next refresh; the read mark stays.
    feeds.documents["s.xml"] = rss("S", [*SHOW[:2], {"title": "Show S01E03", "guid": "e3"}])
    hits = feeds.hits["s.xml"]
    assert await post(qb, "refreshItem", itemPath="S") == (200, "")
    await service(qb).settled()
    assert feeds.hits["s.xml"] == hits + 1
    arts = {a["id"]: a for a in (await items(qb, with_data=True))["S"]["articles"]}
    assert set(arts) == {"e1", "e2", "e3"}
    assert arts["e1"]["isRead"] is True
    assert await post(qb, "markAsRead", itemPath="S") == (200, "")
    arts = (await items(qb, with_data=True))["S"]["articles"]
    assert all(a["isRead"] for a in arts)
    read = await qb.database.pool.fetchval("SELECT count(*) FROM revaer_rss.articles WHERE is_read")
    assert read == 3
    assert await post(qb, "refreshItem", itemPath="unknown") == (200, "")


async def test_set_feed_url_and_download_errors(qb: Api, feeds: FeedServer) -> None:
    feeds.documents["s.xml"] = rss("S", SHOW[:1])
    await post(qb, "addFeed", url=feeds.url("s.xml"), path="S")
    await service(qb).settled()
    new_url = feeds.url("missing.xml")
    assert await post(qb, "setFeedURL", path="S", url=new_url) == (200, "")
    await service(qb).settled()
    feed = (await items(qb, with_data=True))["S"]
    assert feed["url"] == new_url
    assert feed["hasError"] is True
    assert await post(qb, "setFeedURL", path="nope", url="http://x") == (409, "Feed doesn't exist: nope.")
    r = await qb.client.get("/api/v2/log/main", params={"normal": "false", "info": "false"})
    assert any(
        m["type"] == 4 and m["message"].startswith(f"Failed to download RSS feed at '{new_url}'")
        for m in await r.json()
    )


async def test_rules_crud_and_matching(qb: Api, feeds: FeedServer) -> None:
    feeds.documents["s.xml"] = rss("S", SHOW)
    url = feeds.url("s.xml")
    await post(qb, "addFeed", url=url, path="S")
    await service(qb).settled()
    rule = {"enabled": False, "mustContain": "show 1080p", "episodeFilter": "1x2;", "affectedFeeds": [url]}
    assert await post(qb, "setRule", ruleName="R", ruleDef=orjson.dumps(rule).decode()) == (200, "")
    r = await qb.client.get("/api/v2/rss/rules")
    got = (await r.json())["R"]
    assert got["mustContain"] == "show 1080p"
    assert got["affectedFeeds"] == [url]
    assert got["enabled"] is False
    assert got["addPaused"] is None
    assert got["lastMatch"] == ""
    assert got["previouslyMatchedEpisodes"] == []
    r = await qb.client.get("/api/v2/rss/matchingArticles", params={"ruleName": "R"})
    assert await r.json() == {"S": ["Show S01E02 1080p"]}
    assert await post(qb, "renameRule", ruleName="R", newRuleName="R2") == (200, "")
    assert list(await (await qb.client.get("/api/v2/rss/rules")).json()) == ["R2"]
    assert await post(qb, "setRule", ruleName="bad", ruleDef="not json") == (400, "Bad Request")
    assert await post(qb, "removeRule", ruleName="R2") == (200, "")
    assert await (await qb.client.get("/api/v2/rss/rules")).json() == {}
    assert await qb.database.pool.fetchval("SELECT count(*) FROM revaer_rss.rules") == 0


async def test_rule_adds_matching_torrents(qb: Api, feeds: FeedServer) -> None:
    """An enabled rule adds what it matches, with its category and save path, once."""
    ep1 = synthetic_torrent("Show.S01E01", size=1 << 20)
    ep2: MadeTorrent = synthetic_torrent("Show.S01E02", size=1 << 20)
    feeds.torrents["ep1"] = ep1.data
    items_ = [
        {"title": "Show S01E01 1080p", "guid": "e1", "torrent": feeds.url("t/ep1")},
        {"title": "Show S01E02 1080p", "guid": "e2", "link": ep2.magnet()},
        {"title": "Show S01E02 720p", "guid": "e2b", "link": "magnet:?xt=urn:btih:" + "cd" * 20},
        {"title": "Movie 1080p", "guid": "m1", "link": "magnet:?xt=urn:btih:" + "ef" * 20},
    ]
    feeds.documents["s.xml"] = rss("S", items_)
    url = feeds.url("s.xml")
    await post(qb, "addFeed", url=url, path="S")
    await service(qb).settled()
    save = str(qb.root / "shows")
    rule = {
        "enabled": True,
        "mustContain": "show",
        "mustNotContain": "720p",
        "affectedFeeds": url,
        "assignedCategory": "tv",
        "savePath": save,
        "addPaused": True,
        "smartFilter": True,
    }
    assert await post(qb, "setRule", ruleName="Show", ruleDef=orjson.dumps(rule).decode()) == (200, "")
    torrents = qb.app[TORRENTS]
    assert torrents.get(ep1.info_hash) is not None
    assert torrents.get(ep2.info_hash) is not None
    assert torrents.get("cd" * 20) is None
    assert torrents.get("ef" * 20) is None
    for h in (ep1.info_hash, ep2.info_hash):
        row = torrents.get(h)
        assert row is not None
        assert row.save_path == save
        assert row.paused
        assert torrents.labels_of(h).category == "tv"
    stored = await qb.database.pool.fetch(
        "SELECT info_hash, category FROM revaer_runtime.torrents ORDER BY info_hash"
    )
    assert {(r["info_hash"], r["category"]) for r in stored} == {(ep1.info_hash, "tv"), (ep2.info_hash, "tv")}
    got = (await (await qb.client.get("/api/v2/rss/rules")).json())["Show"]
    assert sorted(got["previouslyMatchedEpisodes"]) == ["1x1", "1x2"]
    assert got["lastMatch"] != ""
    arts = {a["id"]: a for a in (await items(qb, with_data=True))["S"]["articles"]}
    assert arts["e1"].get("isRead")
    assert arts["e2"].get("isRead")
    assert not arts["m1"].get("isRead")
    # A refresh adds nothing twice (the smart filter and the read marks).
    await post(qb, "refreshItem", itemPath="S")
    await service(qb).settled()
    assert len(torrents.snapshot()) == 2


async def test_refresh_on_interval_and_preferences(db_url: str, pool: asyncpg.Pool, tmp_path: Path) -> None:
    """The timer refreshes every feed each ``rss.refresh_interval`` minutes, on an injected sleep."""
    async with await _api(db_url, pool, tmp_path, {"enabled": False, "refresh_interval": 7}) as api:
        await api.set_up()
        await api.client.post("/api/v2/auth/login", data={"username": "admin", "password": "correct horse"})
        r = await api.client.get("/api/v2/app/preferences")
        prefs = await r.json()
        assert prefs["rss_processing_enabled"] is False
        assert prefs["rss_refresh_interval"] == 7
        svc = service(api)
        slept: list[float] = []
        wake = asyncio.Event()

        async def sleep(seconds: float) -> None:
            slept.append(seconds)
            await wake.wait()
            wake.clear()

        await svc.close()  # the app's timer, replaced by one on the test's sleep
        fresh = RssService(svc.store, svc.settings, sleep=sleep, now=lambda: dt.datetime.now(dt.UTC))
        async with feed_server() as feeds:
            feeds.documents["s.xml"] = rss("S", SHOW[:1])
            await fresh.start()
            try:
                await fresh.add_feed(feeds.url("s.xml"), "S")
                await fresh.settled()
                assert feeds.hits.get("s.xml", 0) == 0  # processing off: not fetched
                await _until(lambda: slept == [420.0])
                wake.set()  # a tick while off: nothing
                await _until(lambda: len(slept) == 2)
                assert feeds.hits.get("s.xml", 0) == 0
                fresh.settings = dataclasses.replace(fresh.settings, enabled=True)
                wake.set()  # a tick while on: every feed
                await _until(lambda: len(slept) == 3)
                await fresh.settled()
                assert feeds.hits["s.xml"] == 1
                assert [a.guid for a in fresh.feeds()[0].articles.values()] == ["e1"]
            finally:
                await fresh.close()
        # rss_processing_enabled through setPreferences is the rss setting, applied live.
        r = await api.client.post(
            "/api/v2/app/setPreferences",
            data={"json": orjson.dumps({"rss_processing_enabled": True}).decode()},
        )
        assert r.status == 200
        assert api.listener.config.values["rss"]["enabled"] is True
        assert (await (await api.client.get("/api/v2/app/preferences")).json())[
            "rss_processing_enabled"
        ] is True


async def _until(cond: Any, steps: int = 500) -> None:
    for _ in range(steps):
        if cond():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


async def test_everything_survives_a_restart(qb: Api, feeds: FeedServer) -> None:
    """Items, articles, read marks and rules are read back from PostgreSQL by a new session."""
    feeds.documents["s.xml"] = rss("S", SHOW)
    await post(qb, "addFolder", path="F")
    await post(qb, "addFeed", url=feeds.url("s.xml"), path="F\\S")
    await service(qb).settled()
    await post(qb, "markAsRead", itemPath="F\\S", articleId="e2")
    rule = {"mustContain": "show", "affectedFeeds": [feeds.url("s.xml")], "enabled": False}
    await post(qb, "setRule", ruleName="R", ruleDef=orjson.dumps(rule).decode())
    before_tree = await items(qb, with_data=True)
    before_rules = await (await qb.client.get("/api/v2/rss/rules")).json()
    again = RssService(service(qb).store, dataclasses.replace(service(qb).settings, enabled=False))
    await again.start()
    try:
        assert again.tree(with_data=True) == before_tree
        assert {n: r.to_json() for n, r in again.rules.items()} == before_rules
    finally:
        await again.close()


async def test_rss_preferences_refuse_wrong_values(qb: Api) -> None:
    async def set_prefs(prefs: dict[str, Any]) -> tuple[int, str]:
        r = await qb.client.post("/api/v2/app/setPreferences", data={"json": orjson.dumps(prefs).decode()})
        return r.status, await r.text()

    assert (await set_prefs({"rss_refresh_interval": "x"}))[0] == 400
    assert (await set_prefs({"rss_refresh_interval": 0, "rss_auto_downloading_enabled": False}))[0] == 400
    assert qb.listener.config.values["rss"]["refresh_interval"] == 30  # nothing written
    assert qb.listener.config.values["rss"]["auto_download"] is True
    filters = "s(\\d+)e(\\d+)\n(\\d+)x(\\d+)"
    changed = {"rss_max_articles_per_feed": 5, "rss_smart_episode_filters": filters}
    assert await set_prefs(changed) == (200, "")
    assert qb.listener.config.values["rss"]["max_articles_per_feed"] == 5
    assert service(qb).settings.smart_episode_filters == ("s(\\d+)e(\\d+)", "(\\d+)x(\\d+)")
    prefs = await (await qb.client.get("/api/v2/app/preferences")).json()
    assert prefs["rss_smart_episode_filters"] == filters
    assert (await set_prefs({"rss_smart_episode_filters": "("}))[0] == 400


async def test_concurrent_passes_take_an_article_once(qb: Api, feeds: FeedServer) -> None:
    feeds.documents["s.xml"] = rss(
        "S", [{"title": "Show S01E01", "guid": "e1", "link": "magnet:?xt=urn:btih:" + "ab" * 20}]
    )
    url = feeds.url("s.xml")
    await post(qb, "addFeed", url=url, path="S")
    svc = service(qb)
    await svc.settled()
    svc.settings = dataclasses.replace(svc.settings, auto_download=False)  # the rule alone, no pass yet
    await svc.set_rule(Rule("R", must_contain="show", feeds=(url,)))
    feed = svc.feeds()[0]
    taken = await asyncio.gather(svc.process(feed), svc.process(feed))
    assert sorted(taken) == [0, 1]
    assert [r.info_hash for r in qb.app[TORRENTS].snapshot()] == ["ab" * 20]
    read = await qb.database.pool.fetchval("SELECT is_read FROM revaer_rss.articles WHERE guid = 'e1'")
    assert read is True
