"""Fixtures for post-processing: two directories on different filesystems, payloads, a worker."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from revaer.engine.fake import FakeEngine, ManualClock
from revaer.engine.pump import EnginePump, PumpIntervals
from revaer.events import EventBus
from tests.support.torrents import write_random_file

# Where a second filesystem usually is: tmpfs on /dev/shm (or /run), the disk under /tmp or /var/tmp.
_CANDIDATES = ("/dev/shm", "/run/user", "/tmp", "/var/tmp", os.getcwd())


@dataclass(frozen=True)
class TwoFilesystems:
    a: Path
    b: Path


@pytest.fixture
def two_filesystems(tmp_path: Path) -> Iterator[TwoFilesystems]:
    """A fresh directory on each of two filesystems (different ``st_dev``); fails without them."""
    base = tmp_path.stat().st_dev
    other = None
    for c in _CANDIDATES:
        p = Path(c)
        if p.is_dir() and os.access(p, os.W_OK) and p.stat().st_dev != base:
            other = p
            break
    if other is None:
        pytest.fail(
            f"cross-filesystem tests need two filesystems: none of {_CANDIDATES} has a st_dev "
            f"different from {tmp_path} ({base}); mount a tmpfs (e.g. /dev/shm) to run them"
        )
    d = Path(tempfile.mkdtemp(prefix="revaer-fsops-", dir=other))
    try:
        yield TwoFilesystems(d, tmp_path)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def make_payload(root: Path, name: str, *, multi: bool, size: int = 300_000) -> Path:
    """A single file, or a folder with files in subfolders, named ``name`` under ``root``."""
    p = root / name
    if multi:
        write_random_file(p / "a file.bin", size)
        write_random_file(p / "sub dir" / "é ü 😀.bin", size // 3)
        write_random_file(p / "sub dir" / "empty", 0)
    else:
        write_random_file(p, size)
    return p


def snapshot(root: Path) -> dict[str, bytes]:
    """Relative path → content of every file under ``root`` (or the file itself)."""
    if root.is_file():
        return {".": root.read_bytes()}
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def leftovers(*dirs: Path) -> list[Path]:
    """Staging or half-removed trees under ``dirs``."""
    out: list[Path] = []
    for d in dirs:
        if d.exists():
            out += [p for p in d.rglob(".revaer-*")]
    return out


@pytest.fixture
async def fake_engine() -> AsyncIterator[tuple[FakeEngine, EventBus, EnginePump]]:
    # No simulated progress and no timer: a completion reaches the worker only when a test sends it,
    # so a test's own enqueue never races the pump's; the engine's events still arrive through its fd.
    engine = FakeEngine(rate=0, clock=ManualClock())
    bus = EventBus()
    pump = EnginePump(engine, bus, intervals=PumpIntervals(update=None))
    await pump.start()
    try:
        yield engine, bus, pump
    finally:
        await pump.stop(1.0)


async def add_torrent_row(
    pool: asyncpg.Pool, h: str, *, name: str, save_path: str, category: str, owner: str = "node-a"
) -> None:
    await pool.execute(
        "INSERT INTO revaer_runtime.categories (name) VALUES ($1) ON CONFLICT DO NOTHING", category
    )
    await pool.execute(
        """INSERT INTO revaer_runtime.torrents (info_hash, name, save_path, category, owner)
           VALUES ($1, $2, $3, $4, $5)""",
        h,
        name,
        save_path,
        category,
        owner,
    )
