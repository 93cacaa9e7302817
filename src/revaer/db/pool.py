"""The database: ``DATABASE_URL`` when set, else the embedded server in the data dir; an asyncpg pool.

``open_database()`` is the one entry point for the server and the CLI. jsonb
values travel as Python objects through orjson on every connection it makes.

The database may go away (restarted, killed, frozen). Nothing here waits for it unboundedly:
connecting gives up after ``CONNECT_TIMEOUT``, taking a connection from the pool after
``ACQUIRE_TIMEOUT`` (which asyncpg also applies to giving it back, where a cancelled query waits
for its cancel request). Reads on a request's path go through ``bounded()``, which answers within
its deadline even when asyncpg's own clean-up would hang on a frozen server, and raise
``DatabaseUnavailable``; the HTTP layers answer that (and asyncpg's connection errors) with 503.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import orjson
import platformdirs

from revaer.db.embedded import EmbeddedPostgres

log = logging.getLogger(__name__)

Pool = asyncpg.Pool
Connection = asyncpg.Connection
T = TypeVar("T")

# Generous next to the read bound: a busy server may be slow to fork a backend, not away.
CONNECT_TIMEOUT = 2.0
ACQUIRE_TIMEOUT = 1.0
# How long a read on a request's path may wait for the database (health uses less).
READ_TIMEOUT = 1.0


class DatabaseUnavailable(ConnectionError):
    """The database did not answer in time or refused the connection."""


# Errors that mean "the database is not there" rather than "the query was wrong".
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    DatabaseUnavailable,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)

_detached: set[asyncio.Future[Any]] = set()


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database is not there (answered 503), not that a query was wrong."""
    if isinstance(exc, (*UNAVAILABLE_ERRORS, ConnectionError, TimeoutError)):
        return True
    # asyncpg connecting to a unix socket that is gone (the server died): ENOENT without a file name,
    # which tells it apart from the file operations of the handlers.
    return isinstance(exc, FileNotFoundError) and exc.filename is None


async def bounded(work: Awaitable[T], seconds: float = READ_TIMEOUT) -> T:
    """``await work``, but raise ``DatabaseUnavailable`` after ``seconds`` without waiting for its
    clean-up: on a frozen server asyncpg's cancel request itself waits for the server. The work is
    cancelled and finishes (or fails) on its own in the background. For reads only: a write that
    timed out here might still commit later."""
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if task in done:
        try:
            return task.result()
        except Exception as exc:
            if is_unavailable(exc):
                raise DatabaseUnavailable(f"the database is unavailable: {exc}") from exc
            raise
    task.cancel()
    _detached.add(task)
    task.add_done_callback(_forget)
    raise DatabaseUnavailable(f"the database did not answer within {seconds} s")


def _forget(task: asyncio.Future[Any]) -> None:
    _detached.discard(task)
    if not task.cancelled():
        task.exception()  # retrieved: a late failure of abandoned work is expected, not news


class BoundedPool(asyncpg.Pool):
    """An asyncpg pool whose ``acquire()`` (and so every ``pool.fetch*``/``execute``) waits at most
    ``acquire_timeout`` unless told otherwise."""

    def __init__(self, *args: Any, acquire_timeout: float = ACQUIRE_TIMEOUT, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None) -> Any:
        return super().acquire(timeout=self._acquire_timeout if timeout is None else timeout)


def data_dir(explicit: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Path:
    """``--data-dir``, else ``$REVAER_DATA_DIR``, else the platform's user data dir."""
    env = os.environ if env is None else env
    if explicit:
        return Path(explicit).expanduser().resolve()
    if env.get("REVAER_DATA_DIR"):
        return Path(env["REVAER_DATA_DIR"]).expanduser().resolve()
    return Path(platformdirs.user_data_dir("revaer", appauthor=False))


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


async def init_connection(conn: Connection) -> None:
    """Per-connection set-up: jsonb and json as Python values."""
    for name in ("jsonb", "json"):
        await conn.set_type_codec(name, encoder=_dumps, decoder=orjson.loads, schema="pg_catalog")


async def connect(dsn: str) -> Connection:
    """A single connection outside any pool (LISTEN, advisory locks held for a session)."""
    # Bounded (generously: this is no request's path) so a frozen server cannot hold a reconnect forever.
    conn: Connection = await asyncpg.connect(dsn, timeout=10)
    await init_connection(conn)
    return conn


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> Pool:
    """A pool that never waits unboundedly for a connection (see ``BoundedPool``)."""
    pool = BoundedPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        max_queries=50000,
        max_inactive_connection_lifetime=300.0,
        connect=None,
        setup=None,
        init=init_connection,
        reset=None,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        timeout=CONNECT_TIMEOUT,
    )
    await pool
    return pool


@dataclass
class Database:
    """A connected database: its URL, a pool, and the embedded server when one was started."""

    dsn: str
    pool: Pool
    embedded: EmbeddedPostgres | None = field(default=None)

    async def ping(self, seconds: float = 0.5) -> None:
        """Raise ``DatabaseUnavailable`` unless the database answers ``SELECT 1`` within ``seconds``."""
        await bounded(self.pool.fetchval("SELECT 1", timeout=seconds), seconds)

    async def checkpoint(self) -> None:
        """Write the embedded server's dirty pages now (a stop begins: its shutdown checkpoint then
        has little left); nothing for an external server, which this one does not stop."""
        if self.embedded is None:
            return
        try:
            await self.pool.execute("CHECKPOINT", timeout=10)
        except (asyncpg.PostgresError, OSError, TimeoutError) as e:
            log.info("early checkpoint skipped", extra={"error": str(e)})

    async def close(self) -> None:
        await self.pool.close()
        if self.embedded is not None:
            await asyncio.to_thread(self.embedded.stop)


async def resolve_dsn(
    database_url: str | None, data_directory: Path, env: Mapping[str, str] | None = None
) -> tuple[str, EmbeddedPostgres | None]:
    """The URL to use: an explicit one, ``$DATABASE_URL``, or a started embedded server."""
    env = os.environ if env is None else env
    url = database_url or env.get("DATABASE_URL")
    if url:
        return url, None
    server = EmbeddedPostgres(data_directory / "pg")
    await asyncio.to_thread(server.start)
    return server.url, server


async def open_database(
    database_url: str | None = None,
    data_directory: Path | None = None,
    *,
    min_size: int = 1,
    max_size: int = 10,
    env: Mapping[str, str] | None = None,
) -> Database:
    """Connect to ``database_url``/``$DATABASE_URL``, or start the embedded server in the data dir."""
    dsn, server = await resolve_dsn(database_url, data_directory or data_dir(env=env), env)
    try:
        pool = await create_pool(dsn, min_size=min_size, max_size=max_size)
    except BaseException:
        if server is not None:
            await asyncio.to_thread(server.stop)
        raise
    log.info("database connected", extra={"embedded": server is not None})
    return Database(dsn, pool, server)
