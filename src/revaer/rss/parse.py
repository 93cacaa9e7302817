"""A feed document (RSS 0.9x/1.0/2.0, Atom) into Revaer's articles, with feedparser.

feedparser reads every dialect and the broken feeds found in the wild (it keeps what it could
read and says what went wrong, ``bozo``), which a hand-written XML walk would not. It is given
the downloaded bytes only: it never fetches anything itself.
"""

from __future__ import annotations

import calendar
import datetime as dt
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import feedparser

Json = Any

TORRENT_TYPE = "application/x-bittorrent"
MAX_TEXT = 64 * 1024  # a description longer than this is cut


# What feedparser reports about a document it read whole: not an error in the feed.
_HARMLESS = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


@dataclass(frozen=True, slots=True)
class ParsedArticle:
    guid: str
    date: dt.datetime | None  # None: the feed gave none (the refresh time is used)
    data: dict[str, str]  # qBittorrent's article keys: title, link, torrentURL, description, author


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str = ""
    last_build_date: str = ""
    articles: list[ParsedArticle] = field(default_factory=list)
    error: str = ""  # what made the document malformed (its articles up to there are kept)


def _date(entry: Mapping[str, Json]) -> dt.datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        t = entry.get(key)
        if t:
            return dt.datetime.fromtimestamp(calendar.timegm(t), dt.UTC)
    return None


def _torrent_url(entry: Mapping[str, Json]) -> str:
    """The enclosure that is a torrent, else any enclosure, else the link (as qBittorrent picks)."""
    links = entry.get("links") or []
    enclosures = [lk for lk in links if lk.get("rel") == "enclosure" and lk.get("href")]
    for lk in enclosures:
        if lk.get("type") == TORRENT_TYPE:
            return str(lk["href"])
    if enclosures:
        return str(enclosures[0]["href"])
    return str(entry.get("link") or "")


def _article(entry: Mapping[str, Json]) -> ParsedArticle | None:
    data: dict[str, str] = {}
    for key, source in (("title", "title"), ("link", "link"), ("author", "author")):
        v = entry.get(source)
        if isinstance(v, str) and v:
            data[key] = v
    description = entry.get("summary") or entry.get("description")
    if isinstance(description, str) and description:
        data["description"] = description[:MAX_TEXT]
    torrent = _torrent_url(entry)
    if torrent:
        data["torrentURL"] = torrent
    guid = entry.get("id")
    if not isinstance(guid, str) or not guid:
        guid = data.get("link") or data.get("torrentURL") or data.get("title") or ""
    if not guid:
        return None
    return ParsedArticle(guid=guid, date=_date(entry), data=data)


def parse(document: bytes) -> ParsedFeed:
    """The feed's title, build date and articles (in the feed's order); blocking: run it in a thread."""
    d = feedparser.parse(io.BytesIO(document), sanitize_html=False, resolve_relative_uris=False)
    feed = d.get("feed") or {}
    articles = [a for a in map(_article, d.get("entries") or []) if a is not None]
    error = ""
    exc = d.get("bozo_exception")
    if d.get("bozo") and not isinstance(exc, _HARMLESS):
        error = str(exc) if exc is not None else "malformed feed"
    elif not d.get("version") and not articles:
        error = "not an RSS or Atom feed"
    return ParsedFeed(
        title=str(feed.get("title") or ""),
        last_build_date=str(feed.get("updated") or ""),
        articles=articles,
        error=error,
    )
