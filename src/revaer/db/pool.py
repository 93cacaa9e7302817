"""The database: ``DATABASE_URL`` when set, else the embedded server in the data dir; an asyncpg pool.

``open_database()`` is the one entry point for the server and the CLI. jsonb
values travel as Python objects through orjson on every connection it makes.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import platformdirs

from revaer.db.embedded import EmbeddedPostgres

log = logging.getLogger(__name__)

Pool = asyncpg.Pool
Connection = asyncpg.Connection


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
    conn: Connection = await asyncpg.connect(dsn)
    await init_connection(conn)
    return conn


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> Pool:
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, init=init_connection)
    assert pool is not None
    return pool


@dataclass
class Database:
    """A connected database: its URL, a pool, and the embedded server when one was started."""

    dsn: str
    pool: Pool
    embedded: EmbeddedPostgres | None = field(default=None)

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
