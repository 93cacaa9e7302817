"""One server per data dir and per node, with real processes.

A first ``python -m revaer serve`` runs; a second one is started beside it on another port,
(1) on the same data dir: the data dir's file lock refuses it, (2) on another data dir but the same
database and node name: the node's advisory lock refuses it. Either way the second exits non-zero
within a bounded time, with one line naming the first (its pid), and no traceback; the first still
answers. (3) The node lock's session is ended while another session waits for the lock, which then
holds the node: the server cannot take its lock again and stops, exit 1, naming the new holder.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from revaer.db.lock import NODE_LOCK_CLASS, node_key
from tests.e2e.server import REPO, ServerProcess, free_port

# A liveness bound, not a measured figure: today's code never exits here (it runs a second engine).
EXIT_WITHIN = 30.0


@pytest.fixture
async def first(workdir: Path, db_url: str) -> AsyncIterator[ServerProcess]:
    s = ServerProcess(workdir / "first", db_url)
    await s.start()
    try:
        yield s
    finally:
        s.kill()


def _second(data_dir: Path, db_url: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable,
        "-m",
        "revaer",
        "serve",
        "--data-dir",
        str(data_dir),
        "--bind",
        f"127.0.0.1:{free_port()}",
        "--database-url",
        db_url,
    ]
    started = time.monotonic()
    try:
        done = subprocess.run(
            cmd, cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=EXIT_WITHIN
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"a second server was still running after {EXIT_WITHIN} s beside the first"
        ) from exc
    print(f"\nsecond server refused: exit {done.returncode} after {time.monotonic() - started:.2f} s")
    return done


def _assert_refused(done: subprocess.CompletedProcess[str], first: ServerProcess, what: str) -> None:
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    assert "Traceback" not in out, out
    refusals = [line for line in done.stderr.splitlines() if line.startswith("revaer:")]
    assert len(refusals) == 1, out
    assert first.proc is not None
    assert f"pid={first.proc.pid}" in refusals[0] or f"pid {first.proc.pid}" in refusals[0], refusals[0]
    assert what in refusals[0], refusals[0]


async def _still_serves(first: ServerProcess) -> None:
    assert first.proc is not None
    assert first.proc.poll() is None, first.log_tail()
    async with aiohttp.ClientSession() as http, http.get(f"{first.url}/v1/health") as r:
        assert r.status == 200, await r.text()


async def test_second_server_on_the_same_data_dir_is_refused(first: ServerProcess, db_url: str) -> None:
    done = _second(first.data_dir, db_url)
    _assert_refused(done, first, str(first.data_dir))
    await _still_serves(first)


async def test_second_server_for_the_same_node_is_refused(
    first: ServerProcess, db_url: str, workdir: Path
) -> None:
    done = _second(workdir / "second", db_url)
    _assert_refused(done, first, "node")
    await _still_serves(first)


async def test_a_node_lock_taken_over_while_its_connection_was_down_stops_the_server(
    first: ServerProcess, db_url: str
) -> None:
    node = socket.gethostname()
    conn = await asyncpg.connect(db_url, server_settings={"application_name": "the usurper"})
    try:
        holder = await conn.fetchval(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = $2"
            " AND objsubid = 2 AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            NODE_LOCK_CLASS,
            node_key(node),
        )
        assert holder is not None
        # In one statement: end the server's lock session, and queue for the lock before the server
        # can even see its connection close (the lock goes to the waiter when that session ends).
        await conn.execute(
            "SELECT pg_advisory_lock($2, $3) FROM (SELECT pg_terminate_backend($1)) AS ended",
            holder,
            NODE_LOCK_CLASS,
            node_key(node),
        )
        assert first.proc is not None
        deadline = time.monotonic() + EXIT_WITHIN
        while first.proc.poll() is None:
            assert time.monotonic() < deadline, "the server kept running without its node lock"
            await asyncio.sleep(0.05)
        assert first.proc.returncode != 0
        last = first.log_tail(1)
        assert last.startswith("revaer:"), first.log_tail()
        assert "the usurper" in last, last
    finally:
        await conn.close()
