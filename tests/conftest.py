"""Shared fixtures: a real PostgreSQL for the database tests, a timeout on every async test, and a
test failed by any exception it left to the event loop's exception handler.

The server is the one ``DATABASE_URL`` names (CI: the machine's PostgreSQL 15),
else an embedded PostgreSQL started in a temporary directory under /tmp (run as
root, the embedded server's own user must be able to traverse it). Each test
session works in databases of its own, all named ``revaer_test_<random>_*`` and
all dropped at the end: a migrated template, then one database per test that
asks for one (a copy of the template, so every test starts from a clean schema).
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from revaer.db.embedded import EmbeddedPostgres
from revaer.db.migrate import migrate_dsn
from revaer.db.pool import create_pool

# Every async test gets this timeout unless it sets its own (pytest-timeout marker).
ASYNC_TEST_TIMEOUT = 60.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        function = getattr(item, "function", None)
        if (
            function is not None
            and inspect.iscoroutinefunction(function)
            and item.get_closest_marker("timeout") is None
        ):
            item.add_marker(pytest.mark.timeout(ASYNC_TEST_TIMEOUT))


@pytest.fixture(autouse=True)
async def loop_exceptions() -> AsyncIterator[list[dict[str, Any]]]:
    """Fail the test if anything reached the loop's exception handler while it ran.

    That is where asyncio reports what nobody awaited: "Task exception was never retrieved", a
    callback or reader that raised, an exception in an async generator's cleanup. Set up before
    the test's other fixtures, it also sees what their teardown leaves behind.
    """
    loop = asyncio.get_running_loop()
    seen: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: seen.append(context))
    try:
        yield seen
        # Callbacks the teardown scheduled run now; tasks dropped with an exception report it when freed.
        await asyncio.sleep(0)
        gc.collect()
    finally:
        loop.set_exception_handler(previous)
    if seen:
        lines = []
        for ctx in seen:
            exc = ctx.get("exception")
            lines.append(f"{ctx.get('message')}: {exc!r}" if exc is not None else str(ctx.get("message")))
            for key in ("task", "future", "handle"):
                if key in ctx:
                    lines.append(f"    {key}: {ctx[key]!r}")
        pytest.fail("unhandled exceptions on the event loop:\n" + "\n".join(lines), pytrace=False)


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` (TCP and unix-socket URLs alike)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


class TestDatabases:
    """Creates databases for this session on one server, and drops them all at the end."""

    __test__ = False

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.prefix = f"revaer_test_{secrets.token_hex(4)}"
        self.template = f"{self.prefix}_tpl"
        self._count = 0
        self._names: list[str] = []

    def _next(self) -> str:
        self._count += 1
        return f"{self.prefix}_{self._count}"

    async def _admin(self, sql: str) -> None:
        conn = await asyncpg.connect(self.server_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def create_template(self) -> None:
        await self._admin(f'CREATE DATABASE "{self.template}" TEMPLATE template0')
        self._names.append(self.template)
        await migrate_dsn(with_database(self.server_url, self.template))

    async def create(self, *, migrated: bool = True) -> str:
        """A new database (a copy of the migrated template, or empty); returns its URL."""
        name = self._next()
        template = self.template if migrated else "template0"
        await self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        self._names.append(name)
        return with_database(self.server_url, name)

    async def drop_all(self, at_once: int = 16) -> None:
        # Each DROP DATABASE waits for a checkpoint (~0.5 s here); drops that ask together share one,
        # so a few hundred databases go in seconds instead of minutes. The template goes last.
        gate = asyncio.Semaphore(at_once)

        async def drop(name: str) -> None:
            async with gate:
                await self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        copies = [name for name in self._names if name != self.template]
        await asyncio.gather(*map(drop, copies))
        if self.template in self._names:
            await drop(self.template)
        self._names.clear()


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A PostgreSQL server for this session: ``$DATABASE_URL``, else an embedded one."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    root = Path(tempfile.mkdtemp(prefix="revaer-test-pg-", dir="/tmp"))
    server = EmbeddedPostgres(root / "pg")
    server.start()
    try:
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def test_databases(pg_server_url: str) -> Iterator[TestDatabases]:
    dbs = TestDatabases(pg_server_url)
    asyncio.run(dbs.create_template())
    try:
        yield dbs
    finally:
        asyncio.run(dbs.drop_all())


@pytest.fixture
async def db_url(test_databases: TestDatabases) -> str:
    """A fresh, migrated database of this test's own."""
    return await test_databases.create()


@pytest.fixture
async def empty_db_url(test_databases: TestDatabases) -> str:
    """A fresh database with no schema at all."""
    return await test_databases.create(migrated=False)


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(db_url, min_size=1, max_size=5)
    try:
        yield p
    finally:
        await p.close()
