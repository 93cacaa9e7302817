"""Categories (name → save path) and tags: the rows both APIs share.

Kept in memory for the hot paths (listings, sync/maindata) and written to
``revaer_runtime.categories``/``tags`` at once; ``version`` is bumped on every
change so a reader can tell cheaply whether anything moved.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import asyncpg

from revaer.errors import UsageError
from revaer.labels import TAG_RULE, valid_category, valid_tag
from revaer.tasks import Spawned

log = logging.getLogger(__name__)


class CategoryError(UsageError):
    """An invalid or conflicting category or tag."""


_INSERT_CATEGORY = (
    "INSERT INTO revaer_runtime.categories (name, save_path, download_path) VALUES ($1, $2, $3)"
    " ON CONFLICT (name) DO UPDATE SET save_path = EXCLUDED.save_path, download_path = EXCLUDED.download_path"
)
_UPDATE_CATEGORY = "UPDATE revaer_runtime.categories SET save_path = $2, download_path = $3 WHERE name = $1"


def check_tags(tags: Iterable[str]) -> None:
    """``CategoryError`` for the first invalid tag (the APIs check first, with their own answers:
    this keeps any other caller's bad tag out of the store too)."""
    for t in tags:
        if not valid_tag(t):
            raise CategoryError(f"invalid tag {t!r}: {TAG_RULE}")


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    save_path: str = ""
    download_path: str | None = None  # where its torrents download first: None not given, "" off


class CategoryStore:
    def __init__(self, pool: asyncpg.Pool | None = None) -> None:
        self.pool = pool
        self.categories: dict[str, Category] = {}
        self.tags: set[str] = set()
        self.version = 0
        self._pending = Spawned()  # tag rows being written

    async def load(self) -> None:
        if self.pool is None:
            return
        rows = await self.pool.fetch(
            "SELECT name, save_path, download_path FROM revaer_runtime.categories ORDER BY name"
        )
        self.categories = {r["name"]: Category(r["name"], r["save_path"], r["download_path"]) for r in rows}
        self.tags = {r["name"] for r in await self.pool.fetch("SELECT name FROM revaer_runtime.tags")}
        self.version += 1

    def _bump(self) -> None:
        self.version += 1

    # -- categories -------------------------------------------------------------------------------
    async def create_category(
        self, name: str, save_path: str = "", download_path: str | None = None
    ) -> Category:
        if not valid_category(name):
            raise CategoryError(f"invalid category name: {name!r}")
        if name in self.categories:
            raise CategoryError(f"category already exists: {name}")
        return await self._put(_INSERT_CATEGORY, name, save_path, download_path)

    async def edit_category(self, name: str, save_path: str, download_path: str | None = None) -> Category:
        if name not in self.categories:
            raise CategoryError(f"no such category: {name}")
        return await self._put(_UPDATE_CATEGORY, name, save_path, download_path)

    async def _put(self, sql: str, name: str, save_path: str, download_path: str | None) -> Category:
        if self.pool is not None:
            await self.pool.execute(sql, name, save_path, download_path)
        cat = self.categories[name] = Category(name, save_path, download_path)
        self._bump()
        return cat

    async def remove_categories(self, names: Iterable[str]) -> list[str]:
        gone = [n for n in names if n in self.categories]
        if not gone:
            return []
        if self.pool is not None:
            # torrents.category references categories ON DELETE SET NULL.
            await self.pool.execute(
                "DELETE FROM revaer_runtime.categories WHERE name = ANY($1::text[])", gone
            )
        for n in gone:
            del self.categories[n]
        self._bump()
        return gone

    def ensure_category(self, name: str) -> None:
        """Known from now on (a torrent was added with it); the registry writes the row with the torrent."""
        if name and name not in self.categories:
            if not valid_category(name):
                raise CategoryError(f"invalid category name: {name!r}")
            self.categories[name] = Category(name)
            self._bump()

    # -- tags -------------------------------------------------------------------------------------
    async def create_tags(self, names: Iterable[str]) -> list[str]:
        new = []
        for n in names:
            n = n.strip()
            if not n:
                continue
            if not valid_tag(n):
                raise CategoryError(f"invalid tag: {n!r}")
            if n not in self.tags and n not in new:
                new.append(n)
        if not new:
            return []
        if self.pool is not None:
            await self.pool.executemany(
                "INSERT INTO revaer_runtime.tags (name) VALUES ($1) ON CONFLICT DO NOTHING",
                [(n,) for n in new],
            )
        self.tags.update(new)
        self._bump()
        return new

    async def delete_tags(self, names: Iterable[str]) -> list[str]:
        gone = [n for n in {x.strip() for x in names} if n in self.tags]
        if not gone:
            return []
        if self.pool is not None:
            await self.pool.execute("DELETE FROM revaer_runtime.tags WHERE name = ANY($1::text[])", gone)
        self.tags.difference_update(gone)
        self._bump()
        return gone

    def ensure_tags(self, names: Iterable[str]) -> None:
        new = [n for n in names if n and n not in self.tags]
        if new:
            self.tags.update(new)
            self._bump()
            if self.pool is not None:
                self._pending.spawn(self._store_tags(new))

    async def _store_tags(self, names: list[str]) -> None:
        assert self.pool is not None
        try:
            await self.pool.executemany(
                "INSERT INTO revaer_runtime.tags (name) VALUES ($1) ON CONFLICT DO NOTHING",
                [(n,) for n in names],
            )
        except (asyncpg.PostgresError, OSError) as e:
            log.warning("storing tags failed", extra={"tags": names, "error": str(e)})
