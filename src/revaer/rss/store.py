"""The RSS tables (``revaer_rss``, migration 0006): the items tree, articles with read marks, rules.

Every change the API acknowledges is written here first; ``load`` reads it all back on start.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

Json = Any
SEP = "\\"


@dataclass(frozen=True, slots=True)
class ItemRow:
    path: str
    is_feed: bool
    uid: uuid.UUID | None
    url: str | None
    title: str
    last_build_date: str
    has_error: bool


@dataclass(frozen=True, slots=True)
class ArticleRow:
    feed_uid: uuid.UUID
    guid: str
    published: dt.datetime
    data: dict[str, str]
    is_read: bool


def _json(v: Json) -> str:
    return orjson.dumps(v).decode()


def _subtree(column: str, n: int) -> str:
    # The item itself and everything under it, without LIKE (whose escape character is '\').
    return f"({column} = ${n} OR left({column}, length(${n}) + 1) = ${n} || E'\\\\')"


class RssStore:
    """SQL over one pool; each method is one statement or one transaction."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def load(self) -> tuple[list[ItemRow], list[ArticleRow], list[tuple[str, Json]]]:
        items = await self.pool.fetch(
            "SELECT path, is_feed, uid, url, title, last_build_date, has_error "
            "FROM revaer_rss.items ORDER BY seq"
        )
        articles = await self.pool.fetch(
            "SELECT feed_uid, guid, published, data, is_read FROM revaer_rss.articles "
            "ORDER BY feed_uid, published DESC"
        )
        rules = await self.pool.fetch("SELECT name, definition FROM revaer_rss.rules ORDER BY seq")
        return (
            [ItemRow(**dict(r)) for r in items],
            [
                ArticleRow(r["feed_uid"], r["guid"], r["published"], orjson.loads(r["data"]), r["is_read"])
                for r in articles
            ],
            [(r["name"], orjson.loads(r["definition"])) for r in rules],
        )

    async def add_folder(self, path: str) -> None:
        await self.pool.execute("INSERT INTO revaer_rss.items (path, is_feed) VALUES ($1, false)", path)

    async def add_feed(self, path: str, uid: uuid.UUID, url: str) -> None:
        await self.pool.execute(
            "INSERT INTO revaer_rss.items (path, is_feed, uid, url) VALUES ($1, true, $2, $3)", path, uid, url
        )

    async def remove(self, path: str) -> None:
        await self.pool.execute(f"DELETE FROM revaer_rss.items WHERE {_subtree('path', 1)}", path)

    async def move(self, old: str, new: str) -> None:
        await self.pool.execute(
            "UPDATE revaer_rss.items SET path = $2 || substr(path, length($1) + 1) "
            f"WHERE {_subtree('path', 1)}",
            old,
            new,
        )

    async def set_url(self, uid: uuid.UUID, url: str) -> None:
        await self.pool.execute("UPDATE revaer_rss.items SET url = $2 WHERE uid = $1", uid, url)

    async def feed_refreshed(
        self,
        uid: uuid.UUID,
        *,
        title: str,
        last_build_date: str,
        has_error: bool,
        new: Sequence[ArticleRow],
        dropped: Iterable[str],
    ) -> None:
        """One refresh: the feed's state, its new articles, and the oldest ones over the limit gone."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE revaer_rss.items SET title = $2, last_build_date = $3, has_error = $4, "
                "refreshed_at = now() WHERE uid = $1",
                uid,
                title,
                last_build_date,
                has_error,
            )
            if new:
                await conn.executemany(
                    "INSERT INTO revaer_rss.articles (feed_uid, guid, published, data, is_read) "
                    "VALUES ($1, $2, $3, $4::jsonb, $5) ON CONFLICT DO NOTHING",
                    [(a.feed_uid, a.guid, a.published, _json(a.data), a.is_read) for a in new],
                )
            gone = list(dropped)
            if gone:
                await conn.execute(
                    "DELETE FROM revaer_rss.articles WHERE feed_uid = $1 AND guid = ANY($2::text[])",
                    uid,
                    gone,
                )

    async def mark_read(self, uid: uuid.UUID, guids: Sequence[str] | None) -> None:
        """Mark the feed's articles read: those named, or all of them (``None``)."""
        if guids is None:
            await self.pool.execute(
                "UPDATE revaer_rss.articles SET is_read = true WHERE feed_uid = $1 AND NOT is_read", uid
            )
        elif guids:
            await self.pool.execute(
                "UPDATE revaer_rss.articles SET is_read = true "
                "WHERE feed_uid = $1 AND guid = ANY($2::text[])",
                uid,
                list(guids),
            )

    async def set_rule(self, name: str, definition: Json) -> None:
        await self.pool.execute(
            "INSERT INTO revaer_rss.rules (name, definition) VALUES ($1, $2::jsonb) "
            "ON CONFLICT (name) DO UPDATE SET definition = EXCLUDED.definition, updated_at = now()",
            name,
            _json(definition),
        )

    async def rule_took(self, name: str, definition: Json, uid: uuid.UUID, guid: str) -> None:
        """A rule took an article: its new state and the article's read mark, together."""
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "UPDATE revaer_rss.rules SET definition = $2::jsonb, updated_at = now() WHERE name = $1",
                name,
                _json(definition),
            )
            await conn.execute(
                "UPDATE revaer_rss.articles SET is_read = true WHERE feed_uid = $1 AND guid = $2", uid, guid
            )

    async def rename_rule(self, old: str, new: str) -> None:
        await self.pool.execute("UPDATE revaer_rss.rules SET name = $2 WHERE name = $1", old, new)

    async def remove_rule(self, name: str) -> None:
        await self.pool.execute("DELETE FROM revaer_rss.rules WHERE name = $1", name)
