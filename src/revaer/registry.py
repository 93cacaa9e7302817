"""The torrents table: what the engine holds, kept current without ever blocking the engine.

The engine's events arrive on the event loop at any rate (10,000 adds in a
second, resume data every few seconds per active torrent). They are queued here
as coalesced writes per info-hash and flushed in one transaction by a
background task, so the pump never waits on PostgreSQL. ``close()`` flushes
what is left.

Group commit: a request that must not be acknowledged before its writes are in
PostgreSQL awaits ``commit()``. The writer then flushes at once (without the
``flush_interval`` that gathers background writes), and whatever arrives while
that flush is in flight goes into the next one, so concurrent requests share
transactions.

One refused row never blocks the others: when the database refuses a batch
because of its data (a NUL byte, a violated constraint), the batch is written
again one statement per savepoint; the refused writes are dropped, logged once
per torrent, and the torrent is counted in ``refused`` (``/v1/health``), while
every other write is committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Collection
from dataclasses import dataclass
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from revaer.engine.protocol import AddRequest
from revaer.memory import RELEASER
from revaer.registry_writes import (
    CATEGORY,
    EVENTS,
    INSERT,
    LABELS,
    REFUSED_ERRORS,
    TRANSIENT_ERRORS,
    Insert,
    Pending,
    events_args,
    fold,
    held_bytes,
    insert_args,
    merge,
    statements,
    write_inserts,
)

log = logging.getLogger(__name__)


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
    # What the torrent was added from (its .torrent file, or a magnet URI as UTF-8): re-adds a torrent
    # acknowledged before its first resume data, and gives a .torrent's info dictionary back to resume
    # data saved without it.
    source: bytes | None = None

    @property
    def magnet(self) -> str | None:
        """The magnet URI it was added from, if it was added from one."""
        if self.source and self.source.startswith(b"magnet:"):
            return self.source.decode("utf-8", "replace")
        return None

    def resume_request(self) -> AddRequest | None:
        """The engine's add for a restart: the resume data, and the .torrent file whose info
        dictionary it was saved without (None without resume data)."""
        if self.resume_data is None:
            return None
        torrent = self.source if self.source and self.magnet is None else None
        return AddRequest(resume=self.resume_data, torrent=torrent)

    def source_request(self) -> AddRequest:
        """The engine's add from what it was added from (a torrent acknowledged before its first
        resume data), paused if it was paused."""
        magnet = self.magnet
        return AddRequest(
            magnet=magnet,
            torrent=None if magnet else self.source,
            save_path=self.save_path,
            name=self.name if magnet and self.name != self.info_hash else "",
            paused=self.state == "paused",
        )


def source_bytes(magnet: str | None) -> bytes | None:
    """A magnet URI as stored in ``source`` (bytes, like a .torrent file); surrogatepass so that no
    string can make this step fail."""
    return magnet.encode("utf-8", "surrogatepass") if magnet else None


class TorrentNotStored(Exception):
    """The database refused a write of these torrents (info-hash → the database's message)."""

    def __init__(self, refused: dict[str, str]) -> None:
        super().__init__("; ".join(f"{h}: {m}" for h, m in sorted(refused.items())))
        self.refused = refused


class _Held:
    """A writer connection, kept across flushes: no pool round trips on the ack path. At most
    MAX_FLIGHTS are taken (as many as flushes overlap). Given back to the pool (which replaces it)
    when a flush fails for any reason but refused data."""

    __slots__ = ("_conn", "_registry")

    def __init__(self, registry: TorrentRegistry) -> None:
        self._registry = registry
        self._conn: PoolConnectionProxy[Any] | None = None

    async def __aenter__(self) -> PoolConnectionProxy[Any]:
        r = self._registry
        conn = None
        while r._idle and (conn is None or conn.is_closed()):
            conn = r._idle.pop()
        if conn is None or conn.is_closed():
            conn = await r.pool.acquire()
        self._conn = conn
        return conn

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        r, conn = self._registry, self._conn
        assert conn is not None
        if exc is None or isinstance(exc, REFUSED_ERRORS):
            r._idle.append(conn)
            return
        with contextlib.suppress(*TRANSIENT_ERRORS, asyncpg.InternalClientError):
            await r.pool.release(conn)


@dataclass(slots=True, eq=False)
class _Waiter:
    fut: asyncio.Future[None]
    needs: set[str]  # the info-hashes whose writes it waits for


# Stored rows turned into StoredTorrent between two turns of the loop.
YIELD_EVERY = 1000
# Acknowledged flushes in flight at once (each on its own connection, over disjoint torrents); the
# writer's background batches are not counted. Measured with 8 clients adding one torrent each
# (benchmarks/bench_add.py): one flight makes ~3.3 adds per transaction, three ~2.2, yet three are
# the fastest: a client waits for a commit already in flight less often (docs/performance.md).
MAX_FLIGHTS = 3


class TorrentRegistry:
    """Coalesced, batched writes to ``revaer_runtime.torrents``."""

    def __init__(self, pool: asyncpg.Pool, *, owner: str | None = None, flush_interval: float = 0.2) -> None:
        self.pool = pool
        self.owner = owner or socket.gethostname()
        self.flush_interval = flush_interval
        self._pending: dict[str, Pending] = {}
        self._deletes: set[str] = set()
        self._wake = asyncio.Event()
        # Set when someone awaits commit(): the writer flushes at once instead of gathering.
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        # commit() calls waiting, each on the torrents it needs written.
        self._waiters: list[_Waiter] = []
        # Torrents in flushes in flight (a torrent is in one flush at a time: writes stay in order).
        self._busy: set[str] = set()
        self._flights = 0  # flushes in flight (acknowledged ones and the writer's)
        self._ack_flights = 0  # of which started by commit()
        self._exclusive = False  # a full flush() runs: no other flush starts
        self._landed: asyncio.Future[None] | None = None  # resolved whenever a flush ends
        self._retry_at = 0.0  # after a failure, no flush before this (loop time)
        # Torrents whose writes the database refused (info-hash → its message), until removed or re-added.
        self._refused: dict[str, str] = {}
        self._idle: list[PoolConnectionProxy[Any]] = []  # the writer's connections between flushes

    # -- reads ------------------------------------------------------------------------------------
    async def load(self) -> list[StoredTorrent]:
        rows = await self.pool.fetch(
            """
            SELECT info_hash, name, state::text AS state, coalesce(category, '') AS category, tags,
                   save_path, resume_data, extract(epoch FROM added_at)::float8 AS added_at, source
              FROM revaer_runtime.torrents
             WHERE owner = $1 OR owner IS NULL
             ORDER BY added_at, info_hash
            """,
            self.owner,
        )
        out: list[StoredTorrent] = []
        for i, r in enumerate(rows):
            if i and i % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # 100,000 rows are ~0.7 s of Python: not in one go
            out.append(
                StoredTorrent(
                    r["info_hash"],
                    r["name"],
                    r["state"],
                    r["category"],
                    tuple(r["tags"]),
                    r["save_path"],
                    r["resume_data"],
                    r["added_at"],
                    r["source"],
                )
            )
        return out

    # -- queued writes ----------------------------------------------------------------------------
    def _slot(self, h: str) -> Pending:
        p = self._pending.get(h)
        if p is None:
            p = self._pending[h] = Pending()
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
        source: bytes | None = None,
        paused: bool = False,
    ) -> None:
        """Queue a new torrent's row; ``source`` is its .torrent file or magnet (see ``StoredTorrent``)."""
        self._deletes.discard(h)
        self._pending[h] = Pending(
            insert=Insert(
                name,
                save_path,
                category,
                tags,
                added_at,
                info_hash_v2 or None,
                source,
                "paused" if paused else "queued",
            )
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
        self._refused.pop(h, None)
        self._wake.set()

    @property
    def backlog(self) -> int:
        return len(self._pending) + len(self._deletes)

    @property
    def refused(self) -> dict[str, str]:
        """The torrents whose writes the database refused: info-hash → its message (a copy)."""
        return dict(self._refused)

    # -- committing -------------------------------------------------------------------------------
    def commit(self, hashes: Collection[str] = ()) -> Awaitable[None]:
        """Wait until the adds, label changes and removals queued so far are committed (of
        ``hashes`` only, when given; group commit: see the module). Engine events (states, resume
        data) are not waited for.

        Raises ``TorrentNotStored`` when the database refused a write of one of ``hashes``.
        Call it synchronously right after queueing: the writes it waits for are those queued by
        then (the awaitable is bound at the call).
        """
        if hashes:
            needs = {h for h in hashes if h in self._busy or h in self._deletes or self._acked(h)}
        else:
            needs = {h for h in self._pending if self._acked(h)} | self._deletes | self._busy
        waiter: _Waiter | None = None
        if needs:
            waiter = _Waiter(asyncio.get_running_loop().create_future(), needs)
            self._waiters.append(waiter)
        return self._settle(waiter, hashes)

    def _acked(self, h: str) -> bool:
        p = self._pending.get(h)
        return p is not None and (p.insert is not None or p.labels is not None)

    async def _settle(self, waiter: _Waiter | None, hashes: Collection[str]) -> None:
        # The waiter flushes itself (no hop through the writer task, which under load costs a loop
        # turn each way); flushes overlap, up to MAX_FLIGHTS, each over torrents no other one has.
        loop = asyncio.get_running_loop()
        while waiter is not None and not waiter.fut.done() and self._task is not None:
            wait: float | None = None
            # Only for writes of its own not yet in flight: those in flight land without its help,
            # and each flush started costs a transaction.
            if not self._exclusive and self._ack_flights < MAX_FLIGHTS and not waiter.needs <= self._busy:
                wait = self._retry_at - loop.time()
                if wait <= 0:
                    pending, deletes = self._take_acked()
                    if pending or deletes:
                        with contextlib.suppress(Exception):  # logged; retried after _retry_at
                            await self._fly(pending, deletes, acked=True)
                        continue
                    wait = None
            await asyncio.wait(
                [waiter.fut, self._landing()], timeout=wait, return_when=asyncio.FIRST_COMPLETED
            )
        if waiter is not None:
            await waiter.fut
        refused = {h: self._refused[h] for h in hashes if h in self._refused}
        if refused:
            raise TorrentNotStored(refused)

    def _landing(self) -> asyncio.Future[None]:
        if self._landed is None:
            self._landed = asyncio.get_running_loop().create_future()
        return self._landed

    def _land(self) -> None:
        landed, self._landed = self._landed, None
        if landed is not None and not landed.done():
            landed.set_result(None)

    # -- flushing ---------------------------------------------------------------------------------
    async def flush(self, *, acknowledged_only: bool = False) -> None:
        """Write what is queued (``acknowledged_only``: only what ``commit()`` waits for, adds, label
        changes and removals; engine events keep gathering for the next full flush), once the
        flushes in flight are done; raises what a failed write raised."""
        async with self._lock:
            self._exclusive = True
            try:
                while self._flights:
                    await self._landing()
                if acknowledged_only:
                    pending, deletes = self._take_acked()
                else:
                    pending, self._pending = self._pending, {}
                    deletes, self._deletes = self._deletes, set()
                if pending or deletes:
                    await self._fly(pending, deletes)
            finally:
                self._exclusive = False
                self._land()

    async def _flush_free(self) -> None:
        """The writer's flush: what is queued for torrents no flush in flight has, beside the flushes
        ``commit()`` runs and never waiting for them (a batch of resume data must not hold up an add's
        acknowledgement). Torrents in flight keep their writes for the next round."""
        busy = self._busy
        pending = {h: p for h, p in self._pending.items() if h not in busy}
        for h in pending:
            del self._pending[h]
        deletes = self._deletes - busy
        self._deletes -= deletes
        if pending or deletes:
            await self._fly(pending, deletes)

    def _take_acked(self) -> tuple[dict[str, Pending], set[str]]:
        """The adds, label changes and removals of torrents no flush in flight has."""
        busy = self._busy
        taken = {
            h: p
            for h, p in self._pending.items()
            if (p.insert is not None or p.labels is not None) and h not in busy
        }
        for h in taken:
            del self._pending[h]
        deletes = self._deletes - busy
        self._deletes -= deletes
        return taken, deletes

    async def _fly(self, pending: dict[str, Pending], deletes: set[str], *, acked: bool = False) -> None:
        """Write one batch; on success, the waiters that needed only these torrents are answered."""
        pending = {h: fold(p) for h, p in pending.items()}
        written = set(pending) | deletes
        self._busy |= written
        self._flights += 1
        self._ack_flights += acked
        try:
            await self._write_batch(pending, deletes)
        except BaseException as e:
            # Keep the writes for the next attempt (a cancelled flush too), after a pause.
            if isinstance(e, TRANSIENT_ERRORS):
                log.warning("torrent registry write failed, will retry", extra={"error": str(e)})
            elif isinstance(e, Exception):
                log.exception("torrent registry write failed, will retry")
            self._requeue(pending, deletes)
            self._retry_at = asyncio.get_running_loop().time() + 1.0
            raise
        finally:
            self._busy -= written
            self._flights -= 1
            self._ack_flights -= acked
            self._land()
        still: list[_Waiter] = []
        for w in self._waiters:
            w.needs -= written
            if w.needs:
                still.append(w)
            elif not w.fut.done():
                w.fut.set_result(None)
        self._waiters = still
        RELEASER.freed(sum(map(held_bytes, pending.values())))

    def _requeue(self, pending: dict[str, Pending], deletes: set[str]) -> None:
        """Put a failed batch back under what was queued since (newer values win, field by field)."""
        for h, old in pending.items():
            if h in self._deletes:
                continue  # removed since
            new = self._pending.get(h)
            self._pending[h] = old if new is None else merge(old, new)
        self._deletes |= {h for h in deletes if h not in self._pending}

    async def _write_batch(self, pending: dict[str, Pending], deletes: set[str]) -> None:
        try:
            await self._write(pending, deletes)
        except REFUSED_ERRORS as e:
            log.info("torrent registry batch refused, writing row by row", extra={"error": str(e)})
            await self._write_isolated(pending, deletes)

    def _connection(self) -> contextlib.AbstractAsyncContextManager[PoolConnectionProxy[Any]]:
        return _Held(self)

    async def _write(self, pending: dict[str, Pending], deletes: set[str]) -> None:
        inserts = [(h, p.insert) for h, p in pending.items() if p.insert is not None]
        # An insert writes its category too; label changes need theirs first (the foreign key).
        categories = sorted({p.labels[0] for p in pending.values() if p.labels and p.labels[0]})
        # Folded (``_fly``), a new torrent's pending writes are its insert alone.
        only_inserts = len(inserts) == len(pending) and not deletes and not categories
        async with self._connection() as conn:
            if only_inserts:
                # New torrents alone (the common group commit): one COPY or one executemany.
                await write_inserts(conn, inserts, self.owner)
            else:
                async with conn.transaction():
                    if categories:
                        await conn.executemany(CATEGORY, [(c,) for c in categories])
                    if inserts:
                        await conn.executemany(INSERT, [insert_args(h, i, self.owner) for h, i in inserts])
                    await self._updates(conn, pending)
                    if deletes:
                        await conn.execute(
                            "DELETE FROM revaer_runtime.torrents WHERE info_hash = ANY($1::text[])",
                            sorted(deletes),
                        )
        for h, _ in inserts:
            self._refused.pop(h, None)

    async def _updates(self, conn: Any, pending: dict[str, Pending]) -> None:
        events = events_args(pending)
        if events is not None:
            await conn.execute(EVENTS, *events)
        labels = [(h, p.labels[0], list(p.labels[1])) for h, p in pending.items() if p.labels is not None]
        if labels:
            await conn.executemany(LABELS, labels)

    async def _write_isolated(self, pending: dict[str, Pending], deletes: set[str]) -> None:
        """The batch again, each statement in a savepoint of its own: a refused one is dropped alone."""
        categories = sorted(
            {p.insert.category for p in pending.values() if p.insert is not None and p.insert.category}
            | {p.labels[0] for p in pending.values() if p.labels and p.labels[0]}
        )
        refused: dict[str, str] = {}
        async with self._connection() as conn, conn.transaction():
            for c in categories:
                try:
                    async with conn.transaction():
                        await conn.execute(CATEGORY, c)
                except REFUSED_ERRORS as e:
                    log.error("category refused by the database", extra={"category": c, "error": str(e)})
            for h, p in pending.items():
                for sql, args in statements(h, p, self.owner):
                    try:
                        async with conn.transaction():
                            await conn.execute(sql, *args)
                    except REFUSED_ERRORS as e:
                        refused.setdefault(h, str(e))
                if p.insert is not None and h not in refused:
                    self._refused.pop(h, None)
            if deletes:
                await conn.execute(
                    "DELETE FROM revaer_runtime.torrents WHERE info_hash = ANY($1::text[])", sorted(deletes)
                )
        self._quarantine(refused)

    def _quarantine(self, refused: dict[str, str]) -> None:
        for h, message in refused.items():
            if h not in self._refused:
                # Once per torrent: its later refused writes are dropped quietly.
                log.error(
                    "torrent not stored: the database refused it", extra={"info_hash": h, "error": message}
                )
            self._refused[h] = message

    async def _run(self) -> None:
        # Engine events (states, resume data) gather for flush_interval and are written together;
        # what commit() waits for is flushed by its own waiter (_settle), never held up here.
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(self.flush_interval)
            try:
                await self._flush_free()
            except Exception:  # logged by _fly()
                await asyncio.sleep(1.0)
                self._wake.set()
                continue
            if self._pending or self._deletes:
                self._wake.set()  # left for the next round: torrents that were in flight

    async def release(self) -> None:
        """Give the writer's connections back to the pool (the next flush takes one again)."""
        idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(*TRANSIENT_ERRORS, asyncpg.InternalClientError):
                await self.pool.release(conn)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="revaer-registry-writer")

    async def close(self) -> None:
        if self._task is not None:
            # Under the lock the writer is not inside a flush: cancelling it cannot cut a batch short.
            async with self._lock:
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self.flush()
        except TRANSIENT_ERRORS as e:
            await self.release()
            # Nothing will retry now: the waiters learn that their writes are not committed.
            for w in self._waiters:
                if not w.fut.done():
                    w.fut.set_exception(e)
            self._waiters = []
            raise
        await self.release()
