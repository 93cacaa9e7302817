"""SIGKILL the worker process in the middle of a cross-filesystem copy; the restarted worker finishes."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import asyncpg

from revaer.fsops.executor import CHUNK
from tests.fsops.conftest import TwoFilesystems, add_torrent_row, leftovers, make_payload, snapshot
from tests.support.torrents import make_torrent

ROOT = Path(__file__).resolve().parents[2]


async def _child(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fsops.worker_child",
        *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


async def test_sigkill_mid_copy_then_restart(
    pool: asyncpg.Pool, db_url: str, two_filesystems: TwoFilesystems, tmp_path: Path
) -> None:
    downloads = two_filesystems.a / "downloads"
    library = tmp_path / "library"
    payload = make_payload(downloads, "Big Show S02", multi=True, size=6 * CHUNK)
    before = snapshot(payload)
    t = make_torrent(payload)
    (tmp_path / "t.torrent").write_bytes(t.data)
    await add_torrent_row(pool, t.info_hash, name=t.name, save_path=str(downloads), category="tv")
    args = [db_url, str(tmp_path / "t.torrent"), str(downloads), str(library)]

    first = await _child(*args, "0.5")
    assert first.stdout is not None
    line = await asyncio.wait_for(first.stdout.readline(), 30)
    assert line.strip() == b"copying"
    first.send_signal(signal.SIGKILL)
    assert await first.wait() == -signal.SIGKILL

    job = await pool.fetchrow("SELECT status::text AS st, attempts FROM revaer_runtime.fs_jobs")
    assert job is not None
    assert job["st"] == "moving"  # killed mid-move
    assert snapshot(payload) == before  # the source was never touched
    assert leftovers(library)  # a half-written staging tree

    second = await _child(*args, "0")
    out, _ = await asyncio.wait_for(second.communicate(), 60)
    assert second.returncode == 0, out
    job = await pool.fetchrow("SELECT status::text AS st, attempts FROM revaer_runtime.fs_jobs")
    assert job is not None
    assert job["st"] == "moved"
    assert await pool.fetchval("SELECT count(*) FROM revaer_runtime.fs_jobs") == 1
    dest = library / "tv" / "Big Show S02"
    assert snapshot(dest) == before  # nothing lost
    assert not payload.exists()  # nothing duplicated
    assert leftovers(downloads, library) == []
    saved = await pool.fetchval("SELECT save_path FROM revaer_runtime.torrents")
    assert saved == str(library / "tv")
