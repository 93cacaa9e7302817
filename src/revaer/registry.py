"""The torrents table: what the engine holds, kept current without ever blocking the engine.

The engine's events arrive on the event loop at any rate (10,000 adds in a
second, resume data every few seconds per active torrent). They are queued here
as coalesced writes per info-hash and flushed in one transaction by a
background task, so the pump never waits on PostgreSQL. ``close()`` flushes
what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

log = logging.getLogger(__name__)

_malloc_trim: Callable[[int], int] | None
try:
    _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
except (OSError, AttributeError):  # not glibc
    _malloc_trim = None


def release_memory() -> None:
    """Give freed heap memory back to the system (glibc keeps it after a burst of large buffers).

    A burst of resume data (10,000 adds ask for 10,000 of them, ~10 KB each) is freed once it is
    written, but glibc keeps those pages; without this the process stays ~150 MB larger.
    """
    if _malloc_trim is not None:
        _malloc_trim(0)


@dataclass(frozen=True, slots=True)
class StoredTorrent:
    info_hash: str
    name: str
    state: str
    category: str
    tags: tuple[str, ...]
    save_path: str
    resume_data: bytes | None
    added_at: float


@dataclass(slots=True)
class _Insert:
    name: str
    save_path: str
    category: str
    tags: tuple[str, ...]
    added_at: float
    info_hash_v2: str | None


@dataclass(slots=True)
class _Pending:
    insert: _Insert | None = None
    resume: bytes | None = None
    state: str | None = None
    completed_at: float | None = None
    name_path: tuple[str, str] | None = None
    labels: tuple[str, tuple[str, ...]] | None = None
    touched: set[str] = field(default_factory=set)


class TorrentRegistry:
    """Coalesced, batched writes to ``revaer_runtime.torrents``."""

    def __init__(self, pool: asyncpg.Pool, *, owner: str | None = None, flush_interval: float = 0.2) -> None:
        self.pool = pool
        self.owner = owner or socket.gethostname()
        self.flush_interval = flush_interval
        self._pending: dict[str, _Pending] = {}
        self._deletes: set[str] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    # -- reads ------------------------------------------------------------------------------------
    async def load(self) -> list[StoredTorrent]:
        rows = await self.pool.fetch(
            """
            SELECT info_hash, name, state::text AS state, coalesce(category, '') AS category, tags,
                   save_path, resume_data, extract(epoch FROM added_at)::float8 AS added_at
              FROM revaer_runtime.torrents
             WHERE owner = $1 OR owner IS NULL
             ORDER BY added_at, info_hash
            """,
            self.owner,
        )
        return [
            StoredTorrent(
                r["info_hash"],
                r["name"],
                r["state"],
                r["category"],
                tuple(r["tags"]),
                r["save_path"],
                r["resume_data"],
                r["added_at"],
            )
            for r in rows
        ]

    # -- queued writes ----------------------------------------------------------------------------
    def _slot(self, h: str) -> _Pending:
        p = self._pending.get(h)
        if p is None:
            p = self._pending[h] = _Pending()
        self._wake.set()
        return p

    def added(
        self,
        h: str,
        *,
        name: str,
        save_path: str,
        category: str,
        tags: tuple[str, ...],
        added_at: float,
        info_hash_v2: str | None = None,
    ) -> None:
        self._deletes.discard(h)
        self._pending[h] = _Pending(
            insert=_Insert(name, save_path, category, tags, added_at, info_hash_v2 or None)
        )
        self._wake.set()

    def store_resume(self, h: str, data: bytes) -> None:
        """Queue ``data`` as the torrent's resume data (what a restart re-adds it from)."""
        self._slot(h).resume = data

    def state(self, h: str, state: str) -> None:
        self._slot(h).state = state

    def completed(self, h: str, at: float) -> None:
        self._slot(h).completed_at = at

    def name_path(self, h: str, name: str, save_path: str) -> None:
        self._slot(h).name_path = (name, save_path)

    def labels(self, h: str, category: str, tags: tuple[str, ...]) -> None:
        self._slot(h).labels = (category, tags)

    def deleted(self, h: str) -> None:
        self._pending.pop(h, None)
        self._deletes.add(h)
        self._wake.set()

    @property
    def backlog(self) -> int:
        return len(self._pending) + len(self._deletes)

    # -- flushing ---------------------------------------------------------------------------------
    async def flush(self) -> None:
        async with self._lock:
            pending, self._pending = self._pending, {}
            deletes, self._deletes = self._deletes, set()
            if not pending and not deletes:
                return
            try:
                await self._write(pending, deletes)
                resume_bytes = sum(len(p.resume) for p in pending.values() if p.resume is not None)
                if resume_bytes > 8 * 1024 * 1024:
                    release_memory()
            except (asyncpg.PostgresError, OSError) as e:
                # Keep the writes for the next attempt; newer ones for the same torrent win.
                log.warning("torrent registry write failed, will retry", extra={"error": str(e)})
                for h, p in pending.items():
                    self._pending.setdefault(h, p)
                self._deletes |= deletes - set(self._pending)
                raise

    async def _write(self, pending: dict[str, _Pending], deletes: set[str]) -> None:
        inserts = [(h, p.insert) for h, p in pending.items() if p.insert is not None]
        categories = sorted(
            {i.category for _, i in inserts if i.category}
            | {p.labels[0] for p in pending.values() if p.labels and p.labels[0]}
        )
        async with self.pool.acquire() as conn, conn.transaction():
            if categories:
                await conn.executemany(
                    "INSERT INTO revaer_runtime.categories (name) VALUES ($1) ON CONFLICT DO NOTHING",
                    [(c,) for c in categories],
                )
            if inserts:
                await conn.executemany(
                    """
                    INSERT INTO revaer_runtime.torrents
                           (info_hash, info_hash_v2, name, save_path, category, tags, added_at, owner, state)
                    VALUES ($1, $2, $3, $4, nullif($5, ''), $6, to_timestamp($7), $8, 'queued')
                    ON CONFLICT (info_hash) DO UPDATE
                       SET name = EXCLUDED.name, save_path = EXCLUDED.save_path,
                           category = EXCLUDED.category, tags = EXCLUDED.tags,
                           added_at = EXCLUDED.added_at, owner = EXCLUDED.owner,
                           resume_data = NULL, completed_at = NULL, updated_at = now()
                    """,
                    [
                        (
                            h,
                            i.info_hash_v2,
                            i.name,
                            i.save_path,
                            i.category,
                            list(i.tags),
                            i.added_at,
                            self.owner,
                        )
                        for h, i in inserts
                    ],
                )
            await self._updates(conn, pending)
            if deletes:
                await conn.execute(
                    "DELETE FROM revaer_runtime.torrents WHERE info_hash = ANY($1::text[])", sorted(deletes)
                )

    async def _updates(self, conn: Any, pending: dict[str, _Pending]) -> None:
        resume = [(h, p.resume) for h, p in pending.items() if p.resume is not None]
        if resume:
            await conn.executemany(
                """UPDATE revaer_runtime.torrents
                      SET resume_data = $2, resume_saved_at = now(), updated_at = now()
                    WHERE info_hash = $1""",
                resume,
            )
        states = [(h, p.state) for h, p in pending.items() if p.state is not None]
        if states:
            await conn.executemany(
                """UPDATE revaer_runtime.torrents
                      SET state = $2::revaer_runtime.torrent_state, updated_at = now()
                    WHERE info_hash = $1""",
                states,
            )
        done = [(h, p.completed_at) for h, p in pending.items() if p.completed_at is not None]
        if done:
            await conn.executemany(
                """UPDATE revaer_runtime.torrents SET completed_at = to_timestamp($2), updated_at = now()
                    WHERE info_hash = $1""",
                done,
            )
        names = [(h, *p.name_path) for h, p in pending.items() if p.name_path is not None]
        if names:
            await conn.executemany(
                """UPDATE revaer_runtime.torrents SET name = $2, save_path = $3, updated_at = now()
                    WHERE info_hash = $1""",
                names,
            )
        labels = [(h, p.labels[0], list(p.labels[1])) for h, p in pending.items() if p.labels is not None]
        if labels:
            await conn.executemany(
                """UPDATE revaer_runtime.torrents SET category = nullif($2, ''), tags = $3, updated_at = now()
                    WHERE info_hash = $1""",
                labels,
            )

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(self.flush_interval)  # gather a batch
            try:
                await self.flush()
            except (asyncpg.PostgresError, OSError):
                await asyncio.sleep(1.0)
                self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="revaer-registry-writer")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()
