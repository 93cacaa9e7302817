"""The node's advisory lock on a real PostgreSQL: one holder, named to the refused; taken again
after its connection is killed (``pg_terminate_backend``, as a database restart would)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg
import pytest

from revaer.db.lock import NODE_LOCK_CLASS, AlreadyRunning, NodeLock, node_key
from tests.conftest import TestDatabases


async def _holder_pid(pool: asyncpg.Pool, node: str) -> int | None:
    pid: int | None = await pool.fetchval(
        """SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = $2
            AND objsubid = 2 AND granted
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())""",
        NODE_LOCK_CLASS,
        node_key(node),
    )
    return pid


async def test_one_holder_per_node_and_the_refusal_names_it(db_url: str, tmp_path: Path) -> None:
    first = NodeLock(db_url, "node-a", data_dir=tmp_path / "a")
    await first.acquire()
    try:
        with pytest.raises(AlreadyRunning) as refused:
            await NodeLock(db_url, "node-a", data_dir=tmp_path / "b").acquire()
        assert first.holder in str(refused.value)
        assert "\n" not in str(refused.value)
        other = NodeLock(db_url, "node-b")
        await other.acquire()  # another node is another lock
        await other.release()
    finally:
        await first.release()
    again = NodeLock(db_url, "node-a")
    await again.acquire()  # released with its session
    await again.release()


async def test_the_lock_is_taken_again_after_its_connection_is_killed(
    db_url: str, pool: asyncpg.Pool
) -> None:
    lost: list[str] = []
    lock = NodeLock(db_url, "node-a", on_lost=lost.append, keepalive=0.5)
    await lock.acquire()
    try:
        before = await _holder_pid(pool, "node-a")
        assert before is not None
        assert await pool.fetchval("SELECT pg_terminate_backend($1)", before)
        deadline = time.monotonic() + 10
        while lock.reacquired < 1:
            assert time.monotonic() < deadline, "the node lock was not taken again"
            await asyncio.sleep(0.02)
        after = await _holder_pid(pool, "node-a")
        assert after is not None
        assert after != before
        with pytest.raises(AlreadyRunning):
            await NodeLock(db_url, "node-a").acquire()
        assert lost == []
    finally:
        await lock.release()


async def test_the_refusal_names_the_holder_in_this_database(
    db_url: str, test_databases: TestDatabases, tmp_path: Path
) -> None:
    """Servers of other databases on the same cluster hold the same node's lock in theirs (the lock
    is per database); the refusal names the one in this database, not one of theirs."""
    others = [NodeLock(await test_databases.create(), "node-a", data_dir=Path(f"/o{i}")) for i in range(4)]
    mine = NodeLock(db_url, "node-a", data_dir=Path("/mine"))
    try:
        for lock in others:
            await lock.acquire()
        await mine.acquire()  # the others do not stand in its way...
        with pytest.raises(AlreadyRunning) as refused:
            await NodeLock(db_url, "node-a", data_dir=tmp_path / "second").acquire()
        assert mine.holder in str(refused.value)  # ...nor in the name given
    finally:
        for lock in [*others, mine]:
            await lock.release()
