"""Feed documents into articles (feedparser under the hood), as qBittorrent reads them."""

from __future__ import annotations

import datetime as dt

from revaer.rss.parse import parse

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom feed</title><updated>2026-12-01T10:00:00Z</updated>
<entry><title>One</title><id>urn:1</id><updated>2026-12-01T09:00:00Z</updated>
<link rel="alternate" href="http://x/1"/><link rel="enclosure" type="application/x-bittorrent" href="http://x/1.torrent"/>
<summary>first</summary><author><name>me</name></author></entry>
</feed>"""


def test_atom() -> None:
    f = parse(ATOM)
    assert f.title == "Atom feed"
    assert f.error == ""
    [a] = f.articles
    assert a.guid == "urn:1"
    assert a.date == dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
    assert a.data == {
        "title": "One",
        "link": "http://x/1",
        "author": "me",
        "description": "first",
        "torrentURL": "http://x/1.torrent",
    }


def test_rss_without_guid_or_date() -> None:
    doc = b"<rss version='2.0'><channel><title>T</title><item><title>A</title>"
    doc += b"<link>magnet:?xt=urn:btih:aa</link></item><item></item></channel></rss>"
    f = parse(doc)
    [a] = f.articles  # an item with nothing to name it is dropped
    assert a.guid == "magnet:?xt=urn:btih:aa"
    assert a.date is None
    assert a.data["torrentURL"] == "magnet:?xt=urn:btih:aa"


def test_malformed_keeps_what_it_read() -> None:
    doc = b"<rss version='2.0'><channel><title>T</title>"
    doc += b"<item><title>A</title><guid>1</guid></item><item><title>B"
    f = parse(doc)
    assert f.error
    assert [a.guid for a in f.articles] == ["1"]
    assert parse(b"not a feed at all").error
