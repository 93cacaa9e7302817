"""The RSS session: feeds and folders, their articles, refreshes and the auto-download rules.

Items live in a tree addressed by qBittorrent's paths (``folder\\feed``). Every change is written
to PostgreSQL (``RssStore``) before it is made in memory, under one lock, so an acknowledged
change is committed and a refused one changed nothing. Feeds are fetched over HTTP (aiohttp),
parsed in a worker thread (feedparser) and refreshed every ``rss.refresh_interval`` minutes
while ``rss.enabled`` is on; ``refresh`` fetches at once whatever the setting. After a refresh,
with ``rss.auto_download`` on, each enabled rule that watches the feed takes the unread articles
it matches: the article is marked read and its torrent added through ``Download`` (the app
wires it to ``TorrentService``) with the rule's category, save path and paused flag.

The log lines of a refresh are qBittorrent's own words, so clients that read ``log/main`` find
them (``RSS feed at '<url>' updated. Added <n> new articles.``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from revaer.errors import UsageError
from revaer.rss import parse
from revaer.rss.rules import Article as RuleArticle
from revaer.rss.rules import Rule, rules_for_feed
from revaer.rss.settings import RssSettings
from revaer.rss.store import SEP, ArticleRow, RssStore
from revaer.tasks import Running

log = logging.getLogger(__name__)

Json = Any
Download = Callable[[str, Rule], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]
FETCH_TIMEOUT = 30.0
MAX_FEED_BYTES = 16 * 1024 * 1024


class RssError(UsageError):
    """A tree change refused (qBittorrent's words; the façade answers 409 with them)."""


@dataclass(slots=True)
class Article:
    guid: str
    date: dt.datetime
    data: dict[str, str]
    is_read: bool = False

    @property
    def title(self) -> str:
        return self.data.get("title", "")

    def to_json(self) -> dict[str, Json]:
        out: dict[str, Json] = {"id": self.guid, **self.data}
        out["date"] = self.date.strftime("%d %b %Y %H:%M:%S %z")
        if self.is_read:
            out["isRead"] = True
        return out


@dataclass(slots=True)
class Feed:
    path: str
    uid: uuid.UUID
    url: str
    title: str = ""
    last_build_date: str = ""
    has_error: bool = False
    loading: bool = False
    articles: dict[str, Article] = field(default_factory=dict)  # newest first

    def to_json(self, with_data: bool) -> dict[str, Json]:
        out: dict[str, Json] = {"uid": "{" + str(self.uid) + "}", "url": self.url}
        if with_data:
            out.update(
                title=self.title,
                lastBuildDate=self.last_build_date,
                isLoading=self.loading,
                hasError=self.has_error,
                articles=[a.to_json() for a in self.articles.values()],
            )
        return out


@dataclass(slots=True)
class Folder:
    path: str


Item = Feed | Folder


def parent_of(path: str) -> str:
    return path.rpartition(SEP)[0]


def name_of(path: str) -> str:
    return path.rpartition(SEP)[2]


def valid_path(path: str) -> bool:
    return bool(path) and all(path.split(SEP)) and len(path) <= 4096 and "\x00" not in path


MAX_URL = 4096


def _check_url(url: str) -> None:
    # qBittorrent stores any text; a feed needs something to fetch.
    if not url or len(url) > MAX_URL or any(c.isspace() or c == "\x00" for c in url):
        raise RssError(f"Incorrect RSS feed URL: {url[:200]}.")


def _under(path: str, root: str) -> bool:
    return not root or path == root or path.startswith(root + SEP)


class RssService(Running):
    def __init__(
        self,
        store: RssStore,
        settings: RssSettings,
        *,
        download: Download | None = None,
        sleep: Sleep = asyncio.sleep,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.store = store
        self.settings = settings
        self.items: dict[str, Item] = {}
        self.rules: dict[str, Rule] = {}
        self._download = download
        self._sleep = sleep
        self._now = now
        self._lock = asyncio.Lock()
        self._refreshing: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._http: aiohttp.ClientSession | None = None
        self._timer: asyncio.Task[None] | None = None
        self._closed = False

    # ---- life cycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        items, articles, rules = await self.store.load()
        by_uid: dict[uuid.UUID, Feed] = {}
        for r in items:
            if r.is_feed and r.uid is not None and r.url is not None:
                feed = Feed(r.path, r.uid, r.url, r.title, r.last_build_date, r.has_error)
                self.items[r.path] = by_uid[r.uid] = feed
            else:
                self.items[r.path] = Folder(r.path)
        for a in articles:
            if (f := by_uid.get(a.feed_uid)) is not None:
                f.articles[a.guid] = Article(a.guid, a.published, a.data, a.is_read)
        self.rules = {name: Rule.from_json(name, d) for name, d in rules}
        self._timer = asyncio.create_task(self._run_timer(), name="rss-timer")
        if self.settings.enabled:
            self.refresh("")

    async def close(self) -> None:
        self._closed = True
        tasks = [t for t in (self._timer, *self._refreshing.values()) if t is not None]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()

    def apply_settings(self, settings: RssSettings) -> None:
        """A hot reload: turning processing on refreshes every feed at once, as qBittorrent does."""
        was = self.settings
        self.settings = settings
        if settings.enabled and not was.enabled:
            self.refresh("")

    async def settled(self) -> None:
        """Wait until every refresh under way has finished (tests, and a clean stop)."""
        while self._refreshing:
            await asyncio.gather(*list(self._refreshing.values()), return_exceptions=True)

    async def _run_timer(self) -> None:
        while True:
            await self._sleep(self.settings.refresh_interval * 60.0)
            if self.settings.enabled:
                self.refresh("")

    # ---- the tree --------------------------------------------------------------------------------
    def feeds(self, under: str = "") -> list[Feed]:
        return [i for p, i in self.items.items() if isinstance(i, Feed) and _under(p, under)]

    def feed_by_url(self, url: str) -> Feed | None:
        return next((f for f in self.feeds() if f.url == url), None)

    def _dest(self, path: str) -> None:
        if not valid_path(path):
            raise RssError(f"Incorrect RSS Item path: {path}.")
        if path in self.items:
            raise RssError(f"RSS item with given path already exists: {path}.")
        parent = parent_of(path)
        if parent and not isinstance(self.items.get(parent), Folder):
            raise RssError(f"Parent folder doesn't exist: {parent}.")

    async def add_folder(self, path: str) -> None:
        async with self._lock:
            self._dest(path)
            await self.store.add_folder(path)
            self.items[path] = Folder(path)

    async def add_feed(self, url: str, path: str) -> None:
        async with self._lock:
            _check_url(url)
            if self.feed_by_url(url) is not None:
                raise RssError(f"RSS feed with given URL already exists: {url}.")
            self._dest(path)
            feed = Feed(path, uuid.uuid4(), url)
            await self.store.add_feed(path, feed.uid, url)
            self.items[path] = feed
        if self.settings.enabled:
            self._refresh_feed(feed)

    async def set_feed_url(self, path: str, url: str) -> None:
        async with self._lock:
            feed = self.items.get(path)
            if not isinstance(feed, Feed):
                raise RssError(f"Feed doesn't exist: {path}.")
            if url == feed.url:
                return
            _check_url(url)
            if self.feed_by_url(url) is not None:
                raise RssError(f"RSS feed with given URL already exists: {url}.")
            await self.store.set_url(feed.uid, url)
            feed.url = url
        if self.settings.enabled:
            self._refresh_feed(feed)

    async def remove(self, path: str) -> None:
        async with self._lock:
            if not path:
                raise RssError("Cannot delete root folder.")
            if path not in self.items:
                raise RssError(f"Item doesn't exist: {path}.")
            await self.store.remove(path)
            for p in [p for p in self.items if _under(p, path)]:
                item = self.items.pop(p)
                if isinstance(item, Feed) and (t := self._refreshing.pop(item.uid, None)) is not None:
                    t.cancel()

    async def move(self, path: str, dest: str) -> None:
        async with self._lock:
            await self._move(path, dest)

    async def _move(self, path: str, dest: str) -> None:
        if not path:
            raise RssError("Cannot move root folder.")
        item = self.items.get(path)
        if item is None:
            raise RssError(f"Item doesn't exist: {path}.")
        if isinstance(item, Folder) and _under(dest, path):
            raise RssError("Couldn't move folder into itself.")
        self._dest(dest)
        await self.store.move(path, dest)
        moved = {p: i for p, i in self.items.items() if _under(p, path)}
        for p, i in moved.items():
            del self.items[p]
            i.path = dest + p[len(path) :]
            self.items[i.path] = i

    def tree(self, with_data: bool) -> dict[str, Json]:
        """``rss/items``: folders as objects of their items, feeds as their objects."""
        children: dict[str, list[Item]] = {}
        for p, i in self.items.items():
            children.setdefault(parent_of(p), []).append(i)

        def folder(path: str) -> dict[str, Json]:
            out: dict[str, Json] = {}
            for i in children.get(path, []):
                out[name_of(i.path)] = i.to_json(with_data) if isinstance(i, Feed) else folder(i.path)
            return out

        return folder("")

    async def mark_read(self, path: str, guid: str | None) -> None:
        """Mark an article read, or everything under an item (unknown items and articles: nothing)."""
        async with self._lock:
            item = self.items.get(path) if path else None
            if guid is not None:
                if isinstance(item, Feed) and (a := item.articles.get(guid)) is not None and not a.is_read:
                    await self.store.mark_read(item.uid, [guid])
                    a.is_read = True
                return
            if item is None and path:
                return
            for feed in self.feeds(path):
                if any(not a.is_read for a in feed.articles.values()):
                    await self.store.mark_read(feed.uid, None)
                    for a in feed.articles.values():
                        a.is_read = True

    # ---- refreshing ------------------------------------------------------------------------------
    def refresh(self, path: str) -> int:
        """Start fetching every feed under ``path`` ("" is everything); how many were started."""
        if self._closed or (path and path not in self.items):
            return 0
        feeds = self.feeds(path)
        for feed in feeds:
            self._refresh_feed(feed)
        return len(feeds)

    def _refresh_feed(self, feed: Feed) -> None:
        if self._closed:
            return
        old = self._refreshing.get(feed.uid)
        if old is not None:
            old.cancel()
        feed.loading = True
        task = asyncio.create_task(self._refresh(feed), name=f"rss-refresh-{feed.uid}")
        self._refreshing[feed.uid] = task

        def done(t: asyncio.Task[None]) -> None:
            if self._refreshing.get(feed.uid) is t:
                del self._refreshing[feed.uid]
                feed.loading = False
            if not t.cancelled() and (exc := t.exception()) is not None:
                log.error("RSS refresh failed", exc_info=exc, extra={"url": feed.url})

        task.add_done_callback(done)

    async def _fetch(self, url: str) -> bytes:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=FETCH_TIMEOUT))
        async with self._http.get(url) as r:
            if r.status != 200:
                raise aiohttp.ClientResponseError(
                    r.request_info, r.history, status=r.status, message=r.reason or ""
                )
            data = bytearray()
            async for chunk in r.content.iter_chunked(64 * 1024):
                data += chunk
                if len(data) > MAX_FEED_BYTES:
                    raise ValueError(f"the feed is larger than {MAX_FEED_BYTES} bytes")
            return bytes(data)

    async def _refresh(self, feed: Feed) -> None:
        url = feed.url
        try:
            document = await self._fetch(url)
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            reason = str(e) or type(e).__name__
            log.warning(f"Failed to download RSS feed at '{url}'. Reason: {reason}")
            async with self._lock:
                if self.items.get(feed.path) is feed:
                    await self.store.feed_refreshed(
                        feed.uid,
                        title=feed.title,
                        last_build_date=feed.last_build_date,
                        has_error=True,
                        new=(),
                        dropped=(),
                    )
                    feed.has_error = True
            return
        log.info(f"RSS feed at '{url}' is successfully downloaded. Starting to parse it.")
        parsed = await asyncio.to_thread(parse.parse, document)
        async with self._lock:
            if self.items.get(feed.path) is not feed:
                return  # removed meanwhile
            added = await self._update(feed, parsed)
            if parsed.error:
                log.warning(f"Failed to parse RSS feed at '{url}'. Reason: {parsed.error}")
            log.info(f"RSS feed at '{url}' updated. Added {added} new articles.")
            if parsed.title and name_of(feed.path) == feed.url:
                # Named by its URL only: the title is a better name (when it is free).
                with contextlib.suppress(RssError):
                    await self._move(feed.path, _join(parent_of(feed.path), parsed.title.replace(SEP, "/")))
        if self.settings.auto_download:
            await self.process(feed)

    async def _update(self, feed: Feed, parsed: parse.ParsedFeed) -> int:
        now = self._now()
        new: list[Article] = []
        for i, a in enumerate(parsed.articles):
            if a.guid in feed.articles or any(n.guid == a.guid for n in new):
                continue
            # No date: the refresh time, in the feed's order.
            new.append(Article(a.guid, a.date or now - dt.timedelta(microseconds=i), a.data))
        everything = sorted([*feed.articles.values(), *new], key=lambda a: a.date, reverse=True)
        kept = everything[: self.settings.max_articles_per_feed]
        kept_ids = {a.guid for a in kept}
        fresh = [a for a in new if a.guid in kept_ids]
        dropped = [g for g in feed.articles if g not in kept_ids]
        await self.store.feed_refreshed(
            feed.uid,
            title=parsed.title or feed.title,
            last_build_date=parsed.last_build_date or feed.last_build_date,
            has_error=bool(parsed.error),
            new=[ArticleRow(feed.uid, a.guid, a.date, a.data, False) for a in fresh],
            dropped=dropped,
        )
        feed.title = parsed.title or feed.title
        feed.last_build_date = parsed.last_build_date or feed.last_build_date
        feed.has_error = bool(parsed.error)
        feed.articles = {a.guid: a for a in kept}
        return len(fresh)

    # ---- rules -----------------------------------------------------------------------------------
    async def set_rule(self, rule: Rule) -> None:
        async with self._lock:
            await self.store.set_rule(rule.name, rule.to_json())
            self.rules[rule.name] = rule
        if self.settings.auto_download:
            for url in rule.feeds:
                if (feed := self.feed_by_url(url)) is not None:
                    await self.process(feed)

    async def rename_rule(self, old: str, new: str) -> None:
        async with self._lock:
            rule = self.rules.get(old)
            if rule is None or not new or new in self.rules:
                return
            await self.store.rename_rule(old, new)
            # Same place in the order, new name.
            self.rules = {
                (new if k == old else k): (v.renamed(new) if k == old else v) for k, v in self.rules.items()
            }

    async def remove_rule(self, name: str) -> None:
        async with self._lock:
            if name in self.rules:
                await self.store.remove_rule(name)
                del self.rules[name]

    def matching(self, name: str) -> dict[str, list[str]]:
        """``rss/matchingArticles``: feed name -> titles of its articles the rule matches."""
        rule = self.rules.get(name)
        out: dict[str, list[str]] = {}
        if rule is None:
            return out
        for url in rule.feeds:
            feed = self.feed_by_url(url)
            if feed is None:
                continue
            titles = [a.title for a in feed.articles.values() if self._matches(rule, a)]
            if titles:
                out[name_of(feed.path)] = titles
        return out

    def _matches(self, rule: Rule, a: Article) -> bool:
        s = self.settings
        return rule.matches(RuleArticle(a.title, a.date), s.smart_episode_filters, repacks=s.download_repacks)

    async def process(self, feed: Feed) -> int:
        """Let the rules that watch ``feed`` take its unread articles (oldest first); how many."""
        taken = 0
        for article in sorted(feed.articles.values(), key=lambda a: a.date):
            if article.is_read:
                continue
            async with self._lock:
                watching = rules_for_feed(self.rules.values(), feed.url)
                rule = next((r for r in watching if self._matches(r, article)), None)
                # Another pass (a refresh, a rule set meanwhile) may have taken it already.
                if rule is None or article.is_read or self.items.get(feed.path) is not feed:
                    continue
                filters = self.settings.smart_episode_filters
                after = rule.accepted(RuleArticle(article.title, article.date), filters)
                await self.store.rule_took(after.name, after.to_json(), feed.uid, article.guid)
                self.rules[after.name] = after
                article.is_read = True
            link = article.data.get("torrentURL") or article.data.get("link", "")
            log.info(f"Downloading '{article.title}' by the RSS rule '{rule.name}'")
            if self._download is not None and link:
                await self._download(link, after)
            taken += 1
        return taken


def _join(parent: str, name: str) -> str:
    return f"{parent}{SEP}{name}" if parent else name
